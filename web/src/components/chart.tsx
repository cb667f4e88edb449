// A small SVG line chart of one series over a time window (no library: the dashboard needs a
// line, two axes and a label). Gaps (null values) break the line.
import { num } from '../format';

export interface Point {
  t: number; // ms since epoch
  v: number | null | undefined;
}

const W = 320;
const H = 120;
const PAD = { left: 34, right: 8, top: 8, bottom: 18 };

export function LineChart(props: {
  title: string;
  unit: string;
  points: Point[];
  windowMs: number;
  now: number;
  min?: number;
  max?: number;
  tone?: 'temp' | 'util' | 'fan';
}) {
  const values = props.points.map((p) => p.v).filter((v): v is number => typeof v === 'number');
  const latest = [...props.points].reverse().find((p) => typeof p.v === 'number')?.v ?? null;
  let lo = props.min ?? (values.length ? Math.min(...values) : 0);
  let hi = props.max ?? (values.length ? Math.max(...values) : 1);
  if (props.min === undefined) lo = Math.floor(lo - 2);
  if (props.max === undefined) hi = Math.ceil(hi + 2);
  if (hi <= lo) hi = lo + 1;
  const start = props.now - props.windowMs;
  const x = (t: number) => PAD.left + ((t - start) / props.windowMs) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - (v - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);

  const segments: string[] = [];
  let current: string[] = [];
  for (const p of props.points) {
    if (typeof p.v !== 'number' || p.t < start) {
      if (current.length) segments.push(current.join(' '));
      current = [];
      continue;
    }
    current.push(`${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
  }
  if (current.length) segments.push(current.join(' '));

  const summary = values.length
    ? `${props.title}: latest ${num(latest, 1)}${props.unit}, range ${num(Math.min(...values), 1)} to ${num(Math.max(...values), 1)}${props.unit} over the last ${Math.round(props.windowMs / 60000)} minutes`
    : `${props.title}: no readings yet`;
  return (
    <figure class={`chart chart-${props.tone ?? 'util'}`}>
      <figcaption>
        <span>{props.title}</span>
        <strong>{latest === null ? '–' : `${num(latest, props.unit === ' %' ? 0 : 1)}${props.unit}`}</strong>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary} preserveAspectRatio="none">
        <line class="axis" x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} />
        <line class="grid" x1={PAD.left} y1={PAD.top} x2={W - PAD.right} y2={PAD.top} />
        <line class="grid" x1={PAD.left} y1={(PAD.top + H - PAD.bottom) / 2} x2={W - PAD.right} y2={(PAD.top + H - PAD.bottom) / 2} />
        <text class="tick" x={PAD.left - 4} y={PAD.top + 4} text-anchor="end">{num(hi, 0)}</text>
        <text class="tick" x={PAD.left - 4} y={H - PAD.bottom} text-anchor="end">{num(lo, 0)}</text>
        <text class="tick" x={PAD.left} y={H - 4}>-{Math.round(props.windowMs / 60000)} min</text>
        <text class="tick" x={W - PAD.right} y={H - 4} text-anchor="end">now</text>
        {segments.map((s, i) =>
          s.includes(' ') ? (
            <polyline key={i} class="series" points={s} />
          ) : (
            <circle key={i} class="series-dot" cx={s.split(',')[0]} cy={s.split(',')[1]} r="2" />
          ),
        )}
      </svg>
    </figure>
  );
}
