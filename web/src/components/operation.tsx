// Watches one durable operation (GET /api/v1/operations/{id}) until it ends: state, progress and
// steps, refreshed every second while it runs.
import { useEffect, useState } from 'preact/hooks';
import { api, enc } from '../api';
import { clock, describe } from '../format';
import type { Operation } from '../types';
import { ErrorBox, Progress, StateBadge } from './ui';

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export function OperationWatch(props: { id: string; onDone?: (op: Operation) => void }) {
  const [op, setOp] = useState<Operation | undefined>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const controller = new AbortController();
    const tick = async () => {
      try {
        const next = await api.get<Operation>(`/operations/${enc(props.id)}`, { signal: controller.signal });
        if (stopped) return;
        setOp(next);
        setError(undefined);
        if (TERMINAL.has(next.state)) {
          props.onDone?.(next);
          return;
        }
      } catch (e) {
        if (stopped || controller.signal.aborted) return;
        setError(e);
      }
      timer = window.setTimeout(tick, 1000);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
      controller.abort();
    };
  }, [props.id]);

  if (!op) return error ? <ErrorBox error={error} /> : <p class="muted">Starting operation {props.id}…</p>;
  const done = op.progress?.done ?? 0;
  const total = op.progress?.total ?? 0;
  return (
    <div class="op" data-op-state={op.state} aria-live="polite">
      <div class="op-head">
        <StateBadge state={op.state} />
        <strong>{op.kind}</strong>
        <span>{op.target}</span>
        <code class="muted">{op.id}</code>
        <span class="op-count">{total > 0 ? `${done} / ${total} steps` : ''}</span>
      </div>
      <Progress done={TERMINAL.has(op.state) && op.state === 'succeeded' ? total || 1 : done} total={total || 1} label={`${op.kind} ${op.target ?? ''} progress`} />
      {op.error && <div class="alert alert-error" role="alert">{op.error}</div>}
      <ErrorBox error={error} />
      {op.steps && op.steps.length > 0 && (
        <ol class="steps">
          {op.steps.map((s, i) => (
            <li key={i} class={`step step-${s.state ?? 'pending'}`}>
              <StateBadge state={s.state ?? 'pending'} />
              <span class="step-kind">{s.kind}</span>
              <span class="muted step-detail">{stepDetail(s.detail)}</span>
              <span class="muted">{s.updated_at ? clock(s.updated_at) : ''}</span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

function stepDetail(detail: Record<string, unknown> | null | undefined): string {
  if (!detail) return '';
  const d = detail as Record<string, unknown>;
  if (typeof d.vm === 'string') {
    const to = d.to as { host?: string } | string | undefined;
    const toHost = typeof to === 'string' ? to : to?.host;
    const stun = typeof d.stun_seconds === 'number' ? `, stun ~${d.stun_seconds.toFixed(1)} s` : '';
    return `${d.vm}${d.from ? ` ${d.from}` : ''}${toHost ? ` → ${toHost}` : ''}${stun}`;
  }
  if (typeof d.host === 'string') return d.host;
  return describe(d);
}
