// Fleet: every host (state, vGPU manager, heartbeat age, fans) and its GPUs drawn as slots.
import type { PageProps } from '../app';
import { api } from '../api';
import { GpuCard, SlotLegend, slotsOf, type GpuBarModel } from '../components/gpubar';
import { Empty, ErrorBox, Loading, Notice, PageHeader, StateBadge } from '../components/ui';
import { currentPlan, fallbackPlanHost, listTypes, listVms, loadTelemetry, readingOf, typeSizes } from '../fleetdata';
import { age, ageSeconds, mib, num, plural } from '../format';
import { usePoll, useNow } from '../hooks';
import type { DemandPlan, Host, HostTelemetry, Page, PlanHost, Vm } from '../types';

const CHANGES = ['vm.', 'host.', 'operation.', 'agent.', 'instance', 'gpu.'];

export function FleetPage(_: PageProps) {
  const now = useNow(1000);
  const fleet = usePoll(
    async (signal) => {
      const [hosts, vms, plan] = await Promise.all([
        api.get<Page<Host>>('/hosts', { signal }).then((r) => r.items ?? []),
        listVms(signal),
        currentPlan(signal),
      ]);
      return { hosts, vms, plan };
    },
    4000,
    [],
    { on: CHANGES },
  );
  const types = usePoll((signal) => listTypes(signal), 60000, [], { on: ['vm.'] });
  const hostNames = (fleet.data?.hosts ?? []).map((h) => h.name).join(',');
  const telemetry = usePoll(
    (signal) => loadTelemetry(hostNames ? hostNames.split(',') : [], signal),
    5000,
    [hostNames],
    { enabled: hostNames !== '' },
  );

  return (
    <>
      <PageHeader title="Fleet" subtitle="Hosts and their physical GPUs, drawn as vGPU slots" />
      <ErrorBox error={fleet.error} />
      {!fleet.data ? (
        fleet.error ? null : <Loading what="the fleet" />
      ) : (
        <FleetView
          hosts={fleet.data.hosts}
          vms={fleet.data.vms}
          plan={fleet.data.plan}
          typeFramebuffer={typeSizes(types.data ?? null)}
          telemetry={telemetry.data ?? new Map()}
          now={now}
        />
      )}
    </>
  );
}

function FleetView(props: {
  hosts: Host[];
  vms: Vm[];
  plan: DemandPlan | null;
  typeFramebuffer: Map<string, number>;
  telemetry: Map<string, HostTelemetry>;
  now: number;
}) {
  const { hosts, vms, plan } = props;
  if (hosts.length === 0) {
    return <Empty>No hosts yet. Hosts appear here once their agent enrols and reports its GPUs (docs/agents.md).</Empty>;
  }
  const pending = new Set(vms.filter((vm) => (vm.vgpus ?? []).some((v) => !v.observed)).map((vm) => vm.name));
  const planHosts = new Map<string, PlanHost>((plan?.hosts ?? []).map((h) => [h.name, h]));
  const models = new Map<string, GpuBarModel[]>();
  for (const host of hosts) {
    const ph = planHosts.get(host.name) ?? fallbackPlanHost(host, vms);
    models.set(
      host.name,
      ph.gpus.map((gpu) => ({
        host: host.name,
        gpu,
        stranded: plan?.stranded?.find((s) => s.host === host.name && s.gpu === gpu.id),
        reading: readingOf(props.telemetry.get(host.name), gpu.id),
        typeFramebuffer: props.typeFramebuffer,
        pending,
        capacityKnown: plan !== null && planHosts.has(host.name),
      })),
    );
  }
  const all = [...models.values()].flat();
  const slots = all.flatMap(slotsOf);
  const used = slots.filter((s) => s.kind === 'used' || s.kind === 'pending').length;
  const freeMib = all.reduce((a, m) => a + Math.max(0, (m.gpu.framebuffer_mib ?? 0) - (m.gpu.framebuffer_used_mib ?? 0)), 0);
  const strandedMib = (plan?.stranded ?? []).reduce((a, s) => a + (s.stranded_mib ?? 0), 0);
  const byState = (state: string) => hosts.filter((h) => h.state === state).length;

  return (
    <>
      <div class="tiles" role="list" aria-label="Fleet summary">
        <Tile label="Hosts" value={String(hosts.length)}
          detail={`${byState('ready')} ready · ${byState('maintenance')} maintenance · ${byState('down')} down`}
          tone={byState('down') > 0 ? 'bad' : undefined} />
        <Tile label="GPUs" value={String(all.length)} detail={[...new Set(all.map((m) => m.gpu.board))].join(', ')} />
        <Tile label="vGPUs" value={String(used)} detail={plan ? `${mib(freeMib)} framebuffer free` : 'capacity unknown'} />
        <Tile label="Stranded" value={plan ? mib(strandedMib) : '–'}
          detail="free framebuffer only the carved type can use" tone={strandedMib > 0 ? 'warn' : undefined} />
        <Tile label="VMs" value={String(vms.length)} detail={pending.size ? `${pending.size} being created` : 'all observed'} />
      </div>
      {plan === null && (
        <Notice kind="warn">
          This controller has no planner route (POST /api/v1/plans/demand): slots show the VMs placed, not the free capacity.
        </Notice>
      )}
      {plan?.free_by_type && Object.keys(plan.free_by_type).length > 0 && (
        <p class="free-types">
          <span class="muted">More VMs that fit without re-carving: </span>
          {Object.entries(plan.free_by_type).map(([type, n]) => (
            <span key={type} class={`chip${n === 0 ? ' chip-zero' : ''}`}>{type} <strong>{n}</strong></span>
          ))}
        </p>
      )}
      <SlotLegend />
      <div class="hosts">
        {hosts.map((host) => (
          <HostCard key={host.name} host={host} gpus={models.get(host.name) ?? []}
            telemetry={props.telemetry.get(host.name)} now={props.now} />
        ))}
      </div>
    </>
  );
}

function Tile(props: { label: string; value: string; detail?: string; tone?: 'warn' | 'bad' }) {
  return (
    <div class={`tile${props.tone ? ` tile-${props.tone}` : ''}`} role="listitem">
      <span class="tile-label">{props.label}</span>
      <span class="tile-value">{props.value}</span>
      {props.detail && <span class="tile-detail muted">{props.detail}</span>}
    </div>
  );
}

function HostCard(props: { host: Host; gpus: GpuBarModel[]; telemetry?: HostTelemetry; now: number }) {
  const { host } = props;
  const heartbeat = ageSeconds(host.last_heartbeat, props.now);
  const stale = heartbeat === null || heartbeat > 30;
  const bmc = props.telemetry?.bmc;
  const inlet = bmc?.temperatures?.find((t) => /inlet/i.test(t.name));
  return (
    <article class={`host host-${host.state}`} aria-labelledby={`host-${host.name}`} data-host={host.name}>
      <header class="host-head">
        <h2 id={`host-${host.name}`}>
          <a href={`#/telemetry?host=${encodeURIComponent(host.name)}`} title="Telemetry of this host">{host.name}</a>
        </h2>
        <StateBadge state={host.state} />
      </header>
      <dl class="host-facts">
        <div><dt>vGPU manager</dt><dd>{host.manager_version || '–'}</dd></div>
        <div><dt>Hypervisor</dt><dd>{host.hypervisor || '–'}{host.hotmigrate ? ' · live migration' : ''}</dd></div>
        <div>
          <dt>Heartbeat</dt>
          <dd class={stale && host.state !== 'down' ? 'text-warn' : undefined}>{age(host.last_heartbeat, props.now)}</dd>
        </div>
        <div>
          <dt>Fans</dt>
          <dd>
            {bmc ? (bmc.automatic ? 'BMC automatic' : `manual ${num(bmc.duty_pct, 0, ' %')}`) : 'no BMC reading'}
            {inlet ? ` · inlet ${num(inlet.celsius, 0)} °C` : ''}
          </dd>
        </div>
      </dl>
      {props.gpus.length === 0 ? (
        <Empty>No GPUs reported.</Empty>
      ) : (
        <div class="gpus" aria-label={`${plural(props.gpus.length, 'GPU')} of ${host.name}`}>
          {props.gpus.map((m) => <GpuCard key={m.gpu.id} model={m} />)}
        </div>
      )}
    </article>
  );
}
