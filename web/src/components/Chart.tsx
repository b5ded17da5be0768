// A small line chart of samples taken while the page is open.

export interface Sample {
  t: number; // ms since epoch
  v: number;
}

export function Chart({ title, unit, samples, max }: { title: string; unit: string; samples: Sample[]; max?: number }) {
  const w = 320;
  const h = 90;
  const last = samples.at(-1)?.v;
  const peak = Math.max(0, ...samples.map((s) => s.v));
  // The scale: the limit when there is one (100 %, the memory asked for), else the peak.
  const top = Math.max(max ?? 0, peak, 1);
  const t0 = samples[0]?.t ?? 0;
  const span = Math.max((samples.at(-1)?.t ?? 0) - t0, 1);
  const points = samples.map((s) => `${((s.t - t0) / span) * w},${h - (s.v / top) * (h - 4) - 2}`).join(' ');
  return (
    <figure class="chart">
      <figcaption>
        {title}: <b>{last === undefined ? '—' : `${last.toFixed(1)} ${unit}`}</b>
        {samples.length > 1 && <span class="muted small"> (peak {peak.toFixed(1)})</span>}
      </figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none" role="img" aria-label={`${title} over time`}>
        <line x1="0" y1={h - 1} x2={w} y2={h - 1} class="axis" />
        {samples.length > 1 && <polyline points={points} class="series" />}
      </svg>
      {samples.length < 2 && <div class="muted small">Collecting samples while this page is open…</div>}
    </figure>
  );
}
