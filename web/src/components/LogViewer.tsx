// Live logs of one instance: stdout and stderr apart or merged, follow, search, download.
import { useState } from 'preact/hooks';
import { api, errorText } from '../api';
import { useLogFeed } from '../logfeed';
import type { LogLine } from '../types';
import { FollowToggle, LogBox } from './LogBox';
import { downloadText } from './ui';

const kMaxLines = 5000;
const kTail = 500;

type Stream = 'all' | 'stdout' | 'stderr';

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
  const [search, setSearch] = useState('');
  const [showTime, setShowTime] = useState(true);
  const [downloading, setDownloading] = useState(false);
  const [downloadError, setDownloadError] = useState('');
  const base = `/api/service/${serviceId}/instance/${instance}/logs`;
  const { rows, state, again } = useLogFeed<LogLine>({
    path: `${base}?stream=${stream}&tail=${follow ? kTail : kTail * 2}${follow ? '&follow=true' : ''}`,
    follow,
    max: kMaxLines,
    row: (e) => (e.kind === 'line' ? { time: e.time, stream: e.stream, line: e.line } : null),
    skipped: (n) => ({ time: '', stream: 'note', line: `… ${n} lines skipped (the page read too slowly)` }),
    empty: 'No output yet.',
  });

  const term = search.trim().toLowerCase();
  const shown = term ? rows.filter((r) => r.line.toLowerCase().includes(term)) : rows;

  const download = async () => {
    setDownloading(true);
    setDownloadError('');
    try {
      const r = await api<{ lines: LogLine[]; dropped?: number }>(`${base}?stream=${stream}&tail=10000`);
      const text = r.lines.map((l) => `${l.time} ${l.stream} ${l.line}`).join('\n') + '\n';
      downloadText(`${name}-${instance}-${stream}.log`, text);
    } catch (e) {
      setDownloadError(`Download failed: ${errorText(e)}`);
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
        <FollowToggle follow={follow} setFollow={setFollow} state={state} />
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
      <LogBox state={state} rows={rows} again={again} testId="log-lines">
        {shown.map((r) => (
          <div key={r.id} class={`log-line ${r.stream}`}>
            {showTime && r.time && <span class="time">{r.time.slice(11, 23)}</span>}
            {stream === 'all' && r.stream !== 'note' && <span class="stream">{r.stream === 'stderr' ? 'err' : 'out'}</span>}
            <span class="text">
              <Highlight text={r.line} term={term} />
            </span>
          </div>
        ))}
      </LogBox>
      {downloadError && (
        <div class="notice error" role="alert">
          {downloadError}
        </div>
      )}
    </section>
  );
}
