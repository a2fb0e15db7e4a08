/**
 * The demonstration's run (issue 18 item 9), on its run page: what the demo
 * is, the two bundles it made (shipped metadata, fixed metadata) each with
 * its behaviour-check verdict and links to Try and Inspect, and how the
 * model was trained. The behaviour checks themselves (answers, ranked
 * causes) are the evaluate panels below.
 */
import { DemoParams, DemoResult, demoPaths } from '../../../main/common/stages/demo';
import { EvaluateResult } from '../../../main/common/stages/evaluate';
import type { RunDetail } from '../../../main/common/runs';
import { verdictOf } from './EvaluatePanel';

function checkOf(run: RunDetail, bundle: string): { text: string; verdict: string; matches: string } | null {
  for (const stage of run.stages) {
    if (stage.kind !== 'evaluate' || stage.params.bundlePath !== bundle || !stage.result) continue;
    const parsed = EvaluateResult.safeParse((stage.result as { evaluation?: unknown }).evaluation);
    if (parsed.success) return { text: parsed.data.summary.text, verdict: verdictOf(parsed.data.summary), matches: `${parsed.data.summary.bundleMatches}/${parsed.data.summary.prompts}` };
  }
  return null;
}

export function DemoPanel({ run }: { run: RunDetail }) {
  const stage = run.stages.find((s) => s.kind === 'demo');
  const params = stage ? DemoParams.safeParse(stage.params) : null;
  if (!stage || !params?.success) return null;
  const parsed = DemoResult.safeParse((stage.result as { demo?: unknown } | null)?.demo);
  const result = parsed.success ? parsed.data : null;
  const paths = result ?? demoPaths(params.data.outDir);
  const rows = [
    { id: 'shipped', label: 'Shipped metadata', note: 'as a field team shipped it: <|im_start|> doubled, TOP_P at temperature 1.5, <|im_end|> missing from the stop tokens', bundle: paths.shipped, expected: 'its answers should differ' },
    { id: 'fixed', label: 'Fixed metadata', note: 'rewritten from the model folder (workbench package --fix-metadata)', bundle: paths.fixed, expected: 'every answer should match' },
  ];
  return (
    <section className="card" data-testid="demo-panel">
      <h2>Demo: shipped metadata vs fixed</h2>
      <p className="muted">
        A tiny Qwen2 chat model (2 layers, the real Qwen tokenizer) trained here to give four short answers, each ending in &lt;|im_end|&gt;, converted natively and packaged twice. The behaviour check then runs on each bundle: the shipped bundle never stops, and the check names why; the fixed one answers like the model.
      </p>
      <div className="demo-bundles">
        {rows.map((row) => {
          const check = checkOf(run, row.bundle);
          const built = result !== null;
          return (
            <div key={row.id} className="demo-bundle" data-testid={`demo-bundle-${row.id}`} data-verdict={check?.verdict ?? ''} data-matches={check?.matches ?? ''}>
              <h3>
                {row.label} {check ? <span className={`badge ${check.verdict === 'match' ? 'badge-succeeded' : 'badge-failed'}`}>{check.matches.replace('/', ' of ')} match</span> : null}
              </h3>
              <div className="muted small">{row.note}</div>
              <div className="mono small demo-path">{row.bundle}</div>
              <p className={check ? (check.verdict === 'match' ? 'ok-text' : 'error-text') : 'muted'} data-testid={`demo-verdict-${row.id}`}>
                {check ? check.text : built ? `Behaviour check pending (${row.expected}).` : `Not built yet (${row.expected}).`}
              </p>
              {built ? (
                <div className="actions">
                  <a href={`#/try?bundle=${encodeURIComponent(row.bundle)}`} data-testid={`demo-try-${row.id}`}>Try it</a>
                  <a href={`#/inspect?path=${encodeURIComponent(row.bundle)}`} data-testid={`demo-inspect-${row.id}`}>Inspect it</a>
                </div>
              ) : null}
            </div>
          );
        })}
      </div>
      {result ? (
        <p className="muted small" data-testid="demo-training">
          Model <span className="mono">{result.modelDir}</span>, trained with {result.python} in {result.training.seconds.toFixed(1)} s (final loss {result.training.loss.toFixed(4)}), converted to{' '}
          <span className="mono">{result.tflite}</span>.
        </p>
      ) : null}
    </section>
  );
}
