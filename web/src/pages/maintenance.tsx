// Maintenance and HA: evacuate a host (dry run of every move with its predicted stun time, then
// the durable operation with live progress), bring it back, recent operations, and the N+1 view.
import { useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { api, enc } from '../api';
import { OperationWatch, TERMINAL } from '../components/operation';
import { ConfirmButton, Empty, ErrorBox, Loadable, Notice, PageHeader, Progress, Section, StateBadge } from '../components/ui';
import { dateTime, describe, num, plural } from '../format';
import { useAction, usePoll } from '../hooks';
import { atLeast } from '../session';
import type { DryRun, EvacuationPlan, HaPlan, Host, Move, Operation, Page } from '../types';

export function MaintenancePage(props: PageProps) {
  const canAct = atLeast(props.me.role, 'operator');
  const hosts = usePoll((signal) => api.get<Page<Host>>('/hosts', { signal }), 4000, [], { on: ['host.', 'operation.'] });
  const [selected, setSelected] = useState<string | null>(props.params.get('host'));
  const [opError, setOpError] = useState<unknown>();
  const [watching, setWatching] = useState<string | undefined>();

  const exitMaintenance = async (host: string) => {
    setOpError(undefined);
    try {
      const op = await api.post<Operation>('/operations', { kind: 'exit-maintenance', host });
      setWatching(op.id);
    } catch (e) {
      setOpError(e);
    }
  };

  return (
    <>
      <PageHeader title="Maintenance & HA" subtitle="Empty a host for maintenance; check that a host failure strands no VM" />
      <Section title="Hosts" id="maint-hosts">
        <ErrorBox error={opError} />
        <Loadable data={hosts.data} error={hosts.error} what="hosts">
          {(page) =>
            page.items.length === 0 ? <Empty>No hosts.</Empty> : (
              <div class="table-wrap">
                <table class="table">
                  <thead>
                    <tr><th scope="col">Host</th><th scope="col">State</th><th scope="col">GPUs</th><th scope="col"><span class="sr-only">Actions</span></th></tr>
                  </thead>
                  <tbody>
                    {page.items.map((h) => (
                      <tr key={h.name} data-host={h.name}>
                        <th scope="row">{h.name}</th>
                        <td><StateBadge state={h.state} /></td>
                        <td>{h.gpus.map((g) => g.board).join(', ') || '–'}</td>
                        <td class="actions-cell"><div class="row-actions">
                          {h.state === 'ready' && (
                            <button type="button" class="btn" aria-label={`Preview evacuation of ${h.name}`}
                              aria-pressed={selected === h.name} onClick={() => { setSelected(h.name); setWatching(undefined); }}>
                              Preview evacuation
                            </button>
                          )}
                          {h.state === 'maintenance' && canAct && (
                            <ConfirmButton label="Exit maintenance" confirmLabel={`Return ${h.name} to service`}
                              ariaLabel={`Exit maintenance on ${h.name}`} onConfirm={() => exitMaintenance(h.name)} />
                          )}
                        </div></td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </Loadable>
        {watching && <OperationWatch id={watching} onDone={() => hosts.refresh()} />}
      </Section>
      {selected && (
        <Evacuation key={selected} host={selected} canAct={canAct}
          onClose={() => setSelected(null)} onDone={() => hosts.refresh()} />
      )}
      <Operations canAct={canAct} />
      <HaView />
    </>
  );
}

function moveTarget(m: Move): { host: string; detail: string } {
  if (typeof m.to === 'string') return { host: m.to, detail: '' };
  const gpus = m.to?.gpus?.join(', ') ?? '';
  const types = m.to?.types?.join(', ') ?? '';
  return { host: m.to?.host ?? '–', detail: [types, gpus && `GPU ${gpus}`].filter(Boolean).join(' on ') };
}

function Evacuation(props: { host: string; canAct: boolean; onClose: () => void; onDone: () => void }) {
  const [op, setOp] = useState<string | undefined>();
  const action = useAction();
  // Operators see the operation's own dry run (can it run now, and its steps); viewers the plan.
  // Once the operation starts, its progress replaces the preview.
  const preview = usePoll(
    async (signal): Promise<DryRun> => {
      if (props.canAct) {
        return api.post<DryRun>('/operations', { kind: 'evacuate', host: props.host, dry_run: true }, { signal });
      }
      const plan = await api.post<EvacuationPlan>('/plans/evacuate', { host: props.host }, { signal });
      return { kind: 'evacuate', dry_run: true, can_run: (plan.stuck ?? []).length === 0, plan };
    },
    15000,
    [props.host, props.canAct],
    { enabled: op === undefined },
  );

  const execute = () =>
    action.run(async () => {
      const started = await api.post<Operation>('/operations', { kind: 'evacuate', host: props.host });
      setOp(started.id);
    });

  return (
    <Section title={`Evacuate ${props.host}`} id="evacuation" reveal
      actions={<button type="button" class="btn btn-ghost" onClick={props.onClose} aria-label="Close evacuation">Close</button>}>
      {op ? (
        <OperationWatch id={op} onDone={props.onDone} />
      ) : (
        <Loadable data={preview.data} error={preview.error} what="the dry run">
          {(dry) => {
            const moves = dry.plan?.moves ?? [];
            const stuck = dry.plan?.stuck ?? [];
            const stun = moves.reduce((a, m) => a + (m.stun_seconds ?? 0), 0);
            return (
              <div data-testid="evacuation-preview">
                <p>
                  Dry run: {plural(moves.length, 'move')}, {stuck.length ? plural(stuck.length, 'VM') + ' cannot move' : 'every VM can move'}
                  {moves.length > 0 && `, total predicted stun ${num(stun, 1)} s`}. Nothing has changed yet.
                </p>
                {!dry.can_run && <Notice kind="warn">Cannot run now{dry.blocked ? `: ${dry.blocked}` : ''}.</Notice>}
                {moves.length === 0 && stuck.length === 0 && <Empty>No VM on {props.host}: it can enter maintenance at once.</Empty>}
                {moves.length > 0 && (
                  <div class="table-wrap">
                    <table class="table" aria-label="Planned moves">
                      <thead>
                        <tr><th scope="col">VM</th><th scope="col">To</th><th scope="col">vGPU</th><th scope="col" class="num">Predicted stun</th></tr>
                      </thead>
                      <tbody>
                        {moves.map((m) => {
                          const t = moveTarget(m);
                          return (
                            <tr key={m.vm}>
                              <th scope="row">{m.vm}</th>
                              <td>{t.host}</td>
                              <td class="muted">{t.detail}</td>
                              <td class="num">{typeof m.stun_seconds === 'number' ? `${num(m.stun_seconds, 1)} s` : '–'}</td>
                            </tr>
                          );
                        })}
                      </tbody>
                    </table>
                  </div>
                )}
                {stuck.length > 0 && (
                  <div class="alert alert-error" role="alert">
                    <strong>Cannot move:</strong>
                    <ul class="reasons">{stuck.map((s, i) => <li key={i}>{describe(s)}</li>)}</ul>
                  </div>
                )}
                <ErrorBox error={action.error} />
                {props.canAct && (
                  <div class="form-actions">
                    <ConfirmButton primary label={`Evacuate ${props.host}`} confirmLabel={`Start: ${plural(moves.length, 'move')}, then maintenance`}
                      disabled={action.busy || !dry.can_run} onConfirm={execute} />
                  </div>
                )}
              </div>
            );
          }}
        </Loadable>
      )}
    </Section>
  );
}

function Operations(props: { canAct: boolean }) {
  const ops = usePoll((signal) => api.get<Page<Operation>>('/operations?limit=15', { signal }), 3000, [], { on: ['operation.'] });
  const [error, setError] = useState<unknown>();
  const cancel = async (op: Operation) => {
    setError(undefined);
    try {
      await api.post(`/operations/${enc(op.id)}/cancel`, {});
      ops.refresh();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Section title="Recent operations" id="operations">
      <ErrorBox error={error} />
      <Loadable data={ops.data} error={ops.error} what="operations">
        {(page) =>
          page.items.length === 0 ? <Empty>No operations yet.</Empty> : (
            <ul class="ops">
              {page.items.map((op) => (
                <li key={op.id} class="op-row">
                  <StateBadge state={op.state} />
                  <span class="op-kind">{op.kind}</span>
                  <span>{op.target}</span>
                  <span class="op-progress">
                    <Progress done={op.progress?.done ?? 0} total={op.progress?.total || 1} label={`${op.kind} ${op.target ?? ''}`} />
                    <span class="muted small">{op.progress ? `${op.progress.done}/${op.progress.total}` : ''}</span>
                  </span>
                  <span class="muted small">{op.actor} · {dateTime(op.created_at)}</span>
                  {op.error && <span class="text-bad small">{op.error}</span>}
                  {props.canAct && !TERMINAL.has(op.state) && !op.cancel_requested && (
                    <ConfirmButton label="Cancel" confirmLabel="Cancel operation" danger
                      ariaLabel={`Cancel ${op.kind} ${op.target ?? ''}`} onConfirm={() => cancel(op)} />
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </Loadable>
    </Section>
  );
}

function HaView() {
  const ha = usePoll((signal) => api.post<HaPlan>('/plans/ha', {}, { signal }), 15000, [], { on: ['vm.', 'host.'] });
  return (
    <Section title="High availability (N+1)" id="ha" actions={
      <button type="button" class="btn btn-ghost" onClick={ha.refresh}>Check again</button>}>
      <Loadable data={ha.data} error={ha.error} what="the N+1 check">
        {(plan) => (
          <>
            {plan.n_plus_one ? (
              <Notice kind="ok">N+1: if any one host fails, all its VMs restart elsewhere.</Notice>
            ) : (
              <div class="alert alert-error" role="alert">Not N+1: a host failure would strand VMs (below).</div>
            )}
            {plan.failures.length === 0 ? <Empty>No host runs VMs.</Empty> : (
              <div class="table-wrap">
                <table class="table" aria-label="If this host fails">
                  <thead>
                    <tr><th scope="col">If this host fails</th><th scope="col" class="num">VMs</th><th scope="col">Stranded VMs</th><th scope="col">Missing capacity</th></tr>
                  </thead>
                  <tbody>
                    {plan.failures.map((f) => {
                      const missing = Object.entries(f.missing_by_type ?? f.missing ?? {});
                      return (
                        <tr key={f.host} class={f.cannot_restart.length ? 'row-bad' : undefined}>
                          <th scope="row">{f.host}</th>
                          <td class="num">{f.vms}</td>
                          <td>
                            {f.cannot_restart.length ? (
                              <ul class="reasons">{f.cannot_restart.map((c, i) => <li key={i}>{describe(c)}</li>)}</ul>
                            ) : <span class="text-ok">none: all restart</span>}
                          </td>
                          <td>{missing.length ? missing.map(([t, n]) => `${n} × ${t}`).join(', ') : '–'}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            )}
            {plan.reserve.length > 0 && (
              <p class="muted">Spare capacity N+1 still lacks: {plan.reserve.map(reserveText).join('; ')}</p>
            )}
          </>
        )}
      </Loadable>
    </Section>
  );
}

// A reserve entry: {type, instances, hosts, note?} - the spare N+1 needs and the hosts to keep it on.
function reserveText(r: unknown): string {
  const o = (r ?? {}) as { type?: string; instances?: number; hosts?: string[]; note?: string };
  if (typeof o.type === 'string' && typeof o.instances === 'number') {
    const where = Array.isArray(o.hosts) && o.hosts.length ? ` (keep it on ${o.hosts.join(', ')})` : '';
    return `${o.instances} × ${o.type}${where}${o.note ? `: ${o.note}` : ''}`;
  }
  return describe(r);
}
