/**
 * The verify stage: runs the fidelity checklist on the model folder and the
 * bundle, stores the report with the run (the `result` event, plus .json and
 * .md artifacts), and with `numeric` runs the Python numeric comparison
 * (python-env/stages/numeric_fidelity.py) as a sub-step, forwarding its
 * events. Without a usable Python environment (no interpreter, or one
 * without the comparison's packages) the stage does what it can: the
 * checklist lands, the numeric comparison is recorded as skipped with what to
 * install, and the stage succeeds, so the run goes on (the behaviour check
 * after it still runs). A comparison that started and broke fails the stage.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { StageEvent } from '../common/stageProtocol.js';
import { VerifyParams } from '../common/stages/verify.js';
import { WorkbenchError } from '../common/errors.js';
import { checkFidelity } from '../core/fidelity/analyze.js';
import { writeReportFiles } from '../core/fidelity/report.js';
import { SectionType, readLitertlmHeader, sectionStream } from '../core/formats/litertlm.js';
import { pythonEnvPath } from '../core/paths.js';
import { PYTHON_STAGE_ENV } from '../core/stages/convert.js';
import { readStageParams, runStage, stageOut } from './lib/protocol.js';

/** Set by the stage definition: this stage's folder in the run, and the stage Python. */
const STAGE_DIR_ENV = 'WORKBENCH_STAGE_DIR';
const PYTHON_ENV = 'WORKBENCH_PYTHON';

interface NumericOutcome {
  status: 'done' | 'failed' | 'skipped';
  result?: Record<string, unknown>;
  error?: { code: string; message: string; hint?: string };
}

/** Errors that mean "this host cannot run the comparison" (set-up, not fidelity): the sub-step is skipped, not failed. */
const ENVIRONMENT_CODES = new Set(['python_unavailable', 'missing_package', 'python_not_found', 'python_unsuitable']);

await runStage(async () => {
  const params = readStageParams(VerifyParams);
  const stageDir = process.env[STAGE_DIR_ENV] ?? path.join(os.tmpdir(), `workbench-verify-${process.pid}`);
  await mkdir(stageDir, { recursive: true });

  stageOut.progress(0.02, 'checklist', 'Reading the model folder and the bundle');
  const report = await checkFidelity({
    modelDir: path.resolve(params.modelDir),
    bundlePath: path.resolve(params.bundlePath),
    ...(params.metadataPath ? { metadataPath: path.resolve(params.metadataPath) } : {}),
    intendedContext: params.intendedContext ?? null,
  });
  const files = await writeReportFiles(report, path.join(stageDir, 'fidelity-report'));
  for (const item of report.items) {
    if (item.status !== 'pass') stageOut.log(item.status === 'fail' ? 'error' : 'warn', `${item.status.toUpperCase()} ${item.title}: ${item.explanation}`);
  }
  const s = report.summary;
  stageOut.log('info', `Fidelity checklist: ${s.pass} pass, ${s.warn} warn, ${s.fail} fail.`);
  stageOut.metric('fidelity.pass', s.pass);
  stageOut.metric('fidelity.warn', s.warn);
  stageOut.metric('fidelity.fail', s.fail);
  stageOut.artifact('fidelity-report', files.json);
  stageOut.artifact('fidelity-report-md', files.markdown);

  let numeric: NumericOutcome | null = null;
  if (params.numeric) {
    stageOut.progress(0.2, 'numeric', 'Teacher-forced comparison of the HF model and the .tflite (Python)');
    numeric = await runNumeric(params, stageDir);
  }
  if (numeric?.status === 'failed' && numeric.error && ENVIRONMENT_CODES.has(numeric.error.code)) {
    numeric = { ...numeric, status: 'skipped' };
    stageOut.log('warn', `Numeric comparison skipped: ${numeric.error!.message}${numeric.error!.hint ? ` ${numeric.error!.hint}` : ''} The checklist ran; the run goes on.`);
  }
  stageOut.result({ report, reportFiles: files, ...(numeric ? { numeric } : {}) });
  if (numeric?.status === 'failed' && numeric.error) {
    // No "done" progress first: a failed stage must not read as finished.
    throw new WorkbenchError(numeric.error.code, `The checklist is stored, but the numeric comparison failed: ${numeric.error.message}`, numeric.error.hint ? { hint: numeric.error.hint } : undefined);
  }
  const numericNote = numeric === null ? '' : numeric.status === 'skipped' ? ` · numeric comparison skipped (${numeric.error?.code === 'missing_package' ? 'Python packages missing' : 'no Python'}; see the log)` : ' · numeric comparison done';
  stageOut.progress(1, 'done', `Checklist: ${s.pass} pass, ${s.warn} warn, ${s.fail} fail${numericNote}`);
});

/** The .tflite to compare: the bundle itself, or its TFLiteModel section copied out of the .litertlm. */
async function tfliteFor(bundlePath: string, stageDir: string): Promise<string> {
  if (bundlePath.toLowerCase().endsWith('.tflite')) return bundlePath;
  const header = readLitertlmHeader(bundlePath);
  const section = header.sections.find((s) => s.dataType === SectionType.TFLiteModel);
  if (!section) throw new WorkbenchError('no_tflite_section', `${path.basename(bundlePath)} holds no TFLiteModel section to compare.`);
  const file = path.join(stageDir, 'model.tflite');
  stageOut.log('info', `Extracting the .tflite (${section.endOffset - section.beginOffset} bytes) from the bundle for the interpreter.`);
  await pipeline(sectionStream(bundlePath, section), createWriteStream(file));
  return file;
}

async function runNumeric(params: VerifyParams, stageDir: string): Promise<NumericOutcome> {
  const python = process.env[PYTHON_ENV];
  if (!python) {
    return {
      status: 'failed',
      error: {
        code: 'python_unavailable',
        message: 'No Python interpreter is configured for stages.',
        hint: 'Set up the Python environment on the Environment page (or choose a Python in Settings), then run verify again.',
      },
    };
  }
  const tflitePath = await tfliteFor(path.resolve(params.bundlePath), stageDir);
  const paramsFile = path.join(stageDir, 'numeric-params.json');
  await writeFile(paramsFile, JSON.stringify({ modelDir: path.resolve(params.modelDir), tflitePath, outDir: stageDir }));
  const child = spawn(python, [pythonEnvPath('stages', 'numeric_fidelity.py'), '--params', paramsFile], {
    env: { ...process.env, ...PYTHON_STAGE_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  process.once('SIGTERM', () => child.kill('SIGTERM'));
  let outcome: NumericOutcome = { status: 'failed', error: { code: 'numeric_failed', message: 'The numeric comparison ended without a result.' } };
  let buffered = '';
  const handleLine = (line: string): void => {
    if (!line.trim()) return;
    let event: StageEvent;
    try {
      event = StageEvent.parse(JSON.parse(line));
    } catch {
      stageOut.log('info', line);
      return;
    }
    switch (event.type) {
      case 'progress':
        stageOut.progress(event.fraction === null ? null : 0.2 + 0.78 * event.fraction, `numeric${event.phase ? `: ${event.phase}` : ''}`, event.message);
        break;
      case 'log':
        stageOut.log(event.level, event.text);
        break;
      case 'metric':
        stageOut.metric(event.name, event.value, event.unit);
        break;
      case 'artifact':
        stageOut.artifact(event.kind, event.path);
        break;
      case 'result':
        outcome = { status: 'done', result: event.data };
        break;
      case 'error':
        outcome = { status: 'failed', error: { code: event.code, message: event.message, ...(event.hint ? { hint: event.hint } : {}) } };
        break;
    }
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    lines.forEach(handleLine);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line.trim()) stageOut.log('debug', line);
  });
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      outcome = { status: 'failed', error: { code: 'python_unavailable', message: `${python} could not be started (${error.message}).`, hint: 'Set up the Python environment on the Environment page, then run verify again.' } };
      resolve(null);
    });
    child.once('close', resolve);
  });
  handleLine(buffered);
  if (code !== 0 && outcome.status === 'done') outcome = { status: 'failed', error: { code: 'numeric_failed', message: `The numeric comparison exited with code ${code}.` } };
  return outcome;
}
