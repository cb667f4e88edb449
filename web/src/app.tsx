// The shell: login gate, header with navigation, the page of the current hash route.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getToken, onUnauthorized, setToken } from './api';
import { startStream, stopStream, streamSnapshot, subscribeStream } from './events';
import { useRoute } from './hooks';
import { whoami } from './session';
import type { Whoami } from './types';
import { Loading } from './components/ui';
import { LoginPage } from './pages/login';
import { FleetPage } from './pages/fleet';
import { VmsPage } from './pages/vms';
import { MaintenancePage } from './pages/maintenance';
import { PlannerPage } from './pages/planner';
import { LicensesPage } from './pages/licenses';
import { TelemetryPage } from './pages/telemetry';
import { EventsPage } from './pages/events';

export interface PageProps {
  me: Whoami;
  params: URLSearchParams;
}

const PAGES: { path: string; title: string; page: (p: PageProps) => ComponentChildren }[] = [
  { path: '/fleet', title: 'Fleet', page: (p) => <FleetPage {...p} /> },
  { path: '/vms', title: 'VMs', page: (p) => <VmsPage {...p} /> },
  { path: '/maintenance', title: 'Maintenance & HA', page: (p) => <MaintenancePage {...p} /> },
  { path: '/planner', title: 'Planner', page: (p) => <PlannerPage {...p} /> },
  { path: '/licenses', title: 'Licenses', page: (p) => <LicensesPage {...p} /> },
  { path: '/telemetry', title: 'Telemetry', page: (p) => <TelemetryPage {...p} /> },
  { path: '/events', title: 'Events', page: (p) => <EventsPage {...p} /> },
];

export function App() {
  const [me, setMe] = useState<Whoami | null>(null);
  const [checking, setChecking] = useState<boolean>(getToken() !== null);
  const [startupError, setStartupError] = useState<unknown>();
  const route = useRoute();

  useEffect(() => onUnauthorized(() => {
    stopStream();
    setMe(null);
  }), []);

  useEffect(() => {
    const token = getToken();
    if (!token) return;
    whoami(token)
      .then((who) => setMe(who))
      .catch((e) => {
        setStartupError(e);
        // A rejected token is forgotten; after any other failure a reload tries it again.
        if (e instanceof ApiError && e.status === 401) setToken(null);
      })
      .finally(() => setChecking(false));
  }, []);

  useEffect(() => {
    if (me) startStream();
  }, [me]);

  const title = me ? (PAGES.find((p) => p.path === route.path) ?? PAGES[0]).title : 'Sign in';
  useEffect(() => {
    document.title = `${title} · gpufleet`;
  }, [title]);

  if (checking) return <Loading what="session" />;
  if (!me) {
    return (
      <LoginPage
        error={startupError}
        onLogin={(token, who) => {
          setToken(token);
          setStartupError(undefined);
          setMe(who);
        }}
      />
    );
  }
  const current = PAGES.find((p) => p.path === route.path) ?? PAGES[0];
  return (
    <div class="shell">
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="#/fleet" aria-label="gpufleet home">
          <span class="brand-mark" aria-hidden="true" />
          gpufleet
        </a>
        <nav aria-label="Pages" class="nav">
          {PAGES.map((p) => (
            <a key={p.path} href={`#${p.path}`} aria-current={p === current ? 'page' : undefined}>
              {p.title}
            </a>
          ))}
        </nav>
        <div class="who">
          <StreamIndicator />
          <span class="who-name" title={`signed in as ${me.name}`}>{me.name}</span>
          <span class={`badge role-${me.role}`} data-role={me.role}>{me.role}</span>
          <button
            type="button"
            class="btn btn-ghost"
            onClick={() => {
              stopStream();
              setToken(null);
              setMe(null);
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {current.page({ me, params: route.params })}
      </main>
    </div>
  );
}

function StreamIndicator() {
  const [snap, setSnap] = useState(streamSnapshot());
  useEffect(() => subscribeStream(() => setSnap(streamSnapshot())), []);
  const label = snap.state === 'live' ? 'live' : snap.state === 'reconnecting' ? 'reconnecting' : 'connecting';
  return (
    <span class={`stream stream-${snap.state}`} role="status" title={snap.error || `event stream ${label}`}>
      <span class="stream-dot" aria-hidden="true" />
      <span class="stream-label">{label}</span>
    </span>
  );
}
