/**
 * The behaviour check on a run's page: the verdict and its causes ranked by
 * evidence (each with what it saw: values, ids, positions; latent findings
 * marked),
 * the teacher-forced figures, and every prompt side by side (the source
 * model's answer in PyTorch, the bundle's with its own metadata, the
 * bundle's greedy answer), each marked where it departs from the reference
 * and whether and how it stopped.
 */
import { useState } from 'react';
import type { FidelityFixResult } from '../../../main/common/api/fidelity';
import { demoPaths } from '../../../main/common/stages/demo';
import { CAUSE_TITLES, EvaluateResult, type Answer, type Cause, type PromptOutcome } from '../../../main/common/stages/evaluate';

/** The classes' names (one table in main/common, shared with the CLI and reports). */
export const CAUSE_LABELS = CAUSE_TITLES;

/** Results recorded before the verdict field read 'match' or 'differ' from the counts. */
export function verdictOf(s: EvaluateResult['summary']): 'match' | 'latent' | 'differ' {
  return s.verdict ?? (s.bundleMatches === s.prompts ? 'match' : 'differ');
}

function CauseItem({ cause, index, labels }: { cause: Cause; index: number; labels: string[] }) {
  const which = (list: number[]) => list.map((i) => labels[i] ?? `#${i}`).join(', ');
  return (
    <li data-testid={`evaluate-cause-${index}`} data-kind={cause.kind} data-latent={String(cause.latent)} className={cause.latent ? 'warn-text' : undefined}>
      <span className="badge">{cause.latent ? 'latent · ' : ''}{CAUSE_LABELS[cause.kind]}</span> {cause.text}
      {cause.evidence.length > 0 || cause.prompts.length > 0 || cause.alsoPrompts.length > 0 ? (
        <details>
          <summary className="muted small">evidence</summary>
          <dl className="cause-evidence small">
            {cause.prompts.length > 0 ? (
              <>
                <dt>first cause of</dt>
                <dd>{which(cause.prompts)}</dd>
              </>
            ) : null}
            {cause.alsoPrompts.length > 0 ? (
              <>
                <dt>also measured in</dt>
                <dd>{which(cause.alsoPrompts)}</dd>
              </>
            ) : null}
            {cause.evidence.map((e, i) => (
              <span key={i}>
                <dt>{e.label}</dt>
                <dd className="mono">{e.value}</dd>
              </span>
            ))}
          </dl>
        </details>
      ) : null}
    </li>
  );
}
import type { RunDetail } from '../../../main/common/runs';
import { useAction, useApi } from '../api/hooks';
import { ErrorBox } from './common';
import { fixedBundlePath } from './FidelityPanel';

/** The behaviour check's verdict of a run, or null: a run can succeed while its answers differ, and must not look green then. */
export function evaluateVerdict(run: RunDetail): { matches: number; prompts: number; text: string } | null {
  for (const stage of run.stages) {
    if (stage.kind !== 'evaluate' || !stage.result) continue;
    const parsed = EvaluateResult.safeParse((stage.result as { evaluation?: unknown }).evaluation);
    if (parsed.success) return { matches: parsed.data.summary.bundleMatches, prompts: parsed.data.summary.prompts, text: parsed.data.summary.text };
  }
  return null;
}

/**
 * The way out when answers differ: the bundle's metadata rewritten from the
 * model's own files (fidelity.fix, no re-conversion) when the fidelity
 * checklist found something, with the same command for a terminal.
 */
function DifferFix({ r }: { r: EvaluateResult }) {
  const api = useApi();
  const [fixed, setFixed] = useState<FidelityFixResult | null>(null);
  const out = fixedBundlePath(r.bundlePath);
  const fix = useAction(async () => setFixed(await api.call('fidelity.fix', { modelDir: r.modelDir, bundlePath: r.bundlePath, outPath: out })));
  const command = `workbench package --fix-metadata ${r.bundlePath} --model ${r.modelDir} --out ${out}`;
  if (r.failingChecks.length === 0) {
    return (
      <p data-testid="evaluate-fix">
        The bundle's metadata passes every check, so the difference lies in the converted model itself: compare the answers below, or{' '}
        <a href={`#/try?bundle=${encodeURIComponent(r.bundlePath)}`}>try the bundle</a>.
      </p>
    );
  }
  return (
    <div className="actions" data-testid="evaluate-fix">
      {fixed ? (
        <span data-testid="evaluate-fixed">
          Wrote <span className="mono">{fixed.outPath}</span>; run the behaviour check on it to confirm{fixed.remaining.length > 0 ? ` (still to address outside the metadata: ${fixed.remaining.join(', ')})` : ''}.
        </span>
      ) : (
        <>
          <button type="button" onClick={() => void fix.run()} disabled={fix.pending} data-testid="evaluate-fix-button">
            {fix.pending ? 'Writing…' : 'Write a bundle with the fixed metadata'}
          </button>
          <span className="muted">
            {r.failingChecks.length} fidelity check(s) did not pass ({r.failingChecks.map((c) => c.id).join(', ')}); writes <span className="mono">{out}</span>, no re-conversion. In a terminal: <code className="mono">{command}</code>
          </span>
        </>
      )}
      {fix.error ? <ErrorBox error={fix.error} title="The metadata fix failed" /> : null}
    </div>
  );
}

function Marked({ text, from }: { text: string; from: number | null }) {
  if (from === null) return <span>{text}</span>;
  return (
    <span>
      {text.slice(0, from)}
      <mark className="diverges">{text.slice(from) || '∅'}</mark>
    </span>
  );
}

function AnswerCell({ answer, from, testId }: { answer: Answer; from: number | null; testId: string }) {
  return (
    <td data-testid={testId} data-stopped={String(answer.stopped)}>
      {answer.error ? <span className="error-text">{answer.error}</span> : <div className="mono answer-text"><Marked text={answer.text} from={from} /></div>}
      <div className="muted small">
        {answer.error ? 'no answer' : answer.stopped ? `stopped on ${answer.stopToken}` : `did not stop (${answer.stopReason})`} · {answer.tokens} tokens
        {answer.repetition >= 0.5 ? ` · loops (${Math.round(answer.repetition * 100)}% repeated 3-grams)` : ''}
      </div>
    </td>
  );
}

function PromptRow({ p }: { p: PromptOutcome }) {
  const same = p.firstDivergence.token === null;
  return (
    <tr data-testid={`evaluate-prompt-${p.index}`} data-same={String(same)}>
      <th>
        {p.label}
        <div className="muted small">{p.messages[p.messages.length - 1]!.content}</div>
        {p.cause ? (
          <div className="small" data-testid={`evaluate-prompt-cause-${p.index}`} data-kind={p.cause.kind}>
            <span className="badge">{CAUSE_LABELS[p.cause.kind]}</span>
          </div>
        ) : null}
        {p.numeric ? <div className="muted small">top-1 {(p.numeric.top1Agreement * 100).toFixed(0)}% · max |Δlogit| {p.numeric.maxAbsLogitError.toFixed(4)}</div> : null}
      </th>
      <AnswerCell answer={p.reference} from={null} testId={`evaluate-reference-${p.index}`} />
      <AnswerCell answer={p.bundle} from={p.firstDivergence.char} testId={`evaluate-bundle-${p.index}`} />
      <AnswerCell answer={p.greedy} from={p.greedyDivergence.char} testId={`evaluate-greedy-${p.index}`} />
    </tr>
  );
}

/** In a demo run the fix is already made: the fixed bundle, checked in the next stage. */
function DemoFix({ shipped, fixed }: { shipped: EvaluateResult; fixed: string }) {
  return (
    <p data-testid="evaluate-fix">
      The fix is already made: <span className="mono">{fixed.split(/[\\/]/).pop()}</span> is this bundle with its metadata rewritten from the model folder (
      <code className="mono">workbench package --fix-metadata {shipped.bundlePath} --model {shipped.modelDir} --out {fixed}</code>, no re-conversion); its behaviour check follows.
    </p>
  );
}

export function EvaluatePanel({ run }: { run: RunDetail }) {
  const stages = run.stages.filter((s) => s.kind === 'evaluate' && s.result);
  if (stages.length === 0) return null;
  const demoStage = run.stages.find((s) => s.kind === 'demo');
  const demoFixed = demoStage && typeof demoStage.params.outDir === 'string' ? demoPaths(demoStage.params.outDir) : null;
  return (
    <>
      {stages.map((stage) => {
        const parsed = EvaluateResult.safeParse((stage.result as { evaluation?: unknown }).evaluation);
        if (!parsed.success) return null;
        const r = parsed.data;
        const s = r.summary;
        const verdict = verdictOf(s);
        const labels = r.prompts.map((p) => p.label);
        return (
          <section key={stage.id} id="evaluate-panel" className="card" data-testid="evaluate-panel" data-matches={`${s.bundleMatches}/${s.prompts}`} data-verdict={verdict}>
            <h2>
              Behaviour check{stages.length > 1 ? <span className="muted"> — {r.bundlePath.split(/[\\/]/).pop()}</span> : null}
            </h2>
            <p className={verdict === 'match' ? 'ok-text' : verdict === 'latent' ? 'warn-text' : 'error-text'} data-testid="evaluate-verdict">
              {s.text}
            </p>
            {verdict === 'differ' ? demoFixed && r.bundlePath === demoFixed.shipped ? <DemoFix shipped={r} fixed={demoFixed.fixed} /> : <DifferFix r={r} /> : null}
            {s.causes.length > 0 ? (
              <ol data-testid="evaluate-causes" className="cause-list">
                {s.causes.map((c, i) => (
                  <CauseItem key={`${c.kind}-${i}`} cause={c} index={i} labels={labels} />
                ))}
              </ol>
            ) : null}
            <p className="muted">
              Reference: {r.referenceBackend} (PyTorch) · bundle: LiteRT-LM {r.engineVersion} (wasm, CPU) · cap {r.maxTokens} tokens
              {s.numeric ? ` · teacher-forced .tflite: top-1 ${(s.numeric.top1Agreement * 100).toFixed(1)}% over ${s.numeric.positions} positions, max |logit error| ${s.numeric.maxAbsLogitError.toFixed(4)}, mean KL ${s.numeric.meanKl.toExponential(1)}` : ''}
              {' · '}
              <a href={`#/try?bundle=${encodeURIComponent(r.bundlePath)}`}>Try this bundle</a>
              {' · '}
              <a href={`#/inspect?path=${encodeURIComponent(r.bundlePath)}`}>Inspect it</a>
            </p>
            <table className="evaluate-table">
              <thead>
                <tr>
                  <th>Prompt</th>
                  <th>Reference (PyTorch)</th>
                  <th>Bundle, its own metadata</th>
                  <th>Bundle, greedy</th>
                </tr>
              </thead>
              <tbody>
                {r.prompts.map((p) => (
                  <PromptRow key={p.index} p={p} />
                ))}
              </tbody>
            </table>
          </section>
        );
      })}
    </>
  );
}
