/**
 * Every problem already known about the wizard's plan, for the Review page:
 * the model step's intake findings, the conversion options, the Python
 * environment, and what the engine's own preflights (runs.review) would
 * refuse or warn about. Each names the step (or page) that fixes it; a
 * blocking one keeps Start disabled. Pure, so the rules are unit-tested.
 */
import type { DoctorReport } from '../../../main/common/env';
import type { IntakeResult } from '../../../main/common/intake';
import type { PlanReview } from '../../../main/common/planReview';
import { convertOptionProblems, ConvertRoute, PythonRoute } from '../../../main/common/stages/convert';
import type { StageKind } from '../../../main/common/stages/plan';
import type { WizardDraft } from './draft';

/** Wizard step ids, plus the Environment page. */
export type FixPlace = 'model' | 'merge' | 'convert' | 'package' | 'verify' | 'environment';

export interface ReviewProblem {
  id: string;
  /** block: Start stays disabled; warn: shown, Start allowed. */
  severity: 'block' | 'warn';
  message: string;
  fix?: string;
  place: FixPlace;
  /** The data-testid of the field that fixes it, focused by the problem's link; absent: the step's first field. */
  field?: string;
}

/** The field of the conversion step each option problem is about. */
const CONVERT_FIELD: Partial<Record<string, string>> = { prefillSeqLens: 'prefill-input', quantize: 'quant-select', lightweightConversion: 'lightweight', maskAsInput: 'mask-as-input', transposeKvCache: 'transpose-kv', route: 'route-select' };
/** The field of each stage a refusal of that stage is most likely about. */
const STAGE_FIELD: Partial<Record<StageKind, string>> = { package: 'package-tflite', merge: 'adapter-dir' };

const STAGE_PLACE: Partial<Record<StageKind, FixPlace>> = { merge: 'merge', convert: 'convert', package: 'package', verify: 'verify' };

/** Intake codes fixed somewhere else than the model step. */
const INTAKE_PLACE: Record<string, FixPlace> = { no_example_builder: 'convert' };

/** Intake findings about one conversion route: beside the point when the plan converts another way (or not at all). */
const ROUTE_OF_PROBLEM: Record<string, ConvertRoute> = { no_example_builder: 'example' };

export interface ReviewInputs {
  draft: WizardDraft;
  /** intake.inspect of the draft's model (and adapter); null while loading or without a model. */
  intake: IntakeResult | null;
  /** env.doctor; null while loading. */
  doctor: DoctorReport | null;
  /** runs.review of the plan; null while loading. */
  review: PlanReview | null;
}

/** The first route (in the enum's order) the model supports: what step 1 recommends. */
export function recommendedRoute(intake: IntakeResult | null): ConvertRoute | null {
  const model = intake?.model;
  if (!model) return null;
  return ConvertRoute.options.find((route) => model.support[route]?.supported) ?? null;
}

export function reviewProblems({ draft, intake, doctor, review }: ReviewInputs): ReviewProblem[] {
  const out: ReviewProblem[] = [];
  const add = (problem: ReviewProblem) => out.push(problem);
  if (!draft.modelDir.trim()) add({ id: 'no_model', severity: 'block', message: 'No model folder is chosen.', place: 'model', field: 'model-dir' });

  for (const p of intake?.problems ?? []) {
    const route = ROUTE_OF_PROBLEM[p.code];
    if (route && (!draft.convert.enabled || draft.convert.route !== route)) continue;
    const place = INTAKE_PLACE[p.code] ?? 'model';
    add({ id: `intake_${p.code}`, severity: p.severity === 'error' ? 'block' : 'warn', message: p.message, fix: p.fix, place, ...(place === 'model' ? { field: p.code.startsWith('adapter') ? 'adapter-dir' : 'model-dir' } : {}) });
  }

  const c = draft.convert;
  if (c.enabled) {
    if (c.prefillInvalid) add({ id: 'prefill_text', severity: 'block', message: `Prefill lengths: ${c.prefillInvalid}`, place: 'convert', field: 'prefill-input' });
    for (const p of convertOptionProblems(c)) add({ id: `convert_${p.field}`, severity: 'block', message: p.message, place: 'convert', ...(CONVERT_FIELD[p.field] ? { field: CONVERT_FIELD[p.field]! } : {}) });
    const model = intake?.model;
    const recommended = recommendedRoute(intake);
    if (model && !model.support[c.route].supported && !out.some((p) => p.id === 'intake_no_example_builder')) {
      add({
        id: 'route_unsupported',
        severity: 'block',
        message: `The ${c.route} route cannot convert this model: ${model.support[c.route].message}`,
        ...(recommended ? { fix: `Step 1 recommends the ${recommended} route.` } : {}),
        place: 'convert',
        field: 'route-select',
      });
    }
    // Only the Python routes need the environment (the built-in converter runs in Node).
    const pythonRoute = PythonRoute.safeParse(c.route);
    if (doctor && pythonRoute.success) {
      const ready = doctor.routes?.[pythonRoute.data]?.ready === true;
      if (!ready) {
        add({
          id: 'python_env',
          severity: 'block',
          message: `The Python environment for the ${c.route} route is not set up, so the conversion would stop at once.`,
          fix: 'Set it up on the Environment page (one button), then come back.',
          place: 'environment',
        });
      }
    }
  }

  if (review?.invalid && !out.some((p) => p.severity === 'block')) add({ id: 'plan_invalid', severity: 'block', message: review.invalid.message, place: 'model' });
  const pythonKnown = out.some((p) => p.id === 'python_env');
  // A stage refusing a folder step 1 already reports as unusable says the same thing again.
  const names = (message: string, dir: string) => new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w.-])`).test(message);
  const reportedFolders = [draft.modelDir.trim(), draft.adapterDir.trim()].filter((dir) => dir && out.some((p) => p.severity === 'block' && p.place === 'model' && names(p.message, dir)));
  for (const [index, stage] of (review?.stages ?? []).entries()) {
    const place = STAGE_PLACE[stage.kind] ?? 'model';
    const field = STAGE_FIELD[stage.kind];
    if (stage.refusal && !reportedFolders.some((dir) => names(stage.refusal!.message, dir))) add({ id: `refusal_${index}_${stage.refusal.code}`, severity: 'block', message: stage.refusal.message, ...(stage.refusal.hint ? { fix: stage.refusal.hint } : {}), place, ...(field ? { field } : {}) });
    for (const finding of stage.findings) {
      // The doctor's sentence above already says it, with the page that fixes it.
      if (finding.level !== 'warn' || (pythonKnown && /Python environment/.test(finding.message))) continue;
      add({ id: `finding_${index}_${out.length}`, severity: 'warn', message: finding.message, place });
    }
  }
  return out;
}
