// Reading a log once or following it, shared by an instance's log and the control-plane log: the
// rows kept are bounded, a follow's rows are added once per animation frame (a busy log would
// otherwise render per line), and a broken follow tries again by itself.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorText, send } from './api';
import { readEvents, toEvent, type LogEvent } from './logstream';

const kRetrySeconds = 3;

export interface FeedState {
  status: 'loading' | 'open' | 'done' | 'error';
  note: string;
}

export type Row<R> = R & { id: number };

// `old` followed by `add`, of which at most the newest `max`.
export function appendBounded<T>(old: T[], add: T[], max: number): T[] {
  const all = old.concat(add);
  return all.length > max ? all.slice(all.length - max) : all;
}

export interface FeedOptions<R> {
  // The log with its query: read once as {"lines": [...]}, or followed as an event stream.
  path: string;
  follow: boolean;
  max: number;
  // A line or record as a row; null leaves it out.
  row: (e: LogEvent) => R | null;
  // The row that says `count` lines were lost.
  skipped: (count: number) => R;
  // Said when a read finds nothing.
  empty: string;
}

export function useLogFeed<R>(o: FeedOptions<R>): { rows: Row<R>[]; state: FeedState; again: () => void } {
  const [rows, setRows] = useState<Row<R>[]>([]);
  const [state, setState] = useState<FeedState>({ status: 'loading', note: '' });
  const [attempt, setAttempt] = useState(0);
  const convert = useRef(o);
  convert.current = o;
  const { path, follow, max, empty } = o;

  useEffect(() => {
    const abort = new AbortController();
    let pending: Row<R>[] = [];
    let flush = 0;
    let nextId = 0;
    let dropped = 0;
    let retry = 0;
    const push = (r: R | null) => {
      if (r === null) return;
      pending.push({ ...r, id: nextId++ });
      flush ||= requestAnimationFrame(() => {
        flush = 0;
        const add = pending;
        pending = [];
        setRows((old) => appendBounded(old, add, max));
      });
    };
    setRows([]);
    setState({ status: 'loading', note: '' });
    (async () => {
      if (!follow) {
        const r = await api<{ lines?: unknown[] }>(path, { signal: abort.signal });
        const all = (r?.lines ?? []).map((l) => toEvent(l)).map((e) => (e ? convert.current.row(e) : null));
        const kept = all.filter((x): x is R => x !== null).map((x, id) => ({ ...x, id }));
        setRows(kept.slice(-max));
        setState({ status: 'done', note: kept.length ? '' : empty });
        return;
      }
      const res = await send(path, { signal: abort.signal });
      setState({ status: 'open', note: '' });
      let ended = 'the log stream closed';
      await readEvents(res, (e) => {
        if (e.kind === 'dropped') {
          dropped += e.count;
          push(convert.current.skipped(e.count));
        } else if (e.kind === 'end') ended = e.why;
        else push(convert.current.row(e));
      });
      setState({ status: 'done', note: `Following stopped: ${ended}.` + (dropped ? ` ${dropped} lines were skipped.` : '') });
    })().catch((e) => {
      if (abort.signal.aborted) return;
      // A follow tries again by itself: the cluster or worker may be back in a moment.
      setState({ status: 'error', note: errorText(e) + (follow ? ` (trying again in ${kRetrySeconds} s)` : '') });
      if (follow) retry = window.setTimeout(() => setAttempt((n) => n + 1), kRetrySeconds * 1000);
    });
    return () => {
      abort.abort();
      clearTimeout(retry);
      if (flush) cancelAnimationFrame(flush);
    };
  }, [path, follow, max, empty, attempt]);

  return { rows, state, again: () => setAttempt((n) => n + 1) };
}
