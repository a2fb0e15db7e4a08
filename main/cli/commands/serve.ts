/**
 * `workbench serve`: the app's UI and API on http://127.0.0.1 with a token,
 * for a browser on this machine or, through an SSH port forward, another one.
 */
import { parseArgs } from 'node:util';
import { WorkbenchError } from '../../common/errors.js';
import { isLoopbackHost } from '../../server/auth.js';
import { startServer } from '../../server/server.js';
import { EXIT, type CliCommand } from '../context.js';

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'Serve the app in a browser (127.0.0.1, token in the URL)',
  usage: 'workbench serve [--host 127.0.0.1] [--port 8765] [--data-dir DIR] [--allow-remote] [--token T]',
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '8765' },
        'allow-remote': { type: 'boolean', default: false },
        token: { type: 'string' },
      },
    });
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new WorkbenchError('usage', `--port must be a number from 0 to 65535, got "${values.port}".`);
    const remote = !isLoopbackHost(values.host);
    const engine = ctx.engine({ mode: 'serve', remote });
    if (engine.recoveredRunIds.length > 0) ctx.err(`Marked ${engine.recoveredRunIds.length} run(s) left running by a previous crash as interrupted: ${engine.recoveredRunIds.join(', ')}.`);
    const server = await startServer(engine, { host: values.host, port, allowRemote: values['allow-remote'], ...(values.token ? { token: values.token } : {}) });
    if (remote) {
      ctx.err(`WARNING: listening on ${values.host}, reachable from other machines. Anyone with the token can run stages as ${process.env.USER ?? 'this user'}; prefer an SSH port forward to 127.0.0.1.`);
    }
    ctx.err(`Data directory: ${engine.dataDir}`);
    ctx.out(`Convert Workbench is serving at ${server.openUrl}`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    ctx.err('Stopping: cancelling running stages…');
    await server.close();
    return EXIT.ok;
  },
};
