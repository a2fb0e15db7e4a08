/**
 * Handlers of the engine host's methods: one BundleRunnerHost per engine
 * (engine.bundles), streamed text published as `chat` events so every
 * transport (IPC, WebSocket) forwards it.
 */
import type { bundleRunMethods } from '../../common/api/bundleRun.js';
import type { HandlerFactory } from './handlerTypes.js';

export const bundleRunHandlers: HandlerFactory<keyof typeof bundleRunMethods> = (engine) => ({
  'bundle.info': ({ bundlePath, contextLength }) => engine.bundles.info(bundlePath, contextLength),
  'bundle.chat': (request) =>
    engine.bundles.chat(request, {
      onText: (text) => {
        if (request.requestId) engine.events.publish({ type: 'chat', requestId: request.requestId, text });
      },
      onPhase: (phase) => {
        if (request.requestId) engine.events.publish({ type: 'chatPhase', requestId: request.requestId, phase });
      },
    }),
  'bundle.cancel': ({ requestId }) => ({ cancelled: engine.bundles.cancel(requestId) }),
});
