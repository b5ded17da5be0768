// Live logs of one instance: stdout and stderr apart or merged, follow, search, download.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api, errorText, send } from '../api';
import { readEvents } from '../logstream';
import type { LogLine } from '../types';
import { downloadText } from './ui';

const kMaxLines = 5000;
const kTail = 500;
const kRetrySeconds = 3;

type Stream = 'all' | 'stdout' | 'stderr';

interface Row extends LogLine {
  id: number;
}

function Highlight({ text, term }: { text: string; term: string }) {
  if (!term) return <>{text}</>;
  const lower = text.toLowerCase();
  const parts = [];
  let at = 0;
  for (let i = lower.indexOf(term); i >= 0; i = lower.indexOf(term, i + term.length)) {
    parts.push(text.slice(at, i), <mark key={i}>{text.slice(i, i + term.length)}</mark>);
    at = i + term.length;
  }
  parts.push(text.slice(at));
  return <>{parts}</>;
}

export function LogViewer({
  serviceId,
  instance,
  name,
  live,
}: {
  serviceId: string;
  instance: number;
  name: string;
  // Whether the instance runs; follow is on by default then.
  live: boolean;
}) {
  const [stream, setStream] = useState<Stream>('all');
  const [follow, setFollow] = useState(live);
  const [rows, setRows] = useState<Row[]>([]);
  const [state, setState] = useState<{ status: 'loading' | 'open' | 'done' | 'error'; note: string }>({
    status: 'loading',
    note: '',
  });
  const [search, setSearch] = useState('');
  const [showTime, setShowTime] = useState(true);
  const [attempt, setAttempt] = useState(0);
  const [downloading, setDownloading] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const base = `/api/service/${serviceId}/instance/${instance}/logs`;

  useEffect(() => {
    const abort = new AbortController();
    let pending: Row[] = [];
    let flush = 0;
    let nextId = 0;
    let dropped = 0;
    let retry = 0;
    const push = (l: LogLine) => {
      pending.push({ ...l, id: nextId++ });
      if (!flush) {
        flush = requestAnimationFrame(() => {
          flush = 0;
          const add = pending;
          pending = [];
          setRows((old) => {
            const all = old.concat(add);
            return all.length > kMaxLines ? all.slice(all.length - kMaxLines) : all;
          });
        });
      }
    };
    setRows([]);
    setState({ status: 'loading', note: '' });
    (async () => {
      if (!follow) {
        const r = await api<{ lines: LogLine[]; dropped?: number }>(`${base}?stream=${stream}&tail=${kTail * 2}`, {
          signal: abort.signal,
        });
        setRows(r.lines.map((l, i) => ({ ...l, id: i })));
        setState({ status: 'done', note: r.lines.length ? '' : 'No output yet.' });
        return;
      }
      const res = await send(`${base}?stream=${stream}&tail=${kTail}&follow=true`, { signal: abort.signal });
      setState({ status: 'open', note: '' });
      let ended = 'the log stream closed';
      await readEvents(res, (e) => {
        if (e.kind === 'line') push(e);
        else if (e.kind === 'dropped') {
          dropped += e.count;
          push({ time: '', stream: 'note', line: `… ${e.count} lines skipped (the page read too slowly)` });
        } else ended = e.why;
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
  }, [base, stream, follow, attempt]);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [rows]);

  const term = search.trim().toLowerCase();
  const shown = term ? rows.filter((r) => r.line.toLowerCase().includes(term)) : rows;

  const download = async () => {
    setDownloading(true);
    try {
      const r = await api<{ lines: LogLine[]; dropped?: number }>(`${base}?stream=${stream}&tail=10000`);
      const text = r.lines.map((l) => `${l.time} ${l.stream} ${l.line}`).join('\n') + '\n';
      downloadText(`${name}-${instance}-${stream}.log`, text);
    } catch (e) {
      setState({ status: 'error', note: `Download failed: ${errorText(e)}` });
    } finally {
      setDownloading(false);
    }
  };

  return (
    <section class="card logs">
      <header class="log-head">
        <div class="tabs" role="tablist" aria-label="Log stream">
          {(['all', 'stdout', 'stderr'] as Stream[]).map((s) => (
            <button key={s} type="button" role="tab" aria-selected={stream === s} onClick={() => setStream(s)}>
              {s === 'all' ? 'All' : s}
            </button>
          ))}
        </div>
        <label class="check">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} />
          Follow
          {state.status === 'open' && <span class="live-dot" title="receiving new lines" />}
        </label>
        <label class="check">
          <input type="checkbox" checked={showTime} onChange={(e) => setShowTime(e.currentTarget.checked)} />
          Times
        </label>
        <input
          type="search"
          class="search"
          placeholder="Search"
          aria-label="Search the log"
          value={search}
          onInput={(e) => setSearch(e.currentTarget.value)}
        />
        <button type="button" onClick={download} disabled={downloading}>
          {downloading ? 'Downloading…' : 'Download'}
        </button>
      </header>
      {term && (
        <div class="muted small">
          {shown.length} of {rows.length} lines match
        </div>
      )}
      <div
        class="log-lines"
        ref={box}
        data-testid="log-lines"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {state.status === 'loading' && <div class="muted">Loading the log…</div>}
        {shown.map((r) => (
          <div key={r.id} class={`log-line ${r.stream}`}>
            {showTime && r.time && <span class="time">{r.time.slice(11, 23)}</span>}
            {stream === 'all' && r.stream !== 'note' && <span class="stream">{r.stream === 'stderr' ? 'err' : 'out'}</span>}
            <span class="text">
              <Highlight text={r.line} term={term} />
            </span>
          </div>
        ))}
        {state.status === 'open' && rows.length === 0 && <div class="muted">No output yet; new lines appear here.</div>}
      </div>
      {state.note && (
        <div class={`notice ${state.status === 'error' ? 'error' : 'info'}`} role={state.status === 'error' ? 'alert' : undefined}>
          {state.note}{' '}
          <button type="button" class="small" onClick={() => setAttempt(attempt + 1)}>
            {state.status === 'error' ? 'Try again' : 'Reload'}
          </button>
        </div>
      )}
    </section>
  );
}
