// Planner what-if: a demand (YAML, docs/planning.md) planned against the current fleet by the
// controller (POST /plans/demand): the proposed carving, placements, rejections with reasons,
// the gap to the lower bound, stranded capacity. Nothing changes in the fleet.
import { useState } from 'preact/hooks';
import type { PageProps } from '../app';
import { api } from '../api';
import { GpuCard, SlotLegend } from '../components/gpubar';
import { Empty, ErrorBox, Field, Notice, PageHeader, Section } from '../components/ui';
import { listTypes, typeSizes } from '../fleetdata';
import { describe, mib, plural } from '../format';
import { useAction, usePoll } from '../hooks';
import type { Bound, DemandPlan, Rejection } from '../types';

const SAMPLE = `# What if these VMs arrived? Format: docs/planning.md
vms:
  - name: "whatif-desk-{n}"
    type: P40-3Q
    count: 6
    license: vWS
  - name: "whatif-train-{n}"
    type: P40-8Q
    count: 2
    license: vWS
`;

export function PlannerPage(_: PageProps) {
  const [text, setText] = useState(SAMPLE);
  const [fromScratch, setFromScratch] = useState(false);
  const [policy, setPolicy] = useState('fragmentation');
  const action = useAction();
  const [plan, setPlan] = useState<DemandPlan | undefined>();
  const types = usePoll((signal) => listTypes(signal), 300000, []);

  const run = (e: Event) => {
    e.preventDefault();
    setPlan(undefined);
    return action.run(async () => {
      setPlan(await api.post<DemandPlan>('/plans/demand', { demand_yaml: text, from_scratch: fromScratch, policy }));
    });
  };

  const upload = async (e: Event) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    if (file.size > 1 << 20) {
      action.setError(new Error(`${file.name} is larger than 1 MiB`));
      return;
    }
    setText(await file.text());
  };

  return (
    <>
      <PageHeader title="Planner" subtitle="What if this demand arrived? The controller plans it against the fleet as it is now; nothing changes." />
      <Section title="Demand" id="demand">
        <form class="planner-form" onSubmit={run}>
          <Field label="Demand (YAML)" id="demand-yaml" hint="A list of VMs with type or requirement and count, as in examples/seed/demand.yaml.">
            <textarea id="demand-yaml" rows={12} spellcheck={false} value={text}
              onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
          </Field>
          <div class="planner-controls">
            <Field label="Or upload a file" id="demand-file">
              <input id="demand-file" type="file" accept=".yaml,.yml,text/yaml,application/yaml,text/plain" onChange={upload} />
            </Field>
            <Field label="Policy" id="demand-policy">
              <select id="demand-policy" value={policy} onChange={(e) => setPolicy((e.target as HTMLSelectElement).value)}>
                <option value="fragmentation">fragmentation: keep whole GPUs free</option>
                <option value="spread">spread: VMs across GPUs</option>
                <option value="consolidate">consolidate: fill a GPU before the next</option>
              </select>
            </Field>
            <div class="field field-check">
              <label>
                <input type="checkbox" checked={fromScratch} onChange={(e) => setFromScratch((e.target as HTMLInputElement).checked)} />
                From scratch (ignore the current carving and VMs)
              </label>
            </div>
            <button type="submit" class="btn btn-primary" disabled={action.busy || !text.trim()}>{action.busy ? 'Planning…' : 'Plan'}</button>
          </div>
        </form>
        <ErrorBox error={action.error} title="The controller refused the demand" />
      </Section>
      {plan && <PlanResult plan={plan} typeFramebuffer={typeSizes(types.data ?? null)} />}
    </>
  );
}

function rejectedOf(plan: DemandPlan): Rejection[] {
  return plan.rejected ?? plan.unplaced ?? [];
}

function PlanResult(props: { plan: DemandPlan; typeFramebuffer: Map<string, number> }) {
  const { plan } = props;
  const rejected = rejectedOf(plan);
  const summary = plan.summary ?? {};
  const stranded = plan.stranded ?? [];
  const added = new Set((plan.placed ?? []).map((p) => p.vm));
  return (
    <>
      <Section title="Result" id="plan-result">
        {rejected.length === 0 ? (
          <Notice kind="ok">
            Everything fits: {plural(summary.placed ?? plan.placed?.length ?? 0, 'VM')} placed
            {summary.gpus_used !== undefined ? ` on ${summary.gpus_used} of ${summary.gpus} GPUs` : ''}.
          </Notice>
        ) : (
          <div class="alert alert-error" role="alert">
            {plural(rejected.length, 'VM')} would not fit
            {summary.vms !== undefined ? ` (${summary.placed ?? 0} of ${summary.vms} placed)` : ''}.
          </div>
        )}
        <div class="table-wrap">
          <table class="table" aria-label="Lower bound per board">
            <thead>
              <tr><th scope="col">Board</th><th scope="col" class="num">GPUs needed (lower bound)</th><th scope="col" class="num">GPUs used</th><th scope="col">Gap</th></tr>
            </thead>
            <tbody>
              {(plan.bounds ?? []).map((b) => (
                <tr key={b.board}>
                  <th scope="row">{b.board}</th>
                  <td class="num">{b.gpus_needed}</td>
                  <td class="num">{b.gpus_used}</td>
                  <td>{gapText(b)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {rejected.length > 0 && (
          <>
            <h3>Rejected</h3>
            <ul class="reasons">
              {rejected.map((r, i) => (
                <li key={i}><strong>{r.vm ?? r.name ?? '?'}</strong>{r.type ? ` (${r.type})` : ''}: {describe(r.reason ?? r.reasons ?? rest(r))}</li>
              ))}
            </ul>
          </>
        )}
        <h3>Stranded capacity</h3>
        {stranded.length === 0 ? <Empty>None: no carved GPU keeps framebuffer other types cannot use.</Empty> : (
          <ul class="reasons">
            {stranded.map((s) => (
              <li key={`${s.host}/${s.gpu}`}>
                <strong>{s.host}</strong> <code>{s.gpu}</code>: {mib(s.stranded_mib)} stranded
                {s.carved ? ` (carved ${s.carved}, ${s.free_instances ?? 0} free)` : ''}
              </li>
            ))}
          </ul>
        )}
        {plan.free_by_type && Object.keys(plan.free_by_type).length > 0 && (
          <p class="free-types">
            <span class="muted">Free afterwards, per carved type: </span>
            {Object.entries(plan.free_by_type).map(([t, n]) => (
              <span key={t} class={`chip${n === 0 ? ' chip-zero' : ''}`}>{t} <strong>{n}</strong></span>
            ))}
          </p>
        )}
      </Section>
      <Section title="Proposed carving" id="plan-carving">
        <SlotLegend proposal />
        <div class="hosts">
          {plan.hosts.map((h) => (
            <article class={`host host-${h.state ?? 'ready'}`} key={h.name} aria-label={`${h.name} (proposed)`}>
              <header class="host-head"><h3>{h.name}</h3>{h.state && <span class="badge badge-muted">{h.state}</span>}</header>
              <div class="gpus">
                {h.gpus.map((g) => (
                  <GpuCard key={g.id} model={{
                    host: h.name, gpu: g, proposal: true, added, typeFramebuffer: props.typeFramebuffer,
                    stranded: stranded.find((s) => s.host === h.name && s.gpu === g.id),
                  }} />
                ))}
              </div>
            </article>
          ))}
        </div>
      </Section>
    </>
  );
}

function gapText(b: Bound): string {
  if (b.gap === 0) return 'optimal (gap 0)';
  if (b.gap > 0) return `${plural(b.gap, 'GPU')} more than the bound`;
  return `short of ${plural(-b.gap, 'GPU')}`;
}

function rest(r: Rejection): Record<string, unknown> {
  const { vm: _vm, name: _name, type: _type, ...others } = r;
  return others;
}
