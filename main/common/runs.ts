/**
 * What the history knows about runs, stages, logs and artifacts: the shapes
 * the API returns and the UI and CLI show.
 */
import { z } from 'zod';
import { LogLevel } from './stageProtocol.js';
import { RunPlan, StageKind } from './stages/plan.js';

export const RunStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted', 'stopped_by_guard']);
export type RunStatus = z.infer<typeof RunStatus>;
export const StageStatus = z.enum([
  'pending',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'interrupted',
  'stopped_by_guard',
  'reused',
  'skipped',
]);
export type StageStatus = z.infer<typeof StageStatus>;
export const FINISHED_RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled', 'interrupted', 'stopped_by_guard'];

export const ErrorData = z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() });
export type ErrorData = z.infer<typeof ErrorData>;

export const HostSnapshot = z.object({
  hostname: z.string(),
  platform: z.string(),
  release: z.string(),
  arch: z.string(),
  cpuModel: z.string(),
  cpuCount: z.number(),
  totalMemBytes: z.number(),
  nodeVersion: z.string(),
  appVersion: z.string(),
});
export type HostSnapshot = z.infer<typeof HostSnapshot>;

export const StageRecord = z.object({
  id: z.number(),
  runId: z.number(),
  idx: z.number(),
  kind: StageKind,
  params: z.record(z.string(), z.unknown()),
  status: StageStatus,
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  progress: z.number().nullable(),
  phase: z.string().nullable(),
  message: z.string().nullable(),
  exitCode: z.number().nullable(),
  error: ErrorData.extend({ hint: z.string().optional() }).nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
  peakRssBytes: z.number().nullable(),
  reusedFromStageId: z.number().nullable(),
});
export type StageRecord = z.infer<typeof StageRecord>;

export const RunSummary = z.object({
  id: z.number(),
  name: z.string().nullable(),
  status: RunStatus,
  model: z.string().nullable(),
  isSelftest: z.boolean(),
  stageKinds: z.array(StageKind),
  /** The few parameters worth a column: context length, quantization, route. */
  keyParams: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  peakRssBytes: z.number().nullable(),
  peakSysUsedBytes: z.number().nullable(),
  parentRunId: z.number().nullable(),
  error: ErrorData.nullable(),
  /** Set while running: the stage in progress and its progress. */
  currentStage: z.object({ kind: StageKind, progress: z.number().nullable(), phase: z.string().nullable() }).nullable(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const ArtifactRecord = z.object({
  id: z.number(),
  runId: z.number(),
  stageId: z.number().nullable(),
  kind: z.string(),
  path: z.string(),
  sizeBytes: z.number().nullable(),
  sha256: z.string().nullable(),
  createdAt: z.number(),
});
export type ArtifactRecord = z.infer<typeof ArtifactRecord>;

export const MetricRecord = z.object({
  stageId: z.number().nullable(),
  t: z.number(),
  name: z.string(),
  value: z.number(),
  unit: z.string().nullable(),
});
export type MetricRecord = z.infer<typeof MetricRecord>;

export const RunDetail = RunSummary.extend({
  plan: RunPlan,
  host: HostSnapshot,
  overrides: z.record(z.string(), z.unknown()).nullable(),
  stages: z.array(StageRecord),
  artifacts: z.array(ArtifactRecord),
  metrics: z.array(MetricRecord),
  logCount: z.number(),
});
export type RunDetail = z.infer<typeof RunDetail>;

export const LogSource = z.enum(['stdout', 'stderr', 'event', 'system']);
export const LogLine = z.object({
  id: z.number(),
  runId: z.number(),
  stageId: z.number().nullable(),
  ts: z.number(),
  level: LogLevel,
  source: LogSource,
  text: z.string(),
});
export type LogLine = z.infer<typeof LogLine>;

export const LogSearchHit = z.object({
  lineId: z.number(),
  runId: z.number(),
  runName: z.string().nullable(),
  runStatus: RunStatus,
  stageKind: StageKind.nullable(),
  ts: z.number(),
  level: LogLevel,
  /** The line with matches wrapped in \u0002 … \u0003 markers (rendered as <mark>). */
  snippet: z.string(),
});
export type LogSearchHit = z.infer<typeof LogSearchHit>;
export const HIGHLIGHT_START = '\u0002';
export const HIGHLIGHT_END = '\u0003';
