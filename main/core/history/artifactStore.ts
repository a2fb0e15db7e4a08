/**
 * What runs produced: artifacts (files a stage published, with size and
 * digest) and metrics (named numbers a stage reported). Split out of the
 * history, which composes it with the run, log, memory and settings stores.
 */
import type { ArtifactRecord, MetricRecord } from '../../common/runs.js';
import type { Db } from './database.js';

export class ArtifactStore {
  constructor(private readonly db: Db) {}

  addArtifact(input: Omit<ArtifactRecord, 'id' | 'createdAt'>): ArtifactRecord {
    const createdAt = Date.now();
    const info = this.db
      .prepare('INSERT INTO artifacts (run_id, stage_id, kind, path, size_bytes, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(input.runId, input.stageId, input.kind, input.path, input.sizeBytes, input.sha256, createdAt);
    return { ...input, id: Number(info.lastInsertRowid), createdAt };
  }

  artifacts(runId: number): ArtifactRecord[] {
    return (
      this.db.prepare('SELECT * FROM artifacts WHERE run_id = ? ORDER BY id').all(runId) as {
        id: number;
        run_id: number;
        stage_id: number | null;
        kind: string;
        path: string;
        size_bytes: number | null;
        sha256: string | null;
        created_at: number;
      }[]
    ).map((row) => ({
      id: row.id,
      runId: row.run_id,
      stageId: row.stage_id,
      kind: row.kind,
      path: row.path,
      sizeBytes: row.size_bytes,
      sha256: row.sha256,
      createdAt: row.created_at,
    }));
  }

  addMetric(runId: number, stageId: number | null, name: string, value: number, unit: string | null): void {
    this.db.prepare('INSERT INTO metrics (run_id, stage_id, t, name, value, unit) VALUES (?, ?, ?, ?, ?, ?)').run(runId, stageId, Date.now(), name, value, unit);
  }

  metrics(runId: number): MetricRecord[] {
    return (
      this.db.prepare('SELECT stage_id, t, name, value, unit FROM metrics WHERE run_id = ? ORDER BY id').all(runId) as {
        stage_id: number | null;
        t: number;
        name: string;
        value: number;
        unit: string | null;
      }[]
    ).map((row) => ({ stageId: row.stage_id, t: row.t, name: row.name, value: row.value, unit: row.unit }));
  }
}
