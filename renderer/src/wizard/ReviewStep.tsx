/**
 * Step 6, Review & start: the plan as a summary a person reads — each stage
 * with what it reads, what it writes, its predicted peak RAM and duration —
 * and every problem already known, each with a link to the step that fixes
 * it. Start stays disabled while a blocking problem remains (the same checks
 * runs.start makes, via runs.review). The exact JSON plan is one click away.
 */
import { formatBytes, formatDuration } from '../../../main/common/format';
import { stageTitle } from '../../../main/common/stages/titles';
import type { Band } from '../../../main/common/memoryEstimate';
import type { StageReview } from '../../../main/common/planReview';
import type { StagePlanInput } from '../../../main/common/stages/plan';
import { useAction, useApi, useCall } from '../api/hooks';
import { ErrorBox } from '../components/common';
import { navigate } from '../router';
import { buildPlan, type StepProps } from './draft';
import { reviewProblems, type FixPlace, type ReviewProblem } from './reviewProblems';


/** What a stage reads and writes, in words, from its parameters. */
function stageFiles(stage: StagePlanInput): { inputs: [string, string][]; outputs: [string, string][] } {
  switch (stage.kind) {
    case 'merge':
      return { inputs: [['Base model', stage.params.baseDir], ['LoRA adapter', stage.params.adapterDir]], outputs: [['Merged model folder', stage.params.outDir]] };
    case 'convert':
      return {
        inputs: [['Model folder', stage.params.modelDir]],
        outputs: [[stage.params.route === 'export_hf' ? '.litertlm bundle in' : '.tflite model in', stage.params.outDir]],
      };
    case 'package':
      return { inputs: [['.tflite model', stage.params.tflitePath], ['Tokenizer and metadata from', stage.params.modelDir]], outputs: [['.litertlm bundle', stage.params.outPath]] };
    case 'verify':
      return { inputs: [['Bundle', stage.params.bundlePath], ['Compared with', stage.params.modelDir]], outputs: [['Fidelity report', 'kept with the run']] };
    case 'evaluate':
      return { inputs: [['Bundle, in LiteRT-LM’s engine', stage.params.bundlePath], ['Reference model, in PyTorch', stage.params.modelDir]], outputs: [['Answers side by side', 'kept with the run']] };
    default:
      return { inputs: [], outputs: [] };
  }
}

function bandText(band: Band | null, format: (n: number) => string): string {
  if (!band) return '—';
  return `${format(band.expected)} (up to ${format(band.high)})`;
}

function StageCard({ stage, index, review, loading }: { stage: StagePlanInput; index: number; review: StageReview | undefined; loading: boolean }) {
  const { inputs, outputs } = stageFiles(stage);
  const peak = review ? bandText(review.peakBytes, formatBytes) : loading ? 'estimating…' : '—';
  const time = review ? bandText(review.durationSec, (s) => formatDuration(s * 1000)) : loading ? 'estimating…' : '—';
  return (
    <li className="review-stage" data-testid={`review-stage-${stage.kind}`} data-refused={review?.refusal ? 'yes' : 'no'}>
      <div className="review-stage-head">
        <span className="step-number">{index + 1}</span>
        <strong>{stageTitle(stage.kind)}</strong>
        <span className="muted" data-testid="review-peak">
          Peak RAM {peak}
        </span>
        <span className="muted" data-testid="review-duration">
          Time {time}
        </span>
      </div>
      <dl className="review-files">
        {inputs.map(([label, value]) => (
          <div key={`in-${label}`}>
            <dt>Reads · {label}</dt>
            <dd className="mono">{value}</dd>
          </div>
        ))}
        {outputs.map(([label, value]) => (
          <div key={`out-${label}`}>
            <dt>Writes · {label}</dt>
            <dd className="mono">{value}</dd>
          </div>
        ))}
      </dl>
      {review?.estimateNote ? (
        <p className="help" data-testid="review-estimate-note">
          {review.peakBytes ? review.estimateNote : `No estimate: ${review.estimateNote}`}
        </p>
      ) : null}
    </li>
  );
}

const PLACES: Record<FixPlace, string> = {
  model: 'step 1: Model',
  merge: 'step 2: LoRA merge',
  convert: 'step 3: Conversion',
  package: 'step 4: Packaging',
  verify: 'step 5: Verification',
  environment: 'the Environment page',
};

/** A blocking problem is fixed there; a warning is only worth a look. */
function linkText(problem: ReviewProblem): string {
  if (problem.place === 'environment') return 'Open the Environment page';
  return `${problem.severity === 'block' ? 'Fix in' : 'Look at'} ${PLACES[problem.place]}`;
}

function ProblemItem({ problem, goTo }: { problem: ReviewProblem; goTo: (place: FixPlace, field?: string) => void }) {
  return (
    <li className={problem.severity === 'block' ? 'error-box' : 'banner'} data-testid="review-problem" data-severity={problem.severity} data-problem={problem.id}>
      <p style={{ margin: 0 }}>
        {problem.severity === 'block' ? <strong>Blocks start: </strong> : <strong>Warning: </strong>}
        {problem.message}
      </p>
      {problem.fix ? (
        <p className="hint" style={{ margin: '4px 0 0' }}>
          {problem.fix}
        </p>
      ) : null}
      <button type="button" className="secondary" style={{ marginTop: 6 }} onClick={() => goTo(problem.place, problem.field)} data-testid="problem-link" data-place={problem.place}>
        {linkText(problem)}
      </button>
    </li>
  );
}

export function ReviewStep({ draft, update, goTo }: StepProps & { goTo: (place: FixPlace, field?: string) => void }) {
  const api = useApi();
  const plan = buildPlan(draft);
  const planJson = JSON.stringify(plan, null, 2);
  const modelDir = draft.modelDir.trim();
  const adapterDir = draft.adapterDir.trim();
  const intake = useCall('intake.inspect', modelDir ? { modelDir, route: draft.convert.route, ...(adapterDir ? { adapterDir } : {}) } : null);
  const doctor = useCall('env.doctor', {});
  const review = useCall('runs.review', plan.stages.length > 0 ? { plan } : null);
  const start = useAction(async () => {
    const { id } = await api.call('runs.start', { plan });
    navigate(`/runs/${id}`);
  });
  const loading = intake.loading || doctor.loading || review.loading;
  const problems = reviewProblems({ draft, intake: intake.data ?? null, doctor: doctor.data ?? null, review: review.data ?? null });
  if (plan.stages.length === 0) problems.unshift({ id: 'no_stages', severity: 'block', message: 'Every stage is switched off.', place: 'merge' });
  const blocking = problems.filter((p) => p.severity === 'block');
  const refusedOom = review.data?.stages.some((s) => s.refusal?.code === 'predicted_oom') || start.error?.code === 'predicted_oom';
  const stageReviews = review.data?.stages ?? [];
  const checkError = intake.error ?? doctor.error ?? review.error;
  return (
    <div className="step" data-testid="step-review" data-blocking={blocking.length} data-checked={loading ? 'no' : 'yes'}>
      <h2>Review & start</h2>
      <p className="lead">
        {plan.stages.length} stage{plan.stages.length === 1 ? '' : 's'}: {plan.stages.map((stage) => stageTitle(stage.kind)).join(' → ') || 'none'}.
      </p>
      <ol className="review-stages" data-testid="review-stages">
        {plan.stages.map((stage, index) => (
          <StageCard key={`${stage.kind}-${index}`} stage={stage} index={index} review={stageReviews[index]} loading={review.loading} />
        ))}
      </ol>
      <h3>Known problems</h3>
      {checkError ? <ErrorBox error={checkError} title="The plan could not be checked" /> : null}
      {problems.length > 0 ? (
        <ul className="review-problems" data-testid="review-problems">
          {problems.map((problem) => (
            <ProblemItem key={problem.id} problem={problem} goTo={goTo} />
          ))}
        </ul>
      ) : loading ? (
        <p className="help">Checking the plan…</p>
      ) : (
        <p data-testid="review-no-problems">None: every stage’s checks pass.</p>
      )}
      {refusedOom ? (
        <label className="check">
          <input type="checkbox" checked={draft.allowPredictedOom} onChange={(event) => update((d) => ({ ...d, allowPredictedOom: event.target.checked }))} data-testid="allow-predicted-oom" />
          I know; start anyway (recorded with the run as an override — the memory guard still stops it before the OS does)
        </label>
      ) : null}
      <div className="actions">
        <button type="button" disabled={blocking.length > 0 || loading || !!checkError || start.pending} onClick={() => void start.run()} data-testid="start-run">
          {start.pending ? 'Starting…' : 'Start run'}
        </button>
        {blocking.length > 0 ? (
          <span className="warn-text" data-testid="start-blocked">
            {blocking.length === 1 ? 'One problem blocks the start.' : `${blocking.length} problems block the start.`}
          </span>
        ) : loading ? (
          <span className="help">Checking…</span>
        ) : null}
      </div>
      {start.error ? <ErrorBox error={start.error} title="The run was not started" /> : null}
      <details className="plan-details">
        <summary>The plan as JSON — the same file runs from a terminal with <code>workbench run --plan plan.json</code></summary>
        <pre className="plan-json" data-testid="plan-json">{planJson}</pre>
      </details>
      <div className="actions">
        <button type="button" className="secondary" onClick={() => void navigator.clipboard?.writeText(planJson)} data-testid="copy-plan">
          Copy plan
        </button>
        <a className="button secondary" download="plan.json" href={`data:application/json;charset=utf-8,${encodeURIComponent(planJson)}`} data-testid="save-plan">
          Save plan.json
        </a>
      </div>
    </div>
  );
}
