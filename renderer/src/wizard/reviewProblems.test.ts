import { describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../../main/common/env';
import type { IntakeResult } from '../../../main/common/intake';
import { DEFAULT_DRAFT } from './draft';
import { reviewProblems } from './reviewProblems';

const draft = { ...DEFAULT_DRAFT, modelDir: '/m/base', convert: { ...DEFAULT_DRAFT.convert } };
const doctor = (ready: boolean) => ({ routes: { example: { ready, packages: [] }, export_hf: { ready, packages: [] } } }) as unknown as DoctorReport;
const intake = (problems: IntakeResult['problems']) => ({ model: null, adapter: null, problems, ready: !problems.some((p) => p.severity === 'error') }) as IntakeResult;

describe('review problems', () => {
  it('blocks for a missing environment and a prefill list longer than the context, each with its place', () => {
    const problems = reviewProblems({ draft: { ...draft, convert: { ...draft.convert, route: 'example', kvCacheMaxLen: 1024, prefillSeqLens: [8, 2048] } }, intake: intake([]), doctor: doctor(false), review: null });
    expect(problems.map((p) => [p.id, p.severity, p.place])).toEqual([
      ['convert_prefillSeqLens', 'block', 'convert'],
      ['python_env', 'block', 'environment'],
    ]);
  });

  it('does not ask for a Python environment on the native route', () => {
    const problems = reviewProblems({ draft: { ...draft, convert: { ...draft.convert, route: 'native' } }, intake: intake([]), doctor: doctor(false), review: null });
    expect(problems.map((p) => p.id)).not.toContain('python_env');
  });

  it('leaves out a limit of another route than the one chosen', () => {
    const noBuilder = intake([{ severity: 'warn', code: 'no_example_builder', message: 'This model matches no example builder.', fix: 'Use the export_hf route.' }]);
    expect(reviewProblems({ draft: { ...draft, convert: { ...draft.convert, route: 'export_hf' } }, intake: noBuilder, doctor: doctor(true), review: null })).toEqual([]);
    expect(reviewProblems({ draft: { ...draft, convert: { ...draft.convert, route: 'example' } }, intake: noBuilder, doctor: doctor(true), review: null }).map((p) => p.id)).toEqual(['intake_no_example_builder']);
  });

  it("keeps step 1's warnings as warnings and says a refusal about a folder step 1 already reports once", () => {
    const problems = reviewProblems({
      draft,
      intake: intake([
        { severity: 'warn', code: 'adapter_base_name_differs', message: 'The adapter names "Qwen/X" as its base.', fix: 'Nothing.' },
        { severity: 'error', code: 'model_not_found', message: '/m/base does not exist.', fix: 'Pick it.' },
      ]),
      doctor: doctor(true),
      review: {
        invalid: null,
        stages: [
          { kind: 'verify', peakBytes: null, durationSec: null, estimateNote: null, findings: [], refusal: { code: 'file_not_found', message: 'The model folder /m/base does not exist.' } },
          { kind: 'package', peakBytes: null, durationSec: null, estimateNote: null, findings: [], refusal: { code: 'file_not_found', message: 'The model folder /m/base-workbench/x does not exist.' } },
        ],
      },
    });
    expect(problems.map((p) => [p.id, p.severity])).toEqual([
      ['intake_adapter_base_name_differs', 'warn'],
      ['intake_model_not_found', 'block'],
      ['refusal_1_file_not_found', 'block'],
    ]);
  });
});
