/**
 * Corpus metrics on a run's page (evaluate stages run with a corpus): the
 * llama.cpp-style figures (mean/median/p99 KLD, top-1 agreement, both
 * perplexities and their ratio, RMS Δp) and the KLD-per-position plot.
 */
import type { CorpusMetrics } from '../../../main/common/corpusMetrics';
import type { RunDetail } from '../../../main/common/runs';
import { EvaluateResult } from '../../../main/common/stages/evaluate';
import { KldPlot } from './FidelityCharts';

export function CorpusFigures({ c }: { c: CorpusMetrics }) {
  const k = (x: number) => x.toExponential(2);
  const rows: [string, string][] = [
    ['positions', `${c.tokens} in ${c.windows} window(s) of up to ${c.windowTokens} tokens`],
    ['mean KLD', `${k(c.meanKld)} nats`],
    ['median / p99 / max KLD', `${k(c.medianKld)} / ${k(c.p99Kld)} / ${k(c.maxKld)}`],
    ['top-1 agreement', `${(c.top1Agreement * 100).toFixed(2)} %`],
    ['perplexity (reference → bundle)', `${c.pplReference.toFixed(3)} → ${c.pplBundle.toFixed(3)} (ratio ${c.pplRatio.toFixed(4)})`],
    ['RMS Δp', c.rmsDeltaP.toExponential(2)],
  ];
  return (
    <table className="kv-table" data-testid="corpus-figures">
      <tbody>
        {rows.map(([label, value]) => (
          <tr key={label}>
            <th>{label}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function CorpusPanel({ run }: { run: RunDetail }) {
  const items = run.stages
    .filter((s) => s.kind === 'evaluate' && s.result)
    .map((s) => ({ id: s.id, parsed: EvaluateResult.safeParse((s.result as { evaluation?: unknown }).evaluation) }))
    .filter((x) => x.parsed.success && x.parsed.data.corpus);
  if (items.length === 0) return null;
  return (
    <>
      {items.map(({ id, parsed }) => {
        const c = parsed.data!.corpus!;
        return (
          <section key={id} className="card" data-testid="corpus-panel" data-mean-kld={c.meanKld}>
            <h2>Corpus metrics</h2>
            <p className="muted">
              The .tflite teacher-forced in LiteRT.js against the PyTorch reference over {c.source.builtIn ? 'the built-in corpus' : c.source.path} ({c.source.documents} document(s), {c.corpusTokens} tokens). docs/fidelity.md explains each figure.
            </p>
            <CorpusFigures c={c} />
            <KldPlot corpus={c} />
          </section>
        );
      })}
    </>
  );
}
