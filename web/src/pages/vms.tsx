// VMs: the list with filters; create (type picker filtered by what fits now, the planner's
// placement preview and explanation), migrate (destinations with verdicts), delete.
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { api, enc, errorMessage } from '../api';
import { OperationWatch } from '../components/operation';
import { ConfirmButton, Empty, ErrorBox, Field, Loading, Notice, PageHeader, Section, StateBadge } from '../components/ui';
import { listTypes, listVms } from '../fleetdata';
import { dateTime, mib, num } from '../format';
import { useAction, useDebounced, usePoll } from '../hooks';
import { atLeast } from '../session';
import type { Destinations, Operation, PlaceResult, VgpuTypeOption, Vm } from '../types';

export function VmsPage(props: PageProps) {
  const canAct = atLeast(props.me.role, 'operator');
  const vms = usePoll((signal) => listVms(signal), 4000, [], { on: ['vm.', 'operation.', 'host.'] });
  const [creating, setCreating] = useState(false);
  const [migrating, setMigrating] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | undefined>();
  const [actionError, setActionError] = useState<unknown>();
  const [query, setQuery] = useState(props.params.get('q') ?? '');
  const [host, setHost] = useState(props.params.get('host') ?? '');
  const [phase, setPhase] = useState('');
  const [type, setType] = useState('');

  const linkedQuery = props.params.get('q');
  useEffect(() => {
    if (linkedQuery !== null) setQuery(linkedQuery);
  }, [linkedQuery]);

  const list = vms.data ?? [];
  const hosts = uniq(list.flatMap((vm) => (vm.vgpus ?? []).map((v) => v.host)));
  const phases = uniq(list.map((vm) => vm.phase ?? ''));
  const types = uniq(list.flatMap((vm) => (vm.vgpus ?? []).map((v) => v.type)));
  const q = query.trim().toLowerCase();
  const shown = list.filter(
    (vm) =>
      (!q || vm.name.toLowerCase().includes(q)) &&
      (!host || (vm.vgpus ?? []).some((v) => v.host === host)) &&
      (!phase || vm.phase === phase) &&
      (!type || (vm.vgpus ?? []).some((v) => v.type === type)),
  );

  const remove = async (name: string) => {
    setActionError(undefined);
    try {
      await api.del(`/vms/${enc(name)}`);
      setNotice(`Deleted ${name}; its vGPUs are released.`);
      vms.refresh();
    } catch (e) {
      setActionError(e);
    }
  };

  return (
    <>
      <PageHeader title="VMs" subtitle="vGPU virtual machines, their placement and state">
        {canAct && !creating && (
          <button type="button" class="btn btn-primary" data-action="true" onClick={() => setCreating(true)}>
            Create VM
          </button>
        )}
      </PageHeader>
      {notice && <Notice kind="ok">{notice}</Notice>}
      <ErrorBox error={actionError} />
      {creating && canAct && (
        <CreateVm
          onClose={() => setCreating(false)}
          onCreated={(vm) => {
            setCreating(false);
            const where = vm.vgpus?.[0];
            setNotice(`Created ${vm.name}${where ? ` on ${where.host} (GPU ${where.gpu}, ${where.type})` : ''}.`);
            vms.refresh();
          }}
        />
      )}
      {migrating && canAct && (
        <Migrate key={migrating} vm={migrating} onClose={() => setMigrating(null)} onDone={() => vms.refresh()} />
      )}
      <Section title="All VMs" id="vm-list">
        <div class="filters" role="search" aria-label="Filter VMs">
          <Field label="Name contains" id="vm-filter-name">
            <input id="vm-filter-name" type="search" value={query}
              onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
          </Field>
          <Select id="vm-filter-host" label="Host" value={host} options={hosts} onChange={setHost} />
          <Select id="vm-filter-phase" label="Phase" value={phase} options={phases} onChange={setPhase} />
          <Select id="vm-filter-type" label="vGPU type" value={type} options={types} onChange={setType} />
        </div>
        <ErrorBox error={vms.error} />
        {!vms.data ? (
          vms.error ? null : <Loading what="VMs" />
        ) : list.length === 0 ? (
          <Empty>No VMs yet.{canAct ? ' Create one: the planner chooses the host and GPU.' : ''}</Empty>
        ) : shown.length === 0 ? (
          <Empty>No VM matches these filters.</Empty>
        ) : (
          <div class="table-wrap">
            <table class="table">
              <caption class="sr-only">VMs ({shown.length} of {list.length})</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">vGPU</th>
                  <th scope="col">Host</th>
                  <th scope="col">GPU</th>
                  <th scope="col">Phase</th>
                  <th scope="col">License</th>
                  <th scope="col">Created</th>
                  {canAct && <th scope="col"><span class="sr-only">Actions</span></th>}
                </tr>
              </thead>
              <tbody>
                {shown.map((vm) => {
                  const v = vm.vgpus ?? [];
                  const observed = v.length > 0 && v.every((x) => x.observed);
                  return (
                    <tr key={vm.name} data-vm={vm.name}>
                      <th scope="row">{vm.name}</th>
                      <td>{v.length ? uniq(v.map((x) => x.type)).join(', ') + (v.length > 1 ? ` ×${v.length}` : '') : vm.spec?.type ?? '–'}</td>
                      <td>{uniq(v.map((x) => x.host)).join(', ') || '–'}</td>
                      <td><code>{uniq(v.map((x) => x.gpu)).join(', ') || '–'}</code></td>
                      <td>
                        <StateBadge state={vm.phase} />
                        {v.length > 0 && !observed && <span class="muted small"> vGPU not reported yet</span>}
                      </td>
                      <td>{vm.license || vm.spec?.license || <span class="muted">default</span>}</td>
                      <td>{dateTime(vm.created_at)}</td>
                      {canAct && (
                        <td class="actions-cell"><div class="row-actions">
                          <button type="button" class="btn" data-action="true" aria-label={`Migrate ${vm.name}`}
                            onClick={() => setMigrating(vm.name)} disabled={v.length === 0}>
                            Migrate
                          </button>
                          <ConfirmButton label="Delete" confirmLabel={`Delete ${vm.name}`} danger
                            ariaLabel={`Delete ${vm.name}`} onConfirm={() => remove(vm.name)} />
                        </div></td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  );
}

function uniq(values: string[]): string[] {
  return [...new Set(values.filter(Boolean))].sort();
}

function Select(props: { id: string; label: string; value: string; options: string[]; onChange: (v: string) => void }) {
  return (
    <Field label={props.label} id={props.id}>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}>
        <option value="">all</option>
        {props.options.map((o) => <option key={o} value={o}>{o}</option>)}
      </select>
    </Field>
  );
}

function CreateVm(props: { onClose: () => void; onCreated: (vm: Vm) => void }) {
  const types = usePoll((signal) => listTypes(signal), 10000, [], { on: ['vm.', 'host.'] });
  const [name, setName] = useState('');
  const [type, setType] = useState('');
  const [count, setCount] = useState(1);
  const [license, setLicense] = useState('');
  const [antiAffinity, setAntiAffinity] = useState('');
  const [showAll, setShowAll] = useState(false);
  const action = useAction();
  const [preview, setPreview] = useState<PlaceResult | { error: string } | undefined>();

  const options = types.data ?? null;
  const fitting = (options ?? []).filter((t) => t.fits);
  const listed = showAll ? options ?? [] : fitting;
  const boards = uniq(listed.map((t) => t.board));
  useEffect(() => {
    if (!type && fitting.length > 0) setType(fitting[0].type);
  }, [fitting.length]);

  const body = useMemo(() => {
    const b: Record<string, unknown> = { name: name.trim() || 'preview', type, vgpus: count };
    if (license) b.license = license;
    if (antiAffinity.trim()) b.anti_affinity = antiAffinity.trim();
    return b;
  }, [name, type, count, license, antiAffinity]);
  const debounced = useDebounced(body, 300);
  useEffect(() => {
    if (!debounced.type) {
      setPreview(undefined);
      return undefined;
    }
    const controller = new AbortController();
    api
      .post<PlaceResult>('/plans/place', debounced, { signal: controller.signal })
      .then(setPreview)
      .catch((e) => {
        if (!controller.signal.aborted) setPreview({ error: errorMessage(e) });
      });
    return () => controller.abort();
  }, [debounced]);

  const submit = (e: Event) => {
    e.preventDefault();
    return action.run(async () => {
      const vm = await api.post<Vm>('/vms', { ...body, name: name.trim() });
      props.onCreated(vm);
    });
  };

  const selected = options?.find((t) => t.type === type);
  return (
    <Section title="Create a vGPU VM" id="create-vm" reveal>
      <form class="form-grid" onSubmit={submit}>
        <Field label="VM name" id="vm-name" hint="Letters, digits, dots and dashes.">
          <input id="vm-name" required value={name} autocomplete="off"
            onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label="vGPU type" id="vm-type"
          hint={options === null ? 'This controller cannot list types yet: type a name such as P40-8Q.' : showAll ? 'All types of the fleet\'s boards.' : 'Only the types that fit now.'}>
          {options === null || (options.length === 0 && types.error) ? (
            <input id="vm-type" required value={type} onInput={(e) => setType((e.target as HTMLInputElement).value)} />
          ) : (
            <select id="vm-type" required value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
              {listed.length === 0 && <option value="">nothing fits now</option>}
              {boards.map((board) => (
                <optgroup key={board} label={board}>
                  {listed.filter((t) => t.board === board).map((t) => (
                    <option key={t.type} value={t.type}>{typeLabel(t)}</option>
                  ))}
                </optgroup>
              ))}
            </select>
          )}
        </Field>
        <Field label="vGPUs" id="vm-count">
          <input id="vm-count" type="number" min={1} max={16} value={count}
            onInput={(e) => setCount(Math.max(1, Number((e.target as HTMLInputElement).value) || 1))} />
        </Field>
        <Field label="License edition" id="vm-license">
          <select id="vm-license" value={license} onChange={(e) => setLicense((e.target as HTMLSelectElement).value)}>
            <option value="">{selected?.edition ? `type's default (${selected.edition})` : "type's default"}</option>
            {['vWS', 'vCS', 'vPC', 'vApps'].map((l) => <option key={l} value={l}>{l}</option>)}
          </select>
        </Field>
        <Field label="Anti-affinity group" id="vm-aa" hint="VMs of one group go to different hosts.">
          <input id="vm-aa" value={antiAffinity} onInput={(e) => setAntiAffinity((e.target as HTMLInputElement).value)} />
        </Field>
        <div class="field field-check">
          <label>
            <input type="checkbox" checked={showAll} onChange={(e) => setShowAll((e.target as HTMLInputElement).checked)} />
            Show types that do not fit
          </label>
        </div>
        <div class="form-wide" aria-live="polite">
          {options && fitting.length === 0 && (
            <Notice kind="warn">
              No vGPU type fits now. The planner says:
              <ul class="reasons">
                {options.slice(0, 8).map((t) => <li key={t.type}><strong>{t.type}</strong>: {t.explanation || 'no room'}</li>)}
              </ul>
            </Notice>
          )}
          {selected && !selected.fits && selected.explanation && (
            <Notice kind="warn"><strong>{selected.type}</strong> does not fit: {selected.explanation}</Notice>
          )}
          {preview && 'error' in preview && <p class="muted">Placement preview unavailable: {preview.error}</p>}
          {preview && 'fits' in preview && (
            preview.fits ? (
              <Notice kind="ok">
                The planner would place it on <strong>{preview.host}</strong>
                {preview.vgpus?.length ? ` (${preview.vgpus.map((v) => `${v.type} on GPU ${v.gpu}`).join(', ')})` : ''}.
                {preview.explanation ? ` ${preview.explanation}` : ''}
              </Notice>
            ) : (
              <Notice kind="warn">Does not fit: {preview.explanation || 'no host has room'}</Notice>
            )
          )}
        </div>
        <ErrorBox error={action.error} />
        <div class="form-actions form-wide">
          <button type="submit" class="btn btn-primary" data-action="true" disabled={action.busy || !type || !name.trim()}>
            {action.busy ? 'Creating…' : 'Create'}
          </button>
          <button type="button" class="btn btn-ghost" onClick={props.onClose}>Cancel</button>
        </div>
      </form>
    </Section>
  );
}

function typeLabel(t: VgpuTypeOption): string {
  const size = mib(t.framebuffer_mib);
  const room = t.fits ? `${t.free} free` : 'does not fit';
  return `${t.type} · ${size}${t.edition ? ` · ${t.edition}` : ''} — ${room}`;
}

function Migrate(props: { vm: string; onClose: () => void; onDone: () => void }) {
  const dest = usePoll((signal) => api.get<Destinations>(`/vms/${enc(props.vm)}/destinations`, { signal }), 10000, [props.vm]);
  const [to, setTo] = useState('');
  const action = useAction();
  const [op, setOp] = useState<string | undefined>();

  const start = () =>
    action.run(async () => {
      const body: Record<string, unknown> = { kind: 'migrate', vm: props.vm };
      if (to) body.to = to;
      const started = await api.post<Operation>('/operations', body);
      setOp(started.id);
    });

  return (
    <Section title={`Migrate ${props.vm}`} id="migrate" reveal
      actions={<button type="button" class="btn btn-ghost" onClick={props.onClose} aria-label="Close migration">Close</button>}>
      {op ? (
        <OperationWatch id={op} onDone={props.onDone} />
      ) : (
        <>
          <ErrorBox error={dest.error} />
          {!dest.data ? (dest.error ? null : <Loading what="destinations" />) : (
            <fieldset class="destinations">
              <legend>From <strong>{dest.data.from}</strong> to:</legend>
              <label class="dest">
                <input type="radio" name="dest" value="" checked={to === ''} onChange={() => setTo('')} />
                <span>Let the planner choose</span>
              </label>
              {dest.data.items.length === 0 && <Empty>No other host.</Empty>}
              {dest.data.items.map((d) => (
                <label key={d.host} class={`dest${d.ok ? '' : ' dest-no'}`}>
                  <input type="radio" name="dest" value={d.host} disabled={!d.ok} checked={to === d.host}
                    onChange={() => setTo(d.host)} />
                  <span class="dest-host">{d.host}</span>
                  {d.ok ? (
                    <span>
                      <span class="badge badge-ok">{d.live ? 'live' : 'cold move'}</span>
                      {typeof d.stun_seconds === 'number' && <span class="muted"> stun ~{num(d.stun_seconds, 1)} s</span>}
                    </span>
                  ) : (
                    <span class="dest-reason"><span class="badge badge-bad">incompatible</span> {d.reason}</span>
                  )}
                </label>
              ))}
            </fieldset>
          )}
          <ErrorBox error={action.error} />
          <div class="form-actions">
            <button type="button" class="btn btn-primary" data-action="true" disabled={action.busy} onClick={start}>
              {action.busy ? 'Starting…' : to ? `Migrate to ${to}` : 'Migrate'}
            </button>
          </div>
        </>
      )}
    </Section>
  );
}
