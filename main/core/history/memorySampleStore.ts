/**
 * Memory samples of runs (the sampler writes one a second per running stage)
 * and the run and stage peaks they imply, kept current on every write so a
 * run list never has to scan samples. Split out of the history.
 */
import type { MemorySample } from '../../common/memory.js';
import type { Db } from './database.js';

export class MemorySampleStore {
  constructor(private readonly db: Db) {}

  /** Stores one sample and keeps the run's and stage's peaks current. */
  add(runId: number, stageId: number | null, sample: MemorySample): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO memory_samples (run_id, stage_id, t, sys_total, sys_available, sys_used, swap_total, swap_used, tree_rss)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(runId, stageId, Math.round(sample.t), sample.sysTotal, sample.sysAvailable, sample.sysUsed, sample.swapTotal, sample.swapUsed, sample.treeRss);
      this.db
        .prepare(
          `UPDATE runs SET peak_rss_bytes = MAX(COALESCE(peak_rss_bytes, 0), ?), peak_sys_used_bytes = MAX(COALESCE(peak_sys_used_bytes, 0), ?) WHERE id = ?`,
        )
        .run(sample.treeRss, sample.sysUsed, runId);
      if (stageId !== null) {
        this.db.prepare('UPDATE stages SET peak_rss_bytes = MAX(COALESCE(peak_rss_bytes, 0), ?) WHERE id = ?').run(sample.treeRss, stageId);
      }
    })();
  }

  samples(runId: number): (MemorySample & { stageId: number | null })[] {
    return (
      this.db
        .prepare(
          `SELECT stage_id AS stageId, t, sys_total AS sysTotal, sys_available AS sysAvailable, sys_used AS sysUsed,
                  swap_total AS swapTotal, swap_used AS swapUsed, tree_rss AS treeRss
             FROM memory_samples WHERE run_id = ? ORDER BY t`,
        )
        .all(runId) as (MemorySample & { stageId: number | null })[]
    );
  }
}
