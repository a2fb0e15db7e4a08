/**
 * `workbench doctor [--need C,...] [--json]`: what can run on this host, per
 * capability (native conversion/merge/packaging, the behaviour check's
 * reference, the Python conversion routes), then what it has (Python, pinned
 * packages, disk, RAM, CPU, runtime) and, for each problem, the fix. It exits
 * 0 when the capabilities asked for with --need (default: native) can run.
 * `workbench doctor --bootstrap <route> [--rebuild]` applies the main fix:
 * it runs the environment bootstrap as a recorded run and waits for it.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatBytes, STATUS_LABELS } from '../../common/format.js';
import { WorkbenchError } from '../../common/errors.js';
import { PythonRoute } from '../../common/stages/convert.js';
import { CapabilityId, type DoctorReport } from '../../common/env.js';
import { runDoctor } from '../../core/env/doctor.js';
import { venvDir } from '../../core/env/python.js';
import { pythonEnvPath, resolveDataDir } from '../../core/paths.js';
import { EXIT, type CliCommand, type CliContext } from '../context.js';
import { renderTable } from '../table.js';

/** Where this install keeps things (README "Where data lives"): the same for the app, serve mode and the CLI. */
export function printLocations(dataDir: string, ctx: Pick<CliContext, 'out'>): void {
  ctx.out('Locations:');
  ctx.out(`  data folder   ${dataDir}`);
  ctx.out(`  history       ${path.join(dataDir, 'history.sqlite')}  (runs, logs, settings)`);
  ctx.out(`  run folders   ${path.join(dataDir, 'runs')}`);
  ctx.out(`  python env    ${venvDir(dataDir)}`);
  ctx.out(`  stage scripts ${pythonEnvPath()}`);
  ctx.out('');
}

/** --need values as typed (python-routes) and as the report names them (python_routes). */
function parseNeeds(values: string[]): CapabilityId[] {
  const needs = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return needs.map((need) => {
    const id = CapabilityId.safeParse(need.replaceAll('-', '_'));
    if (!id.success) throw new WorkbenchError('usage', `--need takes native, reference or python-routes (comma-separated); got "${need}".`);
    return id.data;
  });
}

function printCapabilities(report: DoctorReport, needs: CapabilityId[], ctx: CliContext): void {
  ctx.out('What can run on this host:');
  for (const c of report.capabilities) {
    ctx.out(`  ${c.ready ? 'ready    ' : 'NOT READY'}  ${c.label}${needs.includes(c.id) ? '  (needed)' : ''}`);
    ctx.out(`             ${c.detail}`);
    if (c.fix) ctx.out(`             fix: ${c.fix.label}${c.fix.command ? ` — ${c.fix.command}` : ''}`);
  }
  ctx.out('');
}

function printReport(report: DoctorReport, ctx: CliContext): void {
  ctx.out('Python interpreters:');
  if (report.pythons.length === 0) ctx.out('  none found');
  for (const p of report.pythons) ctx.out(`  [${p.source}] ${p.path}  ${p.version ?? '—'}${p.usable ? '' : `  (${p.problem})`}`);
  ctx.out(`Stage Python: ${report.stagePython ?? 'none usable'}${report.uv ? `   uv: ${report.uv}` : ''}`);
  ctx.out(`Environment:  ${report.venv.path} ${report.venv.exists ? `(${report.venv.route ?? 'setup unfinished'}${report.venv.installer ? `, ${report.venv.installer}` : ''})` : '(not set up)'}`);
  if (report.routes) {
    for (const route of ['example', 'export_hf'] as const) {
      const r = report.routes[route];
      ctx.out(`\nRoute ${route}: ${r.ready ? 'ready' : 'not ready'}`);
      ctx.out(renderTable(['PACKAGE', 'PINNED', 'INSTALLED', ''], r.packages.map((p) => [p.name, p.pinned, p.installed ?? 'missing', p.ok ? 'ok' : '✗'])));
    }
  }
  ctx.out('');
  for (const d of report.disk) ctx.out(`Disk (${d.label}): ${d.freeBytes === null ? 'unknown' : `${formatBytes(d.freeBytes)} free of ${formatBytes(d.totalBytes ?? 0)}`}  ${d.path}`);
  ctx.out(`RAM: ${formatBytes(report.memory.totalBytes)} total, ${formatBytes(report.memory.availableBytes)} available`);
  ctx.out(`CPU: ${report.cpu.cores} × ${report.cpu.model}`);
  ctx.out(`Node ${report.runtime.node}${report.runtime.electron ? `, Electron ${report.runtime.electron}` : ''} on ${report.runtime.platform} ${report.runtime.arch}`);
  ctx.out('');
  if (report.problems.length === 0) {
    ctx.out('No problems found.');
    return;
  }
  ctx.out(`${report.problems.length} problem(s):`);
  for (const p of report.problems) {
    ctx.out(`  ${p.severity === 'error' ? 'ERROR' : 'warn '} ${p.message}`);
    ctx.out(`        fix: ${p.fix.label}${p.fix.command ? ` — ${p.fix.command}` : ''}`);
  }
}

async function bootstrap(route: PythonRoute, rebuild: boolean, ctx: CliContext): Promise<number> {
  const engine = ctx.engine();
  let last = '';
  let shownError: string | null = null;
  const unsubscribe = engine.events.subscribe((event) => {
    if (event.type === 'stage') {
      const { stage } = event;
      const pct = stage.progress === null ? '' : ` ${Math.round(stage.progress * 100)} %`;
      const line = `${STATUS_LABELS[stage.status] ?? stage.status}${stage.status === 'running' ? pct : ''}${stage.phase ? ` — ${stage.phase}` : ''}`;
      if (line !== last) ctx.err(line);
      last = line;
      if (stage.error && shownError === null) {
        shownError = stage.error.message;
        ctx.err(`  ${stage.error.message}${stage.error.hint ? `\n  hint: ${stage.error.hint}` : ''}`);
      }
    } else if (event.type === 'logs') {
      // The runner also logs the stage error; it was printed above with its hint.
      for (const line of event.lines) if (shownError === null || !line.text.startsWith(shownError)) ctx.err(`  ${line.text}`);
    }
  });
  const id = await engine.runner.start({ name: `Set up the ${route} environment`, stages: [{ kind: 'bootstrap', params: { route, rebuild } }], allowPredictedOom: false });
  ctx.err(`Run ${id}: setting up the ${route} environment${rebuild ? ' (rebuild)' : ''}.`);
  await engine.runner.whenIdle();
  unsubscribe();
  const run = engine.history.getRun(id);
  ctx.out(`Run ${id} ${STATUS_LABELS[run.status] ?? run.status}.`);
  return run.status === 'succeeded' ? EXIT.ok : EXIT.failed;
}

export async function doctorCommandMain(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      output: { type: 'string' },
      bootstrap: { type: 'string' },
      rebuild: { type: 'boolean', default: false },
      need: { type: 'string', multiple: true },
    },
  });
  const needs: CapabilityId[] = values.need ? parseNeeds(values.need) : ['native'];
  if (values.bootstrap !== undefined) {
    const route = PythonRoute.safeParse(values.bootstrap);
    if (!route.success) throw new WorkbenchError('usage', `Unknown route "${values.bootstrap}"; use example or export_hf.`);
    return bootstrap(route.data, values.rebuild, ctx);
  }
  const dataDir = resolveDataDir(ctx.dataDir);
  // Settings live in the history database; read them only when it exists.
  let settingsPythonPath: string | null = null;
  try {
    settingsPythonPath = ctx.engine().settings.get().pythonPath;
  } catch {
    settingsPythonPath = null;
  }
  const report = await runDoctor({ dataDir, settingsPythonPath, ...(values.output ? { outputDir: values.output } : {}) });
  if (values.json) ctx.out(JSON.stringify(report, null, 2));
  else {
    printCapabilities(report, needs, ctx);
    printLocations(dataDir, ctx);
    printReport(report, ctx);
  }
  const missing = report.capabilities.filter((c) => needs.includes(c.id) && !c.ready);
  if (!values.json && missing.length > 0) ctx.err(`Not ready: ${missing.map((c) => c.label).join('; ')}.`);
  return missing.length > 0 ? EXIT.failed : EXIT.ok;
}

export const doctorCommand: CliCommand = {
  name: 'doctor',
  summary: 'What can run here (native conversion, behaviour check, Python routes); Python, packages, disk, RAM; fixes',
  usage: `workbench doctor [--need native,reference,python-routes] [--json] [--output DIR]
  --need C    exit 0 only when these capabilities can run (default: native, which needs no Python):
              native = conversion, merge, packaging; reference = the behaviour check's PyTorch
              reference; python-routes = the example and export_hf conversion routes
workbench doctor --bootstrap example|export_hf [--rebuild]`,
  run: doctorCommandMain,
};
