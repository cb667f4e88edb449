// A physical GPU drawn as the bar of its vGPU slots: one cell per instance of an equal-size GPU;
// for mixed-size and MIG the GPU's row of slots (framebuffer slots, memory slices) with every
// instance at its placement, so the gaps alignment leaves are visible (framebuffer-proportional
// segments when the controller gives no geometry); the whole bar for an uncarved or
// passed-through GPU. The slot states come from the planner's view (POST /plans/demand):
// used (VM name), free, free but locked to the carved type (the planner's "stranded" capacity:
// other types cannot use it until the GPU is empty), and framebuffer no instance can use.
import type { GpuReading, PlanGpu, StrandedGpu } from '../types';
import { mib, num } from '../format';
import { TempBadge } from './ui';

export type SlotKind = 'used' | 'new' | 'pending' | 'free' | 'stranded' | 'unusable' | 'unknown';

export interface Slot {
  kind: SlotKind;
  label: string;
  detail: string;
  weight: number;
  vm?: string;
}

export interface GpuBarModel {
  host: string;
  gpu: PlanGpu;
  stranded?: StrandedGpu;
  reading?: GpuReading | null;
  // framebuffer MiB per vGPU type name, for mixed-size and MIG proportions
  typeFramebuffer: Map<string, number>;
  // VMs whose vGPU the host's agent does not report yet
  pending?: Set<string>;
  capacityKnown?: boolean;
  // The planner's proposal, not a live GPU: no temperature or utilisation.
  proposal?: boolean;
  // VMs the proposal adds (the demand's), drawn apart from those already running
  added?: Set<string>;
}

function where(gpu: PlanGpu, placement: number | undefined): string {
  if (placement === undefined || placement < 0) return '';
  if (gpu.mode === 'mig') return ` · from slice ${placement}`;
  if (gpu.mode === 'mixed-size') return ` · at placement ${placement}`;
  return '';
}

function sortedInstances(gpu: PlanGpu) {
  return [...gpu.instances].sort((a, b) => (a.placement ?? 0) - (b.placement ?? 0) || a.vm.localeCompare(b.vm));
}

export function slotsOf(m: GpuBarModel): Slot[] {
  const { gpu } = m;
  const strandedFree = m.stranded?.free_instances ?? 0;
  const used: Slot[] = sortedInstances(gpu).map((i) => ({
    kind: m.pending?.has(i.vm) ? 'pending' : m.added?.has(i.vm) ? 'new' : 'used',
    label: i.vm,
    detail: `${i.vm} · ${i.type}${where(gpu, i.placement)}${m.pending?.has(i.vm) ? ' · being created' : ''}`,
    weight: 1,
    vm: i.vm,
  }));
  if (m.capacityKnown === false) {
    return [...used, { kind: 'unknown', label: '?', detail: 'capacity not known', weight: Math.max(1, used.length) }];
  }
  const total = gpu.framebuffer_mib ?? 0;
  const equalSize = gpu.mode === 'equal-size' || gpu.mode === 'passthrough';
  if (equalSize && gpu.max_instances && gpu.max_instances > 0) {
    const free = Math.max(0, gpu.max_instances - used.length);
    const slots = [...used];
    for (let i = 0; i < free; i++) {
      const locked = i >= free - strandedFree;
      slots.push(
        locked && gpu.carved
          ? { kind: 'stranded', label: 'free', detail: `free for ${gpu.carved} only (stranded for other types)`, weight: 1 }
          : { kind: 'free', label: 'free', detail: gpu.carved ? `free ${gpu.carved} slot` : 'free', weight: 1 },
      );
    }
    const typeMib = gpu.carved ? m.typeFramebuffer.get(gpu.carved) : undefined;
    const unusable = (m.stranded?.stranded_mib ?? 0) - strandedFree * (typeMib ?? 0);
    if (typeMib && unusable > 0) {
      slots.push({
        kind: 'unusable',
        label: mib(unusable),
        detail: `${mib(unusable)} no ${gpu.carved} instance can use`,
        weight: unusable / typeMib,
      });
    }
    return slots;
  }
  if (gpu.mode === 'unconfigured' || (!gpu.carved && used.length === 0 && gpu.mode !== 'mig' && gpu.mode !== 'mixed-size')) {
    if (used.length > 0) return used;
    return [{ kind: 'free', label: `free · ${mib(total || undefined)}`, detail: 'not carved: any type of the board', weight: 1 }];
  }
  const geometric = geometrySlots(m, used);
  if (geometric) return geometric;
  // Mixed-size and MIG without geometry: segments in proportion to framebuffer.
  const weighted = used.map((s, index) => {
    const type = sortedInstances(gpu)[index].type;
    return { ...s, weight: m.typeFramebuffer.get(type) ?? (total ? total / Math.max(1, gpu.max_instances ?? 8) : 1) };
  });
  const usedMib = gpu.framebuffer_used_mib ?? weighted.reduce((a, s) => a + s.weight, 0);
  const rest = total - usedMib;
  if (rest > 0) {
    const stranded = m.stranded?.stranded_mib ?? 0;
    weighted.push(
      stranded > 0
        ? { kind: 'stranded', label: `free · ${mib(rest)}`, detail: `${mib(stranded)} stranded`, weight: rest }
        : { kind: 'free', label: `free · ${mib(rest)}`, detail: `${mib(rest)} free`, weight: rest },
    );
  }
  return weighted;
}

// The row of slots of a MIG or mixed-size GPU: each instance at [placement, placement + span),
// free runs between and after them, reserved slots at the end. Undefined when the controller gave
// no geometry (an older controller) or an instance lacks its placement.
function geometrySlots(m: GpuBarModel, used: Slot[]): Slot[] | undefined {
  const { gpu } = m;
  const total = gpu.slots;
  const instances = sortedInstances(gpu);
  if (!total || total <= 0) return undefined;
  if (instances.some((i) => i.placement === undefined || i.placement < 0 || !i.span || i.span <= 0)) return undefined;
  const unit = gpu.mode === 'mig' ? 'slice' : 'slot';
  const slotMib = (gpu.framebuffer_mib ?? 0) / (total + (gpu.reserved_slots ?? 0));
  const stranded = (m.stranded?.stranded_mib ?? 0) > 0;
  const gap = (from: number, to: number): Slot => {
    const n = to - from;
    const size = slotMib > 0 ? mib(n * slotMib) : `${n} ${unit}${n === 1 ? '' : 's'}`;
    const which = n === 1 ? `${unit} ${from}` : `${unit}s ${from}-${to - 1}`;
    return stranded
      ? { kind: 'stranded', label: `free · ${size}`, detail: `${which} free, usable by ${gpu.carved ?? 'some types'} only`, weight: n }
      : { kind: 'free', label: `free · ${size}`, detail: `${which} free`, weight: n };
  };
  const out: Slot[] = [];
  let at = 0;
  instances.forEach((inst, k) => {
    const start = inst.placement as number;
    if (start > at) out.push(gap(at, start));
    out.push({ ...used[k], weight: inst.span as number });
    at = Math.max(at, start + (inst.span as number));
  });
  if (at < total) out.push(gap(at, total));
  const reserved = gpu.reserved_slots ?? 0;
  if (reserved > 0) {
    out.push({ kind: 'unusable', label: 'reserved', detail: `${reserved} reserved ${unit}${reserved === 1 ? '' : 's'}`, weight: reserved });
  }
  return out;
}

function modeLabel(gpu: PlanGpu): string {
  if (gpu.mode === 'equal-size') return gpu.carved ? `${gpu.carved} × ${gpu.max_instances ?? '?'}` : 'equal-size';
  if (gpu.mode === 'mig') return 'MIG';
  if (gpu.mode === 'mixed-size') return 'mixed-size';
  if (gpu.mode === 'passthrough') return 'passthrough';
  return 'not carved';
}

export function GpuBar(props: { model: GpuBarModel }) {
  const m = props.model;
  const slots = slotsOf(m);
  const used = slots.filter((s) => s.kind === 'used' || s.kind === 'pending' || s.kind === 'new').length;
  const free = slots.filter((s) => s.kind === 'free' || s.kind === 'stranded').length;
  return (
    <div
      class="gpubar"
      role="list"
      aria-label={`${m.host} GPU ${m.gpu.id}: ${used} used, ${free} free`}
      data-gpu={m.gpu.id}
    >
      {slots.map((s, i) => (
        <div
          key={i}
          role="listitem"
          class={`slot slot-${s.kind}`}
          title={s.detail}
          aria-label={`slot ${i + 1}: ${s.detail}`}
          data-vm={s.vm}
          style={{ flexGrow: s.weight }}
        >
          {s.vm && !m.proposal ? (
            <a class="slot-label" href={`#/vms?q=${encodeURIComponent(s.vm)}`} aria-label={`VM ${s.vm}`}>{s.label}</a>
          ) : (
            <span class="slot-label">{s.label}</span>
          )}
        </div>
      ))}
    </div>
  );
}

export function GpuCard(props: { model: GpuBarModel }) {
  const m = props.model;
  const r = m.reading;
  const stranded = m.stranded?.stranded_mib ?? 0;
  return (
    <div class={`gpu${r?.lost ? ' gpu-lost' : ''}`} data-testid="gpu">
      <div class="gpu-head">
        <span class="gpu-board">{m.gpu.board}</span>
        <code class="gpu-pci">{m.gpu.id}</code>
        <span class="gpu-mode">{modeLabel(m.gpu)}</span>
        {!m.proposal && (
          <span class="gpu-stats">
            <TempBadge celsius={r?.temperature_c} />
            <span class="util" title="GPU utilisation">
              <span class="sr-only">utilisation </span>
              {num(r?.utilisation_pct, 0, ' %')}
            </span>
          </span>
        )}
      </div>
      <GpuBar model={m} />
      <div class="gpu-foot muted">
        <span>
          {mib(m.gpu.framebuffer_used_mib ?? r?.framebuffer_used_mib)} of {mib(m.gpu.framebuffer_mib ?? r?.framebuffer_total_mib)} framebuffer
        </span>
        {stranded > 0 && (
          <span class="stranded-note">
            {mib(stranded)} stranded{m.gpu.carved ? ` (only ${m.gpu.carved} fits)` : ''}
          </span>
        )}
        {r?.lost && <span class="badge badge-bad">fell off the bus (Xid {r.xid ?? 79})</span>}
        {!r?.lost && r?.xid ? <span class="badge badge-warn">Xid {r.xid}</span> : null}
      </div>
    </div>
  );
}

export function SlotLegend(props: { proposal?: boolean }) {
  return (
    <ul class="legend" aria-label="Slot colours">
      <li><span class="swatch slot-used" aria-hidden="true" />{props.proposal ? 'running now' : 'used'}</li>
      {props.proposal ? (
        <li><span class="swatch slot-new" aria-hidden="true" />this demand</li>
      ) : (
        <li><span class="swatch slot-pending" aria-hidden="true" />being created</li>
      )}
      <li><span class="swatch slot-free" aria-hidden="true" />free</li>
      <li><span class="swatch slot-stranded" aria-hidden="true" />free for the carved type only (stranded)</li>
      <li><span class="swatch slot-unusable" aria-hidden="true" />unusable</li>
    </ul>
  );
}
