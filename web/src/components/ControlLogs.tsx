// What the root, the clusters and their workers logged (GET /api/logs, Admins only), filtered by
// component and lowest level, read once or followed; newest at the bottom.
import { useState } from 'preact/hooks';
import { components, controlLogPath, levels } from '../infra';
import { useLogFeed } from '../logfeed';
import type { ControlRecord } from '../types';
import { FollowToggle, LogBox } from './LogBox';

const kMaxRecords = 2000;
const kTail = 300;

export function ControlLogs() {
  const [component, setComponent] = useState('');
  const [level, setLevel] = useState('info');
  const [follow, setFollow] = useState(true);
  const { rows, state, again } = useLogFeed<ControlRecord>({
    path: controlLogPath({ component, level }, follow ? kTail : kMaxRecords, follow),
    follow,
    max: kMaxRecords,
    row: (e) => (e.kind === 'record' ? e : null),
    skipped: (n) => ({ time: '', level: 'note', component: '', node: '', cluster: '', msg: `… ${n} records skipped` }),
    empty: 'No records match.',
  });
  return (
    <section class="card logs control-logs">
      <header class="log-head">
        <h2>Control-plane logs</h2>
        <label class="check">
          Component
          <select value={component} onChange={(e) => setComponent(e.currentTarget.value)} aria-label="Component">
            <option value="">all</option>
            {components.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
        <label class="check">
          Level
          <select value={level} onChange={(e) => setLevel(e.currentTarget.value)} aria-label="Lowest level">
            {levels.map((l) => (
              <option key={l}>{l}</option>
            ))}
          </select>
        </label>
        <FollowToggle follow={follow} setFollow={setFollow} state={state} />
      </header>
      <LogBox state={state} rows={rows} again={again} testId="control-log-lines">
        {rows.map((r) => (
          <div key={r.id} class={`log-line ${r.level === 'note' ? 'note' : `lvl-${r.level}`}`}>
            {r.time && <span class="time">{r.time.slice(11, 23)}</span>}
            {r.level !== 'note' && (
              <span class="stream">
                {r.level.padEnd(5)} {r.component === 'root' ? 'root' : `${r.component} ${r.node}${r.cluster && r.cluster !== r.node ? `@${r.cluster}` : ''}`}
              </span>
            )}
            <span class="text">{r.msg}</span>
          </div>
        ))}
      </LogBox>
    </section>
  );
}
