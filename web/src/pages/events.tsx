// Events: the live stream (newest first) with filters by kind, object and text; pause to read.
import { useEffect, useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { streamSnapshot, subscribeStream } from '../events';
import { Empty, Field, PageHeader, Section } from '../components/ui';
import { dateTime } from '../format';
import type { FleetEvent } from '../types';

function tone(kind: string): string {
  if (/down|fail|lost|expired|unlicensed|error|stuck|twice/.test(kind)) return 'bad';
  if (/expiring|maintenance|cancel|warn|hot/.test(kind)) return 'warn';
  if (/created|placed|ready|succeeded|enrolled|up$/.test(kind)) return 'ok';
  return 'muted';
}

export function EventsPage(props: PageProps) {
  const [snap, setSnap] = useState(streamSnapshot());
  const [paused, setPaused] = useState<FleetEvent[] | null>(null);
  const [kind, setKind] = useState(props.params.get('kind') ?? '');
  const [object, setObject] = useState(props.params.get('object') ?? '');
  const [text, setText] = useState('');
  useEffect(() => subscribeStream(() => setSnap(streamSnapshot())), []);
  // A link to #/events?object=... on this page changes the filter.
  const linkedObject = props.params.get('object');
  const linkedKind = props.params.get('kind');
  useEffect(() => {
    if (linkedObject !== null) setObject(linkedObject);
    if (linkedKind !== null) setKind(linkedKind);
  }, [linkedObject, linkedKind]);

  const source = paused ?? snap.events;
  const kinds = [...new Set(snap.events.map((e) => e.kind.split('.')[0]))].sort();
  const o = object.trim().toLowerCase();
  const t = text.trim().toLowerCase();
  const shown = source
    .filter(
      (e) =>
        (!kind || e.kind === kind || e.kind.startsWith(kind + '.')) &&
        (!o || (e.object ?? '').toLowerCase().includes(o)) &&
        (!t || `${e.message ?? ''} ${e.actor ?? ''} ${e.kind}`.toLowerCase().includes(t)),
    )
    .slice()
    .reverse();

  return (
    <>
      <PageHeader title="Events" subtitle="The controller's audit log, live">
        <button type="button" class="btn" aria-pressed={paused !== null}
          onClick={() => setPaused(paused ? null : snap.events)}>
          {paused ? 'Resume' : 'Pause'}
        </button>
      </PageHeader>
      <Section title={paused ? 'Paused' : snap.state === 'live' ? 'Live' : `Stream ${snap.state}`} id="events">
        {snap.state === 'reconnecting' && (
          <p class="text-warn small" role="status">Connection lost ({snap.error}); reconnecting, nothing will be missed.</p>
        )}
        <div class="filters" role="search" aria-label="Filter events">
          <Field label="Kind" id="ev-kind">
            <select id="ev-kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
              <option value="">all</option>
              {kinds.map((k) => <option key={k} value={k}>{k}.*</option>)}
            </select>
          </Field>
          <Field label="Object" id="ev-object">
            <input id="ev-object" type="search" placeholder="vm/web-1, host/r730-1…" value={object}
              onInput={(e) => setObject((e.target as HTMLInputElement).value)} />
          </Field>
          <Field label="Text" id="ev-text">
            <input id="ev-text" type="search" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
          </Field>
        </div>
        {shown.length === 0 ? (
          <Empty>{source.length === 0 ? 'No events yet.' : 'No event matches these filters.'}</Empty>
        ) : (
          <ol class="events" aria-label="Events, newest first">
            {shown.slice(0, 300).map((e) => (
              <li key={e.seq} class="event" data-kind={e.kind}>
                <time dateTime={e.time} class="muted small">{dateTime(e.time)}</time>
                <span class={`badge badge-${tone(e.kind)}`}>{e.kind}</span>
                <a class="event-object" href={`#/events?object=${encodeURIComponent(e.object ?? '')}`}>{e.object}</a>
                <span class="event-msg">{e.message}</span>
                {e.actor && <span class="muted small">by {e.actor}</span>}
              </li>
            ))}
          </ol>
        )}
        <p class="muted small">Showing up to 300 of the last {source.length} events held by this page.</p>
      </Section>
    </>
  );
}
