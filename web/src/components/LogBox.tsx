// The dark box a log scrolls in, newest at the bottom: it stays at the bottom while new rows come
// unless the reader scrolled up; below it what the feed has to say, with a way to read again.
import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';
import type { FeedState } from '../logfeed';

export function LogBox({
  state,
  rows,
  again,
  testId,
  children,
}: {
  state: FeedState;
  rows: unknown[];
  again: () => void;
  testId: string;
  children: ComponentChildren;
}) {
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [rows]);
  const error = state.status === 'error';
  return (
    <>
      <div
        class="log-lines"
        ref={box}
        data-testid={testId}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {state.status === 'loading' && <div class="muted">Loading the log…</div>}
        {children}
        {state.status === 'open' && rows.length === 0 && <div class="muted">No output yet; new lines appear here.</div>}
      </div>
      {state.note && (
        <div class={`notice ${error ? 'error' : 'info'}`} role={error ? 'alert' : undefined}>
          {state.note}{' '}
          <button type="button" class="small" onClick={again}>
            {error ? 'Try again' : 'Reload'}
          </button>
        </div>
      )}
    </>
  );
}

// The Follow checkbox, with a pulsing dot while new rows can come.
export function FollowToggle({ follow, setFollow, state }: { follow: boolean; setFollow: (on: boolean) => void; state: FeedState }) {
  return (
    <label class="check">
      <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} />
      Follow
      {state.status === 'open' && <span class="live-dot" title="receiving new lines" />}
    </label>
  );
}
