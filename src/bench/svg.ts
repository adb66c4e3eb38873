/**
 * Minimal SVG line charts for the bench output (no dependencies): latency
 * distributions (CDF, log-scaled time axis) and sync time against inodes.
 */

export interface Series {
  readonly name: string;
  /** [x, y] in data units, ascending x. */
  readonly points: readonly (readonly [number, number])[];
  readonly color: string;
  readonly dashed?: boolean;
}

export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly logX?: boolean;
}

const W = 720;
const H = 420;
const M = { left: 70, right: 190, top: 40, bottom: 50 };
const TICKS = 5;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function num(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(1).replace(/\.0$/, '') : v.toPrecision(2);
}

/** The scale of an axis: data → pixel, and its tick values. */
function axis(lo: number, hi: number, log: boolean, p0: number, p1: number): { at: (v: number) => number; ticks: number[] } {
  const f = (v: number): number => (log ? Math.log10(Math.max(v, 1e-9)) : v);
  const a = f(lo);
  const b = f(hi) === a ? a + 1 : f(hi);
  const at = (v: number): number => p0 + ((f(v) - a) / (b - a)) * (p1 - p0);
  const ticks = log
    ? Array.from({ length: Math.floor(b) - Math.ceil(a) + 1 }, (_, k) => 10 ** (Math.ceil(a) + k))
    : Array.from({ length: TICKS + 1 }, (_, k) => lo + ((hi - lo) * k) / TICKS);
  return { at, ticks };
}

export function lineChart(c: Chart): string {
  const pts = c.series.flatMap((s) => s.points);
  const xs = pts.map((p) => p[0]).filter((x) => !c.logX || x > 0);
  const ys = pts.map((p) => p[1]);
  const x = axis(xs.length > 0 ? Math.min(...xs) : 0, xs.length > 0 ? Math.max(...xs) : 1, c.logX === true, M.left, W - M.right);
  const y = axis(0, ys.length > 0 ? Math.max(...ys) : 1, false, H - M.bottom, M.top);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`];
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(c.title)}</text>`);
  for (const t of x.ticks) out.push(`<line x1="${x.at(t)}" x2="${x.at(t)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#ddd"/><text x="${x.at(t)}" y="${H - M.bottom + 16}" text-anchor="middle">${num(t)}</text>`);
  for (const t of y.ticks) out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y.at(t)}" y2="${y.at(t)}" stroke="#ddd"/><text x="${M.left - 6}" y="${y.at(t) + 4}" text-anchor="end">${num(t)}</text>`);
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`);
  c.series.forEach((s, k) => {
    const d = s.points.filter((p) => !c.logX || p[0] > 0).map((p, i) => `${i === 0 ? 'M' : 'L'}${x.at(p[0]).toFixed(1)},${y.at(p[1]).toFixed(1)}`).join(' ');
    const dash = s.dashed === true ? ' stroke-dasharray="6 4"' : '';
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    if (s.points.length <= 12) for (const p of s.points) out.push(`<circle cx="${x.at(p[0])}" cy="${y.at(p[1])}" r="3.5" fill="${s.color}"/>`);
    const ly = M.top + 10 + k * 18;
    out.push(`<line x1="${W - M.right + 12}" x2="${W - M.right + 40}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/><text x="${W - M.right + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** CDF points of latencies (ascending), thinned to at most `max` points. */
export function cdf(sorted: readonly number[], max = 200): [number, number][] {
  const n = sorted.length;
  const step = Math.max(1, Math.floor(n / max));
  const out: [number, number][] = [];
  for (let i = 0; i < n; i += step) out.push([sorted[i]!, (i + 1) / n]);
  if (n > 0) out.push([sorted[n - 1]!, 1]);
  return out;
}
