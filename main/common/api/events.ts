/**
 * Events the engine pushes to every connected UI (IPC or WebSocket).
 */
import { z } from 'zod';
import { ChatPhase } from '../bundleRun.js';
import { MemorySample } from '../memory.js';
import { LogLine, RunSummary, StageRecord } from '../runs.js';

export const WorkbenchEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run'), run: RunSummary }),
  z.object({ type: z.literal('stage'), stage: StageRecord }),
  z.object({ type: z.literal('logs'), runId: z.number(), lines: z.array(LogLine) }),
  z.object({ type: z.literal('memory'), runId: z.number(), stageId: z.number().nullable(), sample: MemorySample }),
  z.object({ type: z.literal('runDeleted'), runId: z.number() }),
  z.object({ type: z.literal('chat'), requestId: z.string(), text: z.string() }),
  z.object({ type: z.literal('chatPhase'), requestId: z.string(), phase: ChatPhase }),
]);
export type WorkbenchEvent = z.infer<typeof WorkbenchEvent>;
