/**
 * Handlers of the inspect methods: thin wrappers over the format readers
 * (main/core/formats/) and the packager's metadata derivation.
 */
import path from 'node:path';
import type { inspectMethods } from '../../common/api/inspect.js';
import { inspectPath } from '../formats/detect.js';
import { readTflite } from '../formats/tflite.js';
import { deriveLlmMetadata } from '../packager/metadata.js';
import type { HandlerFactory } from './handlerTypes.js';

export const inspectHandlers: HandlerFactory<keyof typeof inspectMethods> = () => ({
  'inspect.open': ({ path: target }) => inspectPath(path.resolve(target)),
  'package.deriveMetadata': ({ modelDir, tflitePath }) => deriveLlmMetadata(path.resolve(modelDir), tflitePath ? readTflite(path.resolve(tflitePath)) : null),
});
