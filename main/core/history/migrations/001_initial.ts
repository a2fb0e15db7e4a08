/**
 * Version 1: runs, stages, logs with a full-text index, memory samples,
 * artifacts, metrics and settings.
 */
export const migration001 = `
CREATE TABLE runs (
  id            INTEGER PRIMARY KEY,
  name          TEXT,
  status        TEXT NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled','interrupted','stopped_by_guard')),
  plan_json     TEXT NOT NULL,
  host_json     TEXT NOT NULL,
  model         TEXT,
  is_selftest   INTEGER NOT NULL DEFAULT 0,
  overrides_json TEXT,
  parent_run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  created_at    INTEGER NOT NULL,
  started_at    INTEGER,
  finished_at   INTEGER,
  peak_rss_bytes INTEGER,
  peak_sys_used_bytes INTEGER,
  error_json    TEXT,
  owner_pid     INTEGER,
  owner_token   TEXT
);
CREATE INDEX runs_created ON runs(created_at DESC);
CREATE INDEX runs_status ON runs(status);

CREATE TABLE stages (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  idx           INTEGER NOT NULL,
  kind          TEXT NOT NULL,
  params_json   TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('pending','running','succeeded','failed','cancelled','interrupted','stopped_by_guard','reused','skipped')),
  started_at    INTEGER,
  finished_at   INTEGER,
  progress      REAL,
  phase         TEXT,
  message       TEXT,
  exit_code     INTEGER,
  error_json    TEXT,
  result_json   TEXT,
  peak_rss_bytes INTEGER,
  reused_from_stage_id INTEGER REFERENCES stages(id) ON DELETE SET NULL,
  -- Root pid of the stage's process tree while it runs: after a crash of the
  -- engine, recovery stops a stage that is still running on its own.
  pid           INTEGER,
  UNIQUE (run_id, idx)
);

CREATE TABLE log_lines (
  id        INTEGER PRIMARY KEY,
  run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  stage_id  INTEGER REFERENCES stages(id) ON DELETE CASCADE,
  ts        INTEGER NOT NULL,
  level     TEXT NOT NULL CHECK (level IN ('debug','info','warn','error')),
  source    TEXT NOT NULL CHECK (source IN ('stdout','stderr','event','system')),
  text      TEXT NOT NULL
);
CREATE INDEX log_lines_run ON log_lines(run_id, id);

-- External-content FTS5 index over the log text: the text is stored once.
-- Lines are indexed in the background after they are stored (History.indexLogs),
-- so a chatty stage is never slowed down by tokenizing; fts_state.indexed_upto is
-- the highest log_lines.id in the index, and search covers the tail above it.
CREATE VIRTUAL TABLE log_fts USING fts5(text, content='log_lines', content_rowid='id', tokenize='unicode61');
INSERT INTO log_fts(log_fts, rank) VALUES ('pgsz', 8000);
INSERT INTO log_fts(log_fts, rank) VALUES ('automerge', 16);
CREATE TABLE fts_state (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  indexed_upto INTEGER NOT NULL
);
INSERT INTO fts_state (id, indexed_upto) VALUES (1, 0);
-- Only lines already in the index may be deleted from it (deleting an unindexed
-- row from an external-content index would corrupt it).
CREATE TRIGGER log_lines_ad AFTER DELETE ON log_lines
WHEN old.id <= (SELECT indexed_upto FROM fts_state WHERE id = 1)
BEGIN
  INSERT INTO log_fts(log_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;

CREATE TABLE memory_samples (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  stage_id      INTEGER REFERENCES stages(id) ON DELETE CASCADE,
  t             INTEGER NOT NULL,
  sys_total     INTEGER NOT NULL,
  sys_available INTEGER NOT NULL,
  sys_used      INTEGER NOT NULL,
  swap_total    INTEGER NOT NULL,
  swap_used     INTEGER NOT NULL,
  tree_rss      INTEGER NOT NULL
);
CREATE INDEX memory_samples_run ON memory_samples(run_id, t);

CREATE TABLE artifacts (
  id         INTEGER PRIMARY KEY,
  run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  stage_id   INTEGER REFERENCES stages(id) ON DELETE CASCADE,
  kind       TEXT NOT NULL,
  path       TEXT NOT NULL,
  size_bytes INTEGER,
  sha256     TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX artifacts_run ON artifacts(run_id);

CREATE TABLE metrics (
  id       INTEGER PRIMARY KEY,
  run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  stage_id INTEGER REFERENCES stages(id) ON DELETE CASCADE,
  t        INTEGER NOT NULL,
  name     TEXT NOT NULL,
  value    REAL NOT NULL,
  unit     TEXT
);
CREATE INDEX metrics_run ON metrics(run_id, name);

CREATE TABLE settings (
  key        TEXT PRIMARY KEY,
  value_json TEXT NOT NULL
);
`;
