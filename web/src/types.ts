// The controller's JSON shapes as the dashboard reads them (docs/api/openapi.yaml). Fields the
// dashboard does not use are left out; optional ones are those the API may omit or send as null.

export type Role = 'viewer' | 'operator' | 'admin';

export interface Whoami {
  name: string;
  role: Role;
}

export interface Gpu {
  host: string;
  pci: string;
  board: string;
  mode: string;
  carved_type?: string;
  ecc?: boolean;
  held?: boolean;
}

export interface Host {
  name: string;
  state: 'ready' | 'maintenance' | 'down' | string;
  hypervisor?: string;
  manager_version?: string;
  hotmigrate?: boolean;
  labels?: Record<string, string>;
  agent?: string;
  last_heartbeat?: string | null;
  version?: number;
  gpus: Gpu[];
}

export interface VmVgpu {
  uuid?: string;
  index?: number;
  host: string;
  gpu: string;
  type: string;
  placement?: number;
  observed?: boolean;
}

export interface VmSpec {
  name: string;
  type?: string;
  vgpus?: number;
  anti_affinity?: string;
  license?: string;
  requirement?: Record<string, unknown>;
}

export interface Vm {
  name: string;
  spec?: VmSpec;
  phase?: string;
  license?: string;
  version?: number;
  created_at?: string;
  vgpus?: VmVgpu[];
}

export interface VgpuTypeOption {
  type: string;
  board: string;
  framebuffer_mib: number;
  edition?: string;
  fits: boolean;
  free: number;
  explanation?: string;
}

export interface PlaceResult {
  fits: boolean;
  host?: string;
  vgpus?: { type: string; gpu: string }[];
  explanation?: string;
}

export interface Destination {
  host: string;
  ok: boolean;
  live?: boolean;
  stun_seconds?: number | null;
  reason?: string;
}

export interface Destinations {
  vm: string;
  from: string;
  items: Destination[];
}

export interface OperationStep {
  index?: number;
  kind: string;
  state?: string;
  detail?: Record<string, unknown> | null;
  updated_at?: string;
}

export interface Operation {
  id: string;
  kind: string;
  state: 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | string;
  target?: string;
  params?: Record<string, unknown>;
  actor?: string;
  error?: string;
  cancel_requested?: boolean;
  version?: number;
  created_at?: string;
  updated_at?: string;
  progress?: { done: number; total: number };
  steps?: OperationStep[];
}

export interface Move {
  vm: string;
  from?: string;
  to?: { host: string; gpus?: string[]; types?: string[] } | string;
  stun_seconds?: number | null;
  live?: boolean;
}

export interface Stuck {
  vm?: string;
  reason?: string;
  [key: string]: unknown;
}

export interface EvacuationPlan {
  moves: Move[];
  stuck: Stuck[];
}

export interface DryRun {
  kind: string;
  target?: string;
  dry_run: boolean;
  can_run: boolean;
  blocked?: string;
  plan?: EvacuationPlan;
  steps?: OperationStep[];
}

export interface HaFailure {
  host: string;
  vms: number;
  cannot_restart: unknown[];
  missing_by_type?: Record<string, number>;
  missing?: Record<string, number>;
}

export interface HaPlan {
  dry_run?: boolean;
  n_plus_one: boolean;
  failures: HaFailure[];
  reserve: unknown[];
}

export interface PlanInstance {
  type: string;
  vm: string;
  placement?: number; // MIG: first memory slice; mixed-size: first framebuffer slot
  span?: number; // MIG and mixed-size: how many of the GPU's slots the instance takes
}

export interface PlanGpu {
  id: string;
  board: string;
  mode: string;
  carved?: string;
  framebuffer_mib?: number;
  framebuffer_used_mib?: number;
  instances: PlanInstance[];
  max_instances?: number;
  slots?: number; // MIG: memory slices; mixed-size: usable framebuffer slots
  reserved_slots?: number; // mixed-size: slots at the end no vGPU may use
}

export interface PlanHost {
  name: string;
  state?: string;
  gpus: PlanGpu[];
}

export interface StrandedGpu {
  host: string;
  gpu: string;
  carved?: string;
  free_instances?: number;
  stranded_mib?: number;
}

export interface Bound {
  board: string;
  gap: number;
  gpus_needed: number;
  gpus_used: number;
}

export interface Rejection {
  vm?: string;
  name?: string;
  type?: string;
  reason?: string;
  reasons?: unknown;
  [key: string]: unknown;
}

export interface DemandPlan {
  hosts: PlanHost[];
  bounds?: Bound[];
  free_by_type?: Record<string, number>;
  stranded?: StrandedGpu[];
  placed?: { vm: string; host: string; gpus?: string[]; types?: string[] }[];
  rejected?: Rejection[];
  unplaced?: Rejection[];
  summary?: Record<string, number>;
  policy?: string;
  from_scratch?: boolean;
}

export interface LicenseEdition {
  edition: string;
  seats: number;
  used: number;
  free: number;
}

export interface LicensePool {
  name: string;
  edition: string;
  seats: number;
  used: number;
}

export interface LicenseSeat {
  pool: string;
  edition: string;
  vm: string;
  leased_at?: string;
  expires_at?: string | null;
  expires_in_seconds?: number | null;
  lease: 'unknown' | 'valid' | 'expiring' | 'expired' | string;
}

export interface Licenses {
  editions: LicenseEdition[];
  pools: LicensePool[];
  seats: LicenseSeat[];
}

export interface TelemetrySample {
  time: string;
  temperature_c?: number | null;
  utilisation_pct?: number | null;
  framebuffer_used_mib?: number | null;
}

export interface GpuReading {
  gpu?: string;
  time?: string;
  temperature_c?: number | null;
  utilisation_pct?: number | null;
  framebuffer_used_mib?: number | null;
  framebuffer_total_mib?: number | null;
  power_w?: number | null;
  xid?: number | null;
  lost?: boolean | null;
}

export interface GpuTelemetry {
  gpu: string;
  board?: string;
  latest?: GpuReading | null;
  samples: TelemetrySample[];
}

export interface FanSample {
  time: string;
  duty_pct: number | null; // only while gpufleet sets the duty (manual control)
  fan_rpm: number | null; // the mean of the fans
  hottest_c: number | null; // the hottest BMC sensor
}

export interface BmcReading {
  automatic?: boolean;
  duty_pct?: number | null;
  fans?: { name: string; rpm: number }[];
  temperatures?: { name: string; celsius: number }[];
  time?: string;
  samples?: FanSample[];
}

export interface HostTelemetry {
  host: string;
  gpus: GpuTelemetry[];
  bmc?: BmcReading | null;
}

export interface FleetEvent {
  seq: number;
  time: string;
  kind: string;
  object?: string;
  actor?: string;
  message?: string;
  data?: unknown;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string;
  next_after?: number;
}
