/**
 * The guided path: model → merge → convert → package → verify → review.
 * Each step edits one shared draft; the review summarises the plan (the same
 * JSON `workbench run --plan` takes) and its known problems before anything
 * starts, each problem linking back to the step that fixes it.
 */
import { useEffect, useState } from 'react';
import { navigate } from '../router';
import { ConvertStep } from './ConvertStep';
import { DEFAULT_DRAFT, type DraftUpdate, type StepProps, type WizardDraft } from './draft';
import { IntakeStep } from './IntakeStep';
import { MergeStep } from './MergeStep';
import { PackageStep } from './PackageStep';
import { ReviewStep } from './ReviewStep';
import type { FixPlace } from './reviewProblems';
import { VerifyStep } from './VerifyStep';

const DRAFT_KEY = 'workbench.wizardDraft';

const STEPS: { id: string; title: string; component: (props: StepProps & { goTo: (place: FixPlace, field?: string) => void }) => React.ReactNode }[] = [
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
  /** The field a problem's link asked for, focused once its step is shown. */
  const [focusTarget, setFocusTarget] = useState<{ place: string; field: string | null } | null>(null);
  const goTo = (place: FixPlace, field?: string) => {
    if (place === 'environment') navigate('/environment');
    else {
      setStepIndex(STEPS.findIndex((candidate) => candidate.id === place));
      setFocusTarget({ place, field: field ?? null });
    }
  };
  useEffect(() => {
    if (!focusTarget) return;
    const frame = requestAnimationFrame(() => {
      const named = focusTarget.field ? document.querySelector<HTMLElement>(`[data-testid="${focusTarget.field}"]`) : null;
      const first = document.querySelector<HTMLElement>(`[data-testid="step-${focusTarget.place}"] input:not([disabled]), [data-testid="step-${focusTarget.place}"] select:not([disabled]), [data-testid="step-${focusTarget.place}"] textarea:not([disabled])`);
      const target = named && !named.matches(':disabled') ? named : first;
      target?.focus();
      target?.scrollIntoView({ block: 'center' });
      setFocusTarget(null);
    });
    return () => cancelAnimationFrame(frame);
  }, [focusTarget, stepIndex]);
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
        <Step draft={draft} update={update} goTo={goTo} />
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
