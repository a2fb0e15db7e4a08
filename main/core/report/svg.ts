/**
 * Inline SVG charts for the HTML report (no script, no external request):
 * a line chart (memory over time, KLD per position) and a scatter (bundle
 * size against mean KLD, the Pareto front joined). Labels are escaped by the
 * caller's `esc`.
 */
export interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

export interface Rule {
  y: number;
  label: string;
  color: string;
}

const W = 720;
const H = 240;
const PAD = { left: 72, right: 40, top: 16, bottom: 36 };

function ticks(max: number, n = 4): number[] {
  return Array.from({ length: n + 1 }, (_, i) => (max * i) / n);
}

export function lineChart(options: { series: Series[]; rules?: Rule[]; xLabel: string; xFormat: (x: number) => string; yFormat: (y: number) => string; esc: (s: string) => string; testId: string }): string {
  const { series, rules = [], esc } = options;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...series.flatMap((s) => s.points.map((p) => p[1])), ...rules.map((r) => r.y)];
  if (xs.length === 0) return '';
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1e-9);
  const y1 = Math.max(...ys, 1e-12) * 1.08;
  const sx = (x: number) => PAD.left + ((x - x0) / (x1 - x0 || 1)) * (W - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - (y / y1) * (H - PAD.top - PAD.bottom);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" data-testid="${esc(options.testId)}">`];
  for (const t of ticks(y1)) {
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#e3e6ec"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#5b6478">${esc(options.yFormat(t))}</text>`);
  }
  // Whole-number x values (positions) get whole-number ticks.
  const integral = xs.every((x) => Number.isInteger(x));
  for (const t of ticks(x1 - x0, integral ? Math.max(1, Math.min(4, Math.round(x1 - x0))) : 4)) {
    parts.push(`<text x="${sx(x0 + t).toFixed(1)}" y="${H - PAD.bottom + 16}" text-anchor="middle" font-size="11" fill="#5b6478">${esc(options.xFormat(x0 + t))}</text>`);
  }
  parts.push(`<text x="${(W + PAD.left) / 2}" y="${H - 4}" text-anchor="middle" font-size="11" fill="#5b6478">${esc(options.xLabel)}</text>`);
  for (const r of rules) {
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${sy(r.y).toFixed(1)}" y2="${sy(r.y).toFixed(1)}" stroke="${r.color}" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${W - PAD.right - 4}" y="${(sy(r.y) - 4).toFixed(1)}" text-anchor="end" font-size="11" fill="${r.color}">${esc(r.label)}</text>`);
  }
  series.forEach((s, i) => {
    const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"/>`);
    parts.push(`<rect x="${PAD.left + 8 + i * 190}" y="${PAD.top - 2}" width="10" height="10" fill="${s.color}"/><text x="${PAD.left + 22 + i * 190}" y="${PAD.top + 7}" font-size="11" fill="#1d2433">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

export function scatter(options: { points: { label: string; x: number; y: number; front: boolean; marked: boolean }[]; xLabel: string; yLabel: string; xFormat: (x: number) => string; yFormat: (y: number) => string; esc: (s: string) => string; testId: string }): string {
  const { points, esc } = options;
  if (points.length === 0) return '';
  const x1 = Math.max(...points.map((p) => p.x)) * 1.1 || 1;
  const y1 = Math.max(...points.map((p) => p.y)) * 1.15 || 1;
  const sx = (x: number) => PAD.left + (x / x1) * (W - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - (y / y1) * (H - PAD.top - PAD.bottom);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" data-testid="${esc(options.testId)}">`];
  for (const t of ticks(y1)) {
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#e3e6ec"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#5b6478">${esc(options.yFormat(t))}</text>`);
  }
  for (const t of ticks(x1)) parts.push(`<text x="${sx(t).toFixed(1)}" y="${H - PAD.bottom + 16}" text-anchor="middle" font-size="11" fill="#5b6478">${esc(options.xFormat(t))}</text>`);
  parts.push(`<text x="${(W + PAD.left) / 2}" y="${H - 4}" text-anchor="middle" font-size="11" fill="#5b6478">${esc(options.xLabel)}</text>`);
  parts.push(`<text x="12" y="${PAD.top + 4}" font-size="11" fill="#5b6478">${esc(options.yLabel)}</text>`);
  const front = points.filter((p) => p.front).sort((a, b) => a.x - b.x);
  if (front.length > 1) parts.push(`<path d="${front.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}" fill="none" stroke="#1f56c6" stroke-dasharray="4 3"/>`);
  for (const p of points) {
    parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="${p.marked ? 7 : 5}" fill="${p.front ? '#1f56c6' : '#9aa3b5'}" stroke="${p.marked ? '#1a7f37' : 'none'}" stroke-width="3"/>`);
    parts.push(`<text x="${(sx(p.x) + 9).toFixed(1)}" y="${(sy(p.y) - 7).toFixed(1)}" font-size="11" fill="#1d2433">${esc(p.label)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}
