// Shared building blocks: sections, error and empty states, badges, meters, buttons.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage } from '../api';
import { num } from '../format';

export function PageHeader(props: { title: string; children?: ComponentChildren; subtitle?: string }) {
  return (
    <header class="page-header">
      <div>
        <h1>{props.title}</h1>
        {props.subtitle && <p class="muted">{props.subtitle}</p>}
      </div>
      {props.children && <div class="page-actions">{props.children}</div>}
    </header>
  );
}

export function Section(props: {
  title: string;
  children: ComponentChildren;
  actions?: ComponentChildren;
  id?: string;
  // Scroll the section into view when it appears (a panel opened from a row further down).
  reveal?: boolean;
}) {
  const headingId = props.id ? `${props.id}-title` : undefined;
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    if (props.reveal) ref.current?.scrollIntoView({ block: 'nearest' });
  }, []);
  return (
    <section class="card" aria-labelledby={headingId} id={props.id} ref={ref}>
      <div class="card-head">
        <h2 id={headingId}>{props.title}</h2>
        {props.actions && <div class="card-actions">{props.actions}</div>}
      </div>
      {props.children}
    </section>
  );
}

export function ErrorBox(props: { error: unknown; title?: string }) {
  if (!props.error) return null;
  return (
    <div class="alert alert-error" role="alert">
      {props.title && <strong>{props.title}: </strong>}
      {errorMessage(props.error)}
    </div>
  );
}

export function Notice(props: { kind?: 'info' | 'ok' | 'warn'; children: ComponentChildren }) {
  return (
    <div class={`alert alert-${props.kind ?? 'info'}`} role="status">
      {props.children}
    </div>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}

export function Loading(props: { what?: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> Loading{props.what ? ` ${props.what}` : ''}…
    </p>
  );
}

// Loading / error / data in one: the error of a refresh keeps showing the last data below it.
export function Loadable<T>(props: {
  data: T | undefined;
  error: unknown;
  what?: string;
  children: (data: T) => ComponentChildren;
}) {
  return (
    <>
      <ErrorBox error={props.error} />
      {props.data === undefined ? (props.error ? null : <Loading what={props.what} />) : props.children(props.data)}
    </>
  );
}

const STATE_CLASS: Record<string, string> = {
  ready: 'ok', running: 'info', succeeded: 'ok', done: 'ok', valid: 'ok',
  maintenance: 'warn', pending: 'muted', expiring: 'warn', 'rolled-back': 'warn', cancelled: 'muted',
  down: 'bad', failed: 'bad', expired: 'bad', unlicensed: 'bad', unknown: 'muted',
};

export function StateBadge(props: { state: string | undefined; label?: string }) {
  const state = props.state || 'unknown';
  return <span class={`badge badge-${STATE_CLASS[state] ?? 'muted'}`}>{props.label ?? state}</span>;
}

export function tempLevel(c: number | null | undefined): 'cool' | 'warm' | 'hot' | 'none' {
  if (c === null || c === undefined) return 'none';
  if (c >= 85) return 'hot';
  if (c >= 70) return 'warm';
  return 'cool';
}

export function TempBadge(props: { celsius: number | null | undefined }) {
  const level = tempLevel(props.celsius);
  const text = props.celsius === null || props.celsius === undefined ? 'no reading' : `${num(props.celsius, 0)} °C`;
  return (
    <span class={`temp temp-${level}`} title="GPU temperature" aria-label={`temperature ${text}`}>
      <span aria-hidden="true" class="temp-dot" />
      {text}
    </span>
  );
}

export function Meter(props: { value: number; max: number; label: string; warnAt?: number }) {
  const fraction = props.max > 0 ? Math.min(1, props.value / props.max) : 0;
  const warn = fraction >= (props.warnAt ?? 0.9);
  return (
    <div
      class={`meter${warn ? ' meter-warn' : ''}`}
      role="meter"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={props.max}
      aria-valuenow={props.value}
    >
      <div class="meter-fill" style={{ width: `${fraction * 100}%` }} />
    </div>
  );
}

export function Progress(props: { done: number; total: number; label: string }) {
  const fraction = props.total > 0 ? Math.min(1, props.done / props.total) : 0;
  return (
    <div
      class="progress"
      role="progressbar"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={props.total}
      aria-valuenow={props.done}
    >
      <div class="progress-fill" style={{ width: `${fraction * 100}%` }} />
    </div>
  );
}

// A destructive action asks once more in place; both buttons say what they do.
export function ConfirmButton(props: {
  label: string;
  confirmLabel: string;
  onConfirm: () => void | Promise<void>;
  disabled?: boolean;
  danger?: boolean;
  primary?: boolean;
  ariaLabel?: string;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button
        type="button"
        class={props.danger ? 'btn btn-danger-outline' : props.primary ? 'btn btn-primary' : 'btn'}
        data-action="true"
        disabled={props.disabled}
        aria-label={props.ariaLabel}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </button>
    );
  }
  return (
    <span class="confirm">
      <button
        type="button"
        class={props.danger ? 'btn btn-danger' : 'btn btn-primary'}
        data-action="true"
        onClick={async () => {
          setAsking(false);
          await props.onConfirm();
        }}
      >
        {props.confirmLabel}
      </button>
      <button type="button" class="btn btn-ghost" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

export function Field(props: { label: string; id: string; hint?: string; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint && <small class="muted" id={`${props.id}-hint`}>{props.hint}</small>}
    </div>
  );
}
