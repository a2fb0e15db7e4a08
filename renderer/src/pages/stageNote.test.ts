import { describe, expect, it } from 'vitest';
import { finishedNote } from './stageNote';

describe('finishedNote', () => {
  it('never shows a stage that did not succeed as 100 % done', () => {
    for (const status of ['failed', 'cancelled', 'stopped_by_guard', 'interrupted'] as const) {
      for (const progress of [1, 0.999, 0.996]) {
        const note = finishedNote({ status, progress, phase: 'done', message: 'Checklist: 20 pass, 3 warn, 0 fail · numeric comparison failed' })!;
        expect(note).not.toMatch(/100 %|\(done\)|Checklist/);
        expect(note).toMatch(/after its last step; see the error above\.$/);
      }
    }
    expect(finishedNote({ status: 'failed', progress: 0.994, phase: 'numeric', message: null })).toBe('Failed at 99 % (numeric).');
    expect(finishedNote({ status: 'failed', progress: 0.4, phase: 'write', message: '3/108 tensors · ETA 3.4 s' })).toBe('Failed at 40 % (write).');
  });

  it("shows a succeeded stage's outcome, and nothing for stages that never ran", () => {
    expect(finishedNote({ status: 'succeeded', progress: 1, phase: 'done', message: 'Checklist: 20 pass' })).toBe('Checklist: 20 pass');
    expect(finishedNote({ status: 'skipped', progress: null, phase: null, message: null })).toBeNull();
    expect(finishedNote({ status: 'failed', progress: 0, phase: null, message: null })).toBeNull();
  });
});
