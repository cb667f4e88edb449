// The one door to the controller: every request carries the session's bearer token in the
// Authorization header (never in the URL), errors become ApiError with the API's own message,
// and a 401 ends the session so the app returns to the login page.

const TOKEN_KEY = 'gpufleet.token';
const BASE = '/api/v1';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

let token: string | null = readStoredToken();
const unauthorizedListeners = new Set<() => void>();
// Server time minus browser time, from the Date header, so ages do not depend on the browser clock.
let skewMs = 0;

function readStoredToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  return token;
}

export function setToken(value: string | null): void {
  token = value;
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the token lives for this page only.
  }
}

export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export function signalUnauthorized(): void {
  setToken(null);
  for (const listener of unauthorizedListeners) listener();
}

export function serverNow(): number {
  return Date.now() + skewMs;
}

export function authHeaders(extra?: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = { Accept: 'application/json', ...extra };
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

export interface RequestOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
  // Do not end the session on 401 (the login form checks a token that is not yet the session's).
  keepSessionOn401?: boolean;
  tokenOverride?: string;
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  options: RequestOptions = {},
): Promise<T> {
  const headers = authHeaders(options.headers);
  if (options.tokenOverride) headers.Authorization = `Bearer ${options.tokenOverride}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      signal: options.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'UNAVAILABLE', 'cannot reach the controller: ' + String(e));
  }
  const date = response.headers.get('Date');
  if (date) {
    const t = Date.parse(date);
    if (!Number.isNaN(t)) skewMs = t - Date.now();
  }
  if (response.status === 401 && !options.keepSessionOn401) signalUnauthorized();
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (!response.ok) {
    const err = (json ?? {}) as { code?: string; message?: string; field?: string };
    const message = err.message || text.trim() || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, err.code || `HTTP_${response.status}`, message, err.field);
  }
  return json as T;
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, undefined, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>('POST', path, body ?? {}, options),
  del: (path: string, options?: RequestOptions) => request<void>('DELETE', path, undefined, options),
};

export function enc(segment: string): string {
  return encodeURIComponent(segment);
}

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) {
    return e.field ? `${e.message} (field: ${e.field})` : e.message;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}

export function isNotFoundRoute(e: unknown): boolean {
  // A route the controller does not have yet answers 404 (or 405) without naming an object.
  return e instanceof ApiError && (e.status === 404 || e.status === 405) && /no route/i.test(e.message);
}
