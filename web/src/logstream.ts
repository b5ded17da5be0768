// Reads a Server-Sent Events body (the log follow) from a fetch Response; EventSource cannot send
// the Authorization header. Instances' logs send lines, the control-plane log sends records.
import type { ControlRecord } from './types';

export type LogEvent =
  | { kind: 'line'; time: string; stream: string; line: string }
  | ({ kind: 'record' } & ControlRecord)
  | { kind: 'dropped'; count: number }
  | { kind: 'end'; why: string };

// Turns one event's data into a LogEvent; null for anything else.
export function parseEventData(data: string): LogEvent | null {
  try {
    return toEvent(JSON.parse(data));
  } catch {
    return null;
  }
}

// One line or record as the API sends it (an event's data, or an item of `lines`) as a LogEvent.
export function toEvent(v: unknown): LogEvent | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const str = (k: string) => String(o[k] ?? '');
  if (typeof o.line === 'string') return { kind: 'line', time: str('time'), stream: str('stream'), line: o.line };
  if (typeof o.msg === 'string') {
    const r = { time: str('time'), level: str('level'), component: str('component'), node: str('node'), cluster: str('cluster') };
    return { kind: 'record', ...r, msg: o.msg };
  }
  if (typeof o.dropped === 'number') return { kind: 'dropped', count: o.dropped };
  if (typeof o.end === 'string') return { kind: 'end', why: o.end };
  return null;
}

// Splits a growing text buffer into complete events; returns the data of each and the rest.
export function splitEvents(buffer: string): { events: string[]; rest: string } {
  const events: string[] = [];
  const normalized = buffer.replace(/\r\n/g, '\n');
  const parts = normalized.split('\n\n');
  const rest = parts.pop() ?? '';
  for (const part of parts) {
    const data = part
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data) events.push(data);
  }
  return { events, rest };
}

export async function readEvents(res: Response, onEvent: (e: LogEvent) => void): Promise<void> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    const { events, rest } = splitEvents(buffer);
    buffer = rest;
    for (const data of events) {
      const e = parseEventData(data);
      if (e) onEvent(e);
    }
  }
}
