/**
 * Handlers of the fidelity methods: the analyzer and the metadata fix run on
 * the engine's host, where the model folder and the bundle are.
 */
import type { fidelityMethods } from '../../common/api/fidelity.js';
import { checkFidelity } from '../fidelity/analyze.js';
import { fixBundleMetadata } from '../packager/fixMetadata.js';
import { reportToMarkdown } from '../fidelity/report.js';
import type { HandlerFactory } from './handlerTypes.js';

export const fidelityHandlers: HandlerFactory<keyof typeof fidelityMethods> = () => ({
  'fidelity.check': (request) => checkFidelity(request),
  'fidelity.fix': (request) => fixBundleMetadata(request),
  'fidelity.markdown': ({ report }) => ({ markdown: reportToMarkdown(report) }),
});
