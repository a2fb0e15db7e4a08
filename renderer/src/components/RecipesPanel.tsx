/**
 * The recipe comparison on a run's page: the recommendation and its reason,
 * one row per recipe (bundle and device bytes, corpus metrics, greedy
 * agreement, decode speed; each opens its bundle on the Try page) and the
 * size-versus-KLD chart with the Pareto front.
 */
import { formatBytes } from '../../../main/common/format';
import { RecipesResult } from '../../../main/common/recipes';
import type { RunDetail } from '../../../main/common/runs';
import { SizeKldChart } from './FidelityCharts';

export function RecipesTable({ result }: { result: RecipesResult }) {
  return (
    <table className="evaluate-table" data-testid="recipes-table">
      <thead>
        <tr>
          <th>Recipe</th>
          <th>Bundle</th>
          <th>Device memory</th>
          <th>Mean KLD</th>
          <th>Top-1</th>
          <th>PPL ratio</th>
          <th>Greedy</th>
          <th>Decode</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {result.recipes.map((r) => (
          <tr key={r.recipe} data-testid={`recipes-row-${r.recipe}`} data-recommended={String(r.recipe === result.recommended)} className={r.recipe === result.recommended ? 'recommended' : undefined}>
            <th>
              {r.recipe}
              {r.recipe === result.recommended ? <div className="ok-text small">recommended</div> : null}
              {result.pareto.includes(r.recipe) ? <div className="muted small">Pareto front</div> : null}
            </th>
            {r.error ? (
              <td colSpan={7} className="error-text">
                {r.error}
              </td>
            ) : (
              <>
                <td>{formatBytes(r.bytes)}</td>
                <td>{formatBytes(r.deviceBytes)}</td>
                <td>{r.corpus ? r.corpus.meanKld.toExponential(2) : '—'}</td>
                <td>{r.corpus ? `${(r.corpus.top1Agreement * 100).toFixed(1)} %` : '—'}</td>
                <td>{r.corpus ? r.corpus.pplRatio.toFixed(4) : '—'}</td>
                <td>
                  {r.greedyMatches}/{r.prompts}
                </td>
                <td>{r.decodeTokensPerSecond === null ? '—' : `${r.decodeTokensPerSecond.toFixed(1)} tok/s`}</td>
              </>
            )}
            <td>{r.error ? null : <a href={`#/try?bundle=${encodeURIComponent(r.bundle)}`} data-testid={`recipes-try-${r.recipe}`}>Try</a>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function RecipesPanel({ run }: { run: RunDetail }) {
  const stages = run.stages.filter((s) => s.kind === 'recipes' && s.result);
  if (stages.length === 0) return null;
  return (
    <>
      {stages.map((stage) => {
        const parsed = RecipesResult.safeParse((stage.result as { recipes?: unknown }).recipes);
        if (!parsed.success) return null;
        const r = parsed.data;
        const c = r.recipes.find((x) => x.corpus)?.corpus;
        return (
          <section key={stage.id} className="card" data-testid="recipes-panel" data-recommended={r.recommended ?? ''}>
            <h2>Compare quantizations</h2>
            <p className="ok-text" data-testid="recipes-reason">
              {r.reason}
            </p>
            <p className="muted">
              Context {r.kvCacheMaxLen}, prefill {r.prefillSeqLens.join(', ')} · reference {r.referenceBackend} (PyTorch) · corpus {c ? `${c.source.builtIn ? 'built-in' : c.source.path}, ${c.tokens} positions` : '—'} · threshold {r.maxKld} nats
            </p>
            <RecipesTable result={r} />
            <SizeKldChart result={r} />
          </section>
        );
      })}
    </>
  );
}
