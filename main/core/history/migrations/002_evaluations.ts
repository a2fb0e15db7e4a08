/**
 * Version 2: one row per prompt of a behaviour check (the evaluate stage),
 * so answers are searchable across runs and the Compare page can line them
 * up without parsing stage results.
 */
export const migration002 = `
CREATE TABLE evaluation_prompts (
  id                INTEGER PRIMARY KEY,
  run_id            INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  stage_id          INTEGER NOT NULL REFERENCES stages(id) ON DELETE CASCADE,
  idx               INTEGER NOT NULL,
  label             TEXT NOT NULL,
  prompt            TEXT NOT NULL,
  reference_text    TEXT NOT NULL,
  reference_stopped INTEGER NOT NULL,
  bundle_text       TEXT NOT NULL,
  bundle_stopped    INTEGER NOT NULL,
  greedy_text       TEXT NOT NULL,
  greedy_stopped    INTEGER NOT NULL,
  first_divergence  INTEGER,
  repetition        REAL NOT NULL,
  top1_agreement    REAL,
  UNIQUE (stage_id, idx)
);
CREATE INDEX evaluation_prompts_run ON evaluation_prompts(run_id);
`;
