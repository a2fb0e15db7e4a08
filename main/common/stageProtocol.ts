/**
 * The stage protocol: what a stage child process prints on stdout, one JSON
 * object per line. Written once here so the runner, the tests, the Node stage
 * scripts and the documentation (docs/stage-protocol.md) agree. Python stages
 * implement the same shapes in python-env/stages/protocol.py.
 */
import { z } from 'zod';

export const LogLevel = z.enum(['debug', 'info', 'warn', 'error']);
export type LogLevel = z.infer<typeof LogLevel>;

export const ProgressEvent = z.object({
  type: z.literal('progress'),
  /** 0..1 over the whole stage; null when the stage cannot tell yet. */
  fraction: z.number().min(0).max(1).nullable(),
  phase: z.string().max(200).optional(),
  message: z.string().max(2000).optional(),
});

export const LogEvent = z.object({
  type: z.literal('log'),
  level: LogLevel.default('info'),
  text: z.string(),
});

export const MetricEvent = z.object({
  type: z.literal('metric'),
  name: z.string().min(1).max(200),
  value: z.number(),
  unit: z.string().max(40).optional(),
});

export const ArtifactEvent = z.object({
  type: z.literal('artifact'),
  /** e.g. merged-model, tflite, litertlm, sidecar, report */
  kind: z.string().min(1).max(100),
  path: z.string().min(1),
});

export const ResultEvent = z.object({
  type: z.literal('result'),
  /** Stage-specific summary, stored as JSON with the stage. */
  data: z.record(z.string(), z.unknown()),
});

export const ErrorEvent = z.object({
  type: z.literal('error'),
  code: z.string().min(1).max(100),
  message: z.string(),
  hint: z.string().optional(),
});

export const StageEvent = z.discriminatedUnion('type', [
  ProgressEvent,
  LogEvent,
  MetricEvent,
  ArtifactEvent,
  ResultEvent,
  ErrorEvent,
]);
export type StageEvent = z.infer<typeof StageEvent>;
export type StageErrorEvent = z.infer<typeof ErrorEvent>;
