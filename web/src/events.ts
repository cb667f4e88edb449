// The live event stream. Browsers' EventSource cannot send an Authorization header and the token
// must never be in a URL, so the stream is read with fetch() and parsed here (the SSE format of
// the HTML standard: "field: value" lines, a blank line ends an event, ":" lines are comments).
// One stream serves the whole app: the Events page shows its buffer, other pages refresh early
// when an event of their kind arrives. On a dropped connection it reconnects with back-off
// (1 s doubling to 30 s, or the server's retry:) and resumes with Last-Event-ID.
import { api, authHeaders, getToken, signalUnauthorized } from './api';
import type { FleetEvent, Page } from './types';

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

// Incremental parser: feed() text as it arrives; complete messages go to onMessage.
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  private sawField = false;
  private skipLineFeed = false;

  constructor(
    private readonly onMessage: (m: SseMessage) => void,
    private readonly onRetry: (ms: number) => void = () => {},
  ) {}

  feed(chunk: string): void {
    // A \r ending the previous chunk already ended its line; a \n opening this one belongs to it.
    if (this.skipLineFeed && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.skipLineFeed = false;
    this.buffer += chunk;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      const line = this.buffer.slice(0, match.index);
      const end = match.index + match[0].length;
      if (match[0] === '\r' && end === this.buffer.length) this.skipLineFeed = true;
      this.buffer = this.buffer.slice(end);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.sawField && this.data.length > 0) {
        this.onMessage({ id: this.id, event: this.event || 'message', data: this.data.join('\n') });
      }
      this.data = [];
      this.event = '';
      this.id = undefined;
      this.sawField = false;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.sawField = true;
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.onRetry(Number(value));
  }
}

export type StreamState = 'idle' | 'connecting' | 'live' | 'reconnecting';

const BUFFER = 500;
const HISTORY = 200;

let events: FleetEvent[] = [];
let state: StreamState = 'idle';
let lastSeq = 0;
let abort: AbortController | undefined;
let retryTimer: number | undefined;
let backoffMs = 1000;
let serverRetryMs: number | undefined;
let lastError = '';
const listeners = new Set<() => void>();
const changeListeners = new Set<{ prefixes: string[]; fn: (e: FleetEvent) => void }>();

function notify(): void {
  for (const fn of listeners) fn();
}

export function streamSnapshot(): { events: FleetEvent[]; state: StreamState; error: string } {
  return { events, state, error: lastError };
}

export function subscribeStream(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// fn runs for every new event whose kind starts with one of prefixes ("" = every event).
export function subscribeChanges(prefixes: string[], fn: (e: FleetEvent) => void): () => void {
  const entry = { prefixes, fn };
  changeListeners.add(entry);
  return () => changeListeners.delete(entry);
}

function add(batch: FleetEvent[], live: boolean): void {
  const fresh = batch.filter((e) => e.seq > lastSeq);
  if (fresh.length === 0) return;
  lastSeq = fresh[fresh.length - 1].seq;
  events = events.concat(fresh).slice(-BUFFER);
  if (live) {
    for (const e of fresh) {
      for (const l of changeListeners) {
        if (l.prefixes.some((p) => e.kind.startsWith(p))) l.fn(e);
      }
    }
  }
  notify();
}

function setState(next: StreamState, error = ''): void {
  state = next;
  lastError = error;
  notify();
}

async function eventsAfter(after: number, limit: number, signal: AbortSignal): Promise<Page<FleetEvent>> {
  return api.get<Page<FleetEvent>>(`/events?after=${after}&limit=${limit}`, { signal });
}

// The newest event's seq: GET /events lists oldest first, so find the largest cursor that still
// returns an event (exponential probe, then bisection; a few tiny requests even for large logs).
async function newestSeq(signal: AbortSignal): Promise<number> {
  const first = await eventsAfter(0, 1000, signal);
  if (first.items.length < 1000) return first.items.at(-1)?.seq ?? 0;
  // P(x): an event with seq > x exists. P(low) holds, P(high) does not; the newest is low + 1.
  let low = first.items[first.items.length - 1].seq - 1;
  let high = (low + 1) * 4;
  while ((await eventsAfter(high, 1, signal)).items.length > 0) {
    low = high;
    high *= 4;
  }
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if ((await eventsAfter(mid, 1, signal)).items.length > 0) low = mid;
    else high = mid;
  }
  return low + 1;
}

async function loadHistory(signal: AbortSignal): Promise<void> {
  const newest = await newestSeq(signal);
  const page = await eventsAfter(Math.max(0, newest - HISTORY), HISTORY, signal);
  add(page.items, false);
  if (lastSeq === 0) lastSeq = newest;
}

async function run(controller: AbortController): Promise<void> {
  const signal = controller.signal;
  try {
    if (lastSeq === 0 && events.length === 0) await loadHistory(signal);
    const headers = authHeaders({ Accept: 'text/event-stream' });
    if (lastSeq > 0) headers['Last-Event-ID'] = String(lastSeq);
    const response = await fetch(`/api/v1/events/stream${lastSeq > 0 ? '' : '?after=0'}`, {
      headers,
      cache: 'no-store',
      credentials: 'omit',
      signal,
    });
    if (response.status === 401) {
      signalUnauthorized();
      return;
    }
    if (!response.ok || !response.body) throw new Error(`event stream: HTTP ${response.status}`);
    setState('live');
    const parser = new SseParser(
      (m) => {
        try {
          const e = JSON.parse(m.data) as FleetEvent;
          if (typeof e.seq !== 'number' && m.id) e.seq = Number(m.id);
          if (!e.kind) e.kind = m.event;
          backoffMs = 1000;
          add([e], true);
        } catch {
          // Not an event object (a keep-alive or a future message kind): ignore it.
        }
      },
      (ms) => (serverRetryMs = ms),
    );
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(value);
    }
    throw new Error('the controller closed the event stream');
  } catch (e) {
    if (signal.aborted) return;
    const message = e instanceof Error ? e.message : String(e);
    setState('reconnecting', message);
    const delay = serverRetryMs ?? backoffMs;
    backoffMs = Math.min(backoffMs * 2, 30000);
    retryTimer = window.setTimeout(() => {
      if (abort === controller && getToken()) void run(controller);
    }, delay);
  }
}

export function startStream(): void {
  if (abort) return;
  abort = new AbortController();
  setState('connecting');
  void run(abort);
}

export function stopStream(): void {
  abort?.abort();
  abort = undefined;
  clearTimeout(retryTimer);
  events = [];
  lastSeq = 0;
  backoffMs = 1000;
  serverRetryMs = undefined;
  setState('idle');
}
