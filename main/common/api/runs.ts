/**
 * API methods for runs: start, cancel, retry, list, search and read logs.
 */
import { z } from 'zod';
import { LogLevel } from '../stageProtocol.js';
import { LogLine, LogSearchHit, RunDetail, RunStatus, RunSummary } from '../runs.js';
import { MemorySample } from '../memory.js';
import { PlanReview } from '../planReview.js';
import { RunPlan } from '../stages/plan.js';
import { ExportedReport, ReportFormat } from '../report.js';
import { method } from './define.js';

const RunId = z.object({ id: z.number().int().positive() });

export const runsMethods = {
  'runs.start': method(z.object({ plan: RunPlan }), z.object({ id: z.number() })),
  /** The plan as runs.start would judge it, without starting it: any plan, so an invalid one is explained rather than refused. */
  'runs.review': method(z.object({ plan: z.unknown() }), PlanReview),
  'runs.list': method(
    z.object({
      status: z.array(RunStatus).optional(),
      logQuery: z.string().max(500).optional(),
      limit: z.number().int().min(1).max(1000).default(100),
      offset: z.number().int().min(0).default(0),
    }),
    z.object({ runs: z.array(RunSummary), total: z.number() }),
  ),
  'runs.get': method(RunId, RunDetail),
  'runs.cancel': method(RunId, z.object({ ok: z.literal(true) })),
  'runs.retry': method(RunId, z.object({ id: z.number() })),
  /** newOutputs: write a merge's output to a fresh folder beside the old one (the old one stays), instead of refusing because it exists. */
  'runs.rerun': method(RunId.extend({ newOutputs: z.boolean().default(false) }), z.object({ id: z.number() })),
  'runs.delete': method(RunId, z.object({ ok: z.literal(true) })),
  'runs.logs': method(
    z.object({
      id: z.number().int().positive(),
      afterId: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(50_000).default(10_000),
      stageId: z.number().int().positive().optional(),
      levels: z.array(LogLevel).optional(),
    }),
    z.object({ lines: z.array(LogLine) }),
  ),
  'runs.searchLogs': method(
    z.object({ query: z.string().min(1).max(500), runId: z.number().int().positive().optional(), limit: z.number().int().min(1).max(1000).default(200) }),
    z.object({ hits: z.array(LogSearchHit) }),
  ),
  /** The run as a report a person can send: Markdown, or one self-contained HTML file (main/core/report/). */
  'runs.exportReport': method(z.object({ id: z.number().int().positive(), format: ReportFormat }), ExportedReport),
  'runs.memory': method(RunId, z.object({ samples: z.array(MemorySample.extend({ stageId: z.number().nullable() })) })),
};
