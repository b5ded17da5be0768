// The root's REST API as the dashboard uses it: bearer tokens with one transparent refresh, and
// every failure turned into an ApiError whose text can be shown as it is.
import { signal } from '@preact/signals';
import { session, expireSession, updateAccessToken } from './session';

// False after a request could not reach the server at all; true again on the next answer.
export const apiReachable = signal(true);

// "<field path>: <what>", the path in dots and [index] ("applications[0].microservices[1].memory").
const segment = String.raw`[A-Za-z_][\w$]*(?:\[\d+\])*`;
const fieldMessage = new RegExp(String.raw`^(\(root\)|${segment}(?:\.${segment})*): ([\s\S]*)$`);

export class ApiError extends Error {
  // HTTP status; 0 when the server could not be reached.
  readonly status: number;
  // The field the server named ("applications[0].application_name"), if any.
  readonly field: string;
  // What is wrong with it (the whole message when no field is named).
  readonly detail: string;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
    const m = fieldMessage.exec(message);
    this.field = m ? m[1] : '';
    this.detail = m ? m[2] : message;
  }
}

// The text of anything thrown, never "[object Object]".
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

function unreachable(): ApiError {
  return new ApiError(
    0,
    `Cannot reach the Oakestra API at ${location.origin}. Is \`oakestra root\` running?`,
  );
}

async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let message = '';
  try {
    const body = JSON.parse(text);
    if (body && typeof body.message === 'string') message = body.message;
  } catch {
    // not JSON: a proxy's page, for example
  }
  if (!message) {
    message = `${res.status} ${res.statusText || 'error'}` + (text ? `: ${text.slice(0, 200)}` : '');
  }
  return new ApiError(res.status, message);
}

let refreshing: Promise<boolean> | null = null;

// Exchanges the refresh token for a new access token; false when the session is over.
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    const rt = session.value?.refreshToken;
    if (!rt) return false;
    try {
      const res = await fetch('/api/auth/refresh', {
        method: 'POST',
        headers: { Authorization: `Bearer ${rt}` },
      });
      apiReachable.value = true;
      if (!res.ok) return false;
      const body = await res.json();
      updateAccessToken(body.token);
      return true;
    } catch {
      apiReachable.value = false;
      throw unreachable();
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function expiresSoon(exp: number | undefined): boolean {
  return exp !== undefined && exp * 1000 - Date.now() < 15_000;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  // Answer with the raw Response (streams) instead of parsed JSON.
  raw?: boolean;
}

// Sends a request with the session's token; refreshes it once when it has expired.
export async function send(path: string, opts: RequestOptions = {}): Promise<Response> {
  if (session.value && expiresSoon(session.value.claims.exp)) await refreshSession();
  for (let attempt = 0; ; attempt++) {
    const headers: Record<string, string> = {};
    const token = session.value?.token;
    if (token) headers.Authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, {
        method: opts.method ?? 'GET',
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
      });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      apiReachable.value = false;
      throw unreachable();
    }
    apiReachable.value = true;
    if (res.status === 401 && token && attempt === 0) {
      if (await refreshSession()) continue;
      expireSession();
      throw new ApiError(401, 'Your session has expired. Please log in again.');
    }
    if (!res.ok) throw await errorFrom(res);
    return res;
  }
}

export async function api<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await send(path, opts);
  const text = await res.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, `The server answered ${path} with something that is not JSON`);
  }
}
