// Loads what the fleet and planner views draw: hosts, VMs, the planner's view of the current
// carving (POST /plans/demand with no new VMs: every GPU's carving, instances, capacity and
// stranded framebuffer), vGPU type sizes, and the latest telemetry per host.
import { api, enc, isNotFoundRoute } from './api';
import type {
  DemandPlan, GpuReading, Host, HostTelemetry, Page, PlanGpu, PlanHost, VgpuTypeOption, Vm,
} from './types';

export const EMPTY_DEMAND = 'vms: []\n';

export async function listVms(signal?: AbortSignal): Promise<Vm[]> {
  const all: Vm[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const q = cursor ? `&cursor=${enc(cursor)}` : '';
    const r = await api.get<Page<Vm>>(`/vms?limit=1000${q}`, { signal });
    all.push(...(r.items ?? []));
    if (!r.next_cursor) break;
    cursor = r.next_cursor;
  }
  return all;
}

export async function listTypes(signal?: AbortSignal): Promise<VgpuTypeOption[] | null> {
  try {
    return (await api.get<Page<VgpuTypeOption>>('/plans/types', { signal })).items ?? [];
  } catch (e) {
    if (isNotFoundRoute(e)) return null;
    throw e;
  }
}

export async function currentPlan(signal?: AbortSignal): Promise<DemandPlan | null> {
  try {
    return await api.post<DemandPlan>('/plans/demand', { demand_yaml: EMPTY_DEMAND, from_scratch: false }, { signal });
  } catch (e) {
    if (isNotFoundRoute(e)) return null;
    throw e;
  }
}

export interface FleetData {
  hosts: Host[];
  vms: Vm[];
  plan: DemandPlan | null; // null: the controller has no planner route (older binary)
  typeFramebuffer: Map<string, number>;
  telemetry: Map<string, HostTelemetry>;
}

export async function loadTelemetry(hosts: string[], signal?: AbortSignal): Promise<Map<string, HostTelemetry>> {
  const results = await Promise.allSettled(
    hosts.map((h) => api.get<HostTelemetry>(`/hosts/${enc(h)}/telemetry`, { signal })),
  );
  const map = new Map<string, HostTelemetry>();
  results.forEach((r, i) => {
    if (r.status === 'fulfilled' && r.value) map.set(hosts[i], r.value);
  });
  return map;
}

export function typeSizes(types: VgpuTypeOption[] | null): Map<string, number> {
  return new Map((types ?? []).map((t) => [t.type, t.framebuffer_mib]));
}

export function readingOf(t: HostTelemetry | undefined, gpu: string): GpuReading | null {
  return t?.gpus.find((g) => g.gpu === gpu)?.latest ?? null;
}

// Without the planner route: the host's GPUs with the VMs' vGPUs on them; capacity unknown.
export function fallbackPlanHost(host: Host, vms: Vm[]): PlanHost {
  const gpus: PlanGpu[] = host.gpus.map((g) => ({
    id: g.pci,
    board: g.board,
    mode: g.mode,
    carved: g.carved_type || undefined,
    instances: vms.flatMap((vm) =>
      (vm.vgpus ?? [])
        .filter((v) => v.host === host.name && v.gpu === g.pci)
        .map((v) => ({ vm: vm.name, type: v.type, placement: v.placement })),
    ),
  }));
  return { name: host.name, state: host.state, gpus };
}
