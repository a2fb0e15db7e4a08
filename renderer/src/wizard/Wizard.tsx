/**
 * The guided path: model → merge → convert → package → verify → review.
 * Each step edits one shared draft; the review shows the exact plan (the
 * same JSON `workbench run --plan` takes) before anything starts.
 */
import { useState } from 'react';
import { useApi, useAction } from '../api/hooks';
import { ErrorBox } from '../components/common';
import { navigate } from '../router';
import { ConvertStep } from './ConvertStep';
import { buildPlan, DEFAULT_DRAFT, type DraftUpdate, type StepProps, type WizardDraft } from './draft';
import { IntakeStep } from './IntakeStep';
import { MergeStep } from './MergeStep';
import { PackageStep } from './PackageStep';
import { VerifyStep } from './VerifyStep';

const DRAFT_KEY = 'workbench.wizardDraft';

const STEPS: { id: string; title: string; component: (props: StepProps) => React.ReactNode }[] = [
  { id: 'model', title: 'Model', component: IntakeStep },
  { id: 'merge', title: 'LoRA merge', component: MergeStep },
  { id: 'convert', title: 'Conversion', component: ConvertStep },
  { id: 'package', title: 'Packaging', component: PackageStep },
  { id: 'verify', title: 'Verification', component: VerifyStep },
  { id: 'review', title: 'Review & start', component: ReviewStep },
];

function loadDraft(): WizardDraft {
  try {
    const stored = localStorage.getItem(DRAFT_KEY);
    if (stored) {
      const parsed = JSON.parse(stored) as Partial<WizardDraft>;
      return {
        ...DEFAULT_DRAFT,
        ...parsed,
        merge: { ...DEFAULT_DRAFT.merge, ...parsed.merge },
        convert: { ...DEFAULT_DRAFT.convert, ...parsed.convert },
        package: { ...DEFAULT_DRAFT.package, ...parsed.package },
        verify: { ...DEFAULT_DRAFT.verify, ...parsed.verify },
      };
    }
  } catch {
    // A corrupt stored draft is ignored; the defaults are a valid start.
  }
  return DEFAULT_DRAFT;
}

export function Wizard() {
  const [draft, setDraft] = useState<WizardDraft>(loadDraft);
  const [stepIndex, setStepIndex] = useState(0);
  const update: DraftUpdate = (fn) =>
    setDraft((previous) => {
      const next = fn(previous);
      localStorage.setItem(DRAFT_KEY, JSON.stringify(next));
      return next;
    });
  const step = STEPS[stepIndex]!;
  const Step = step.component;
  return (
    <div className="wizard" data-testid="wizard">
      <ol className="stepper">
        {STEPS.map((candidate, index) => (
          <li key={candidate.id} className={index === stepIndex ? 'current' : index < stepIndex ? 'visited' : ''}>
            <button type="button" onClick={() => setStepIndex(index)} data-testid={`step-tab-${candidate.id}`}>
              <span className="step-number">{index + 1}</span> {candidate.title}
            </button>
          </li>
        ))}
      </ol>
      <div className="step-body">
        <Step draft={draft} update={update} />
        <div className="step-nav">
          <button type="button" className="secondary" disabled={stepIndex === 0} onClick={() => setStepIndex((i) => i - 1)}>
            Back
          </button>
          {stepIndex < STEPS.length - 1 ? (
            <button type="button" onClick={() => setStepIndex((i) => i + 1)} data-testid="wizard-next">
              Next: {STEPS[stepIndex + 1]!.title}
            </button>
          ) : null}
          <button type="button" className="link" onClick={() => update(() => DEFAULT_DRAFT)}>
            Reset all choices
          </button>
        </div>
      </div>
    </div>
  );
}

function ReviewStep({ draft, update }: StepProps) {
  const api = useApi();
  const plan = buildPlan(draft);
  const planJson = JSON.stringify(plan, null, 2);
  const start = useAction(async () => {
    const { id } = await api.call('runs.start', { plan });
    navigate(`/runs/${id}`);
  });
  const missing = plan.stages.length === 0 ? 'Enable at least one stage.' : !draft.modelDir.trim() ? 'Choose the model folder in step 1.' : null;
  return (
    <div className="step" data-testid="step-review">
      <h2>Review & start</h2>
      <p className="lead">
        {plan.stages.length} stage{plan.stages.length === 1 ? '' : 's'}: {plan.stages.map((stage) => stage.kind).join(' → ') || 'none'}. The same plan runs from a terminal with{' '}
        <code>workbench run --plan plan.json</code>.
      </p>
      <pre className="plan-json" data-testid="plan-json">{planJson}</pre>
      <div className="actions">
        <button type="button" className="secondary" onClick={() => void navigator.clipboard?.writeText(planJson)}>
          Copy plan
        </button>
        <a className="button secondary" download="plan.json" href={`data:application/json;charset=utf-8,${encodeURIComponent(planJson)}`}>
          Save plan.json
        </a>
        <button type="button" disabled={!!missing || start.pending} onClick={() => void start.run()} data-testid="start-run">
          {start.pending ? 'Starting…' : 'Start run'}
        </button>
      </div>
      {missing ? <p className="muted">{missing}</p> : null}
      {start.error ? <ErrorBox error={start.error} title="The run was not started" /> : null}
      {start.error?.code === 'predicted_oom' ? (
        <label className="check">
          <input type="checkbox" checked={draft.allowPredictedOom} onChange={(event) => update((d) => ({ ...d, allowPredictedOom: event.target.checked }))} />
          I know; start anyway (recorded with the run as an override — the memory guard still stops it before the OS does)
        </label>
      ) : null}
    </div>
  );
}
