/**
 * The charts of the corpus metrics and of the recipe comparison: KL
 * divergence per scored position (uPlot, one canvas, window boundaries as
 * faint lines) and bundle size against mean KLD per recipe (SVG, log KLD
 * axis, the Pareto front joined and the recommended recipe ringed).
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { CorpusMetrics } from '../../../main/common/corpusMetrics';
import type { RecipesResult } from '../../../main/common/recipes';

export function KldPlot({ corpus, height = 200 }: { corpus: CorpusMetrics; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = corpus.kldByPosition.map((_, i) => i * corpus.kldStride);
    const starts = new Set(corpus.windowStarts.map((s) => Math.floor(s / corpus.kldStride) * corpus.kldStride));
    const plot = new uPlot(
      {
        width: Math.max(320, el.clientWidth),
        height,
        legend: { show: false },
        scales: { x: { time: false } },
        axes: [
          { label: corpus.kldStride > 1 ? `scored position (max of each ${corpus.kldStride})` : 'scored position' },
          { label: 'KL (nats)', size: 70, values: (_u, vals) => vals.map((v) => (v === 0 ? '0' : v.toExponential(0))) },
        ],
        series: [{}, { label: 'KL(reference ‖ bundle)', stroke: '#c2410c', width: 1, points: { show: false } }],
        hooks: {
          draw: [
            (u) => {
              const ctx = u.ctx;
              ctx.save();
              ctx.strokeStyle = 'rgba(100,116,139,0.35)';
              for (const s of starts) {
                if (s === 0) continue;
                const x = u.valToPos(s, 'x', true);
                ctx.beginPath();
                ctx.moveTo(x, u.bbox.top);
                ctx.lineTo(x, u.bbox.top + u.bbox.height);
                ctx.stroke();
              }
              ctx.restore();
            },
          ],
        },
      },
      [xs, corpus.kldByPosition],
      el,
    );
    return () => plot.destroy();
  }, [corpus, height]);
  return <div ref={box} data-testid="kld-plot" className="kld-plot" />;
}

const W = 560;
const H = 260;
const PAD = { left: 70, right: 20, top: 16, bottom: 40 };

/** Bundle size (x, MiB) against mean KLD (y, log scale) per recipe. */
export function SizeKldChart({ result }: { result: RecipesResult }) {
  const points = result.recipes.filter((r) => !r.error && r.corpus).map((r) => ({ recipe: r.recipe, mib: r.bytes / 2 ** 20, kld: Math.max(r.corpus!.meanKld, 1e-12) }));
  if (points.length === 0) return null;
  const maxMib = Math.max(...points.map((p) => p.mib)) * 1.1;
  const lo = Math.floor(Math.log10(Math.min(...points.map((p) => p.kld), result.maxKld)));
  const hi = Math.ceil(Math.log10(Math.max(...points.map((p) => p.kld), result.maxKld))) + (points.length === 1 ? 1 : 0);
  const x = (mib: number) => PAD.left + (mib / maxMib) * (W - PAD.left - PAD.right);
  const y = (k: number) => PAD.top + ((hi - Math.log10(k)) / Math.max(1, hi - lo)) * (H - PAD.top - PAD.bottom);
  const front = result.pareto.map((r) => points.find((p) => p.recipe === r)).filter((p): p is (typeof points)[number] => Boolean(p));
  const decades = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  return (
    <svg viewBox={`0 0 ${W} ${H}`} width="100%" style={{ maxWidth: W }} data-testid="recipes-chart" role="img" aria-label="Bundle size against mean KL divergence per recipe">
      {decades.map((d) => (
        <g key={d}>
          <line x1={PAD.left} x2={W - PAD.right} y1={y(10 ** d)} y2={y(10 ** d)} stroke="#e2e8f0" />
          <text x={PAD.left - 6} y={y(10 ** d) + 4} textAnchor="end" fontSize="11" fill="#64748b">{`1e${d}`}</text>
        </g>
      ))}
      <line x1={PAD.left} x2={W - PAD.right} y1={y(result.maxKld)} y2={y(result.maxKld)} stroke="#dc2626" strokeDasharray="4 3" />
      <text x={W - PAD.right} y={y(result.maxKld) - 4} textAnchor="end" fontSize="11" fill="#dc2626">{`--max-kld ${result.maxKld}`}</text>
      <polyline points={front.map((p) => `${x(p.mib)},${y(p.kld)}`).join(' ')} fill="none" stroke="#2563eb" strokeWidth="1.5" data-testid="recipes-pareto" />
      {points.map((p) => (
        <g key={p.recipe} data-testid={`recipes-point-${p.recipe}`}>
          {p.recipe === result.recommended ? <circle cx={x(p.mib)} cy={y(p.kld)} r="9" fill="none" stroke="#16a34a" strokeWidth="2" /> : null}
          <circle cx={x(p.mib)} cy={y(p.kld)} r="4.5" fill={result.pareto.includes(p.recipe) ? '#2563eb' : '#94a3b8'} />
          <text x={x(p.mib) + 8} y={y(p.kld) - 8} fontSize="11" fill="#0f172a">{p.recipe}</text>
        </g>
      ))}
      <line x1={PAD.left} x2={W - PAD.right} y1={H - PAD.bottom} y2={H - PAD.bottom} stroke="#94a3b8" />
      {[0, 0.25, 0.5, 0.75, 1].map((f) => (
        <text key={f} x={x(f * maxMib)} y={H - PAD.bottom + 16} textAnchor="middle" fontSize="11" fill="#64748b">{(f * maxMib).toFixed(maxMib < 10 ? 1 : 0)}</text>
      ))}
      <text x={(PAD.left + W - PAD.right) / 2} y={H - 6} textAnchor="middle" fontSize="12" fill="#334155">bundle size (MiB)</text>
      <text x={14} y={(PAD.top + H - PAD.bottom) / 2} textAnchor="middle" fontSize="12" fill="#334155" transform={`rotate(-90 14 ${(PAD.top + H - PAD.bottom) / 2})`}>mean KLD (nats)</text>
    </svg>
  );
}
