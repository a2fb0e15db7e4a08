/**
 * The built-in self-test stage: a Node child process that behaves like a
 * conversion (phases, progress, logs, optional memory growth) without a model.
 */
import { nodeStageScript } from '../paths.js';
import { nodeLaunch, type StageDefinition } from './definition.js';

export const selftestStage: StageDefinition<'selftest'> = {
  kind: 'selftest',
  title: 'Self-test',
  launch: async (_params, ctx) => nodeLaunch(nodeStageScript('selftest'), ctx),
};
