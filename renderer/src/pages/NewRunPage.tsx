/**
 * New run: the guided pipeline, the demonstration (one button: a run that
 * trains, packages and checks the demo model), and a self-test that needs no model.
 */
import { useState } from 'react';
import { SelftestParams as SelftestParamsSchema, type SelftestParams } from '../../../main/common/stages/selftest';
import { useApi, useAction } from '../api/hooks';
import { ErrorBox, Field } from '../components/common';
import { navigate } from '../router';
import { Wizard } from '../wizard/Wizard';

/** The hint a WorkbenchError carries in its details, for ErrorBox. */
function hintOf(details: unknown): { hint?: string } {
  const hint = (details as { hint?: unknown } | undefined)?.hint;
  return typeof hint === 'string' ? { hint } : {};
}

export function NewRunPage() {
  const api = useApi();
  const [seconds, setSeconds] = useState(8);
  const [lines, setLines] = useState(400);
  const [allocate, setAllocate] = useState(0);
  const [failAt, setFailAt] = useState('');
  const failFraction = failAt.trim() === '' ? null : Number(failAt) / 100;
  // Checked by the stage's own schema before anything is sent, and said in the form's units.
  const fits = <K extends keyof SelftestParams>(field: K, value: SelftestParams[K]) => SelftestParamsSchema.shape[field].safeParse(value).success;
  const problems = {
    seconds: fits('durationSeconds', seconds) ? undefined : 'From 0 to 3600 seconds.',
    lines: fits('logLines', lines) ? undefined : 'A whole number from 0 to 2,000,000.',
    allocate: fits('allocateMiB', allocate) ? undefined : 'A whole number of MiB from 0 to 65,536.',
    failAt: fits('failAt', failFraction) ? undefined : 'A percentage from 0 to 100, or empty for never.',
  };
  const invalid = Object.values(problems).some(Boolean);
  const start = useAction(async () => {
    const { id } = await api.call('runs.start', {
      plan: {
        name: 'Self-test',
        stages: [{ kind: 'selftest', params: { durationSeconds: seconds, logLines: lines, allocateMiB: allocate, failAt: failFraction } }],
      },
    });
    navigate(`/runs/${id}`);
  });
  // One call: the server picks a fresh folder and refuses, with the CLI's sentence, a Python without torch (no run is created then).
  const demo = useAction(async () => {
    const { id } = await api.call('demo.start', {});
    navigate(`/runs/${id}`);
  });
  return (
    <div className="page" data-testid="new-run-page">
      <header className="page-header">
        <h1>New run</h1>
      </header>
      <details className="card selftest-card" data-testid="demo-card" open>
        <summary>Demo — watch the behaviour check find a real defect</summary>
        <p className="muted">
          Trains a tiny Qwen2 chat model with the Python the Environment page names for the behaviour check (it needs torch; about a minute or two), packages it twice — with the
          metadata a field team shipped and with that metadata fixed — and runs the behaviour check on both, as one run you can watch. Its page then shows why the shipped
          bundle's answers differ and that the fixed bundle's all match. The files go to a new folder in the workbench's data folder.
        </p>
        <div className="actions">
          <button type="button" onClick={() => void demo.run()} disabled={demo.pending} data-testid="demo-start">
            {demo.pending ? 'Starting the demo…' : 'Run the demo'}
          </button>
          <span className="muted small">
            In a terminal: <code>workbench demo</code> (from the app folder: <code>npm run -s workbench -- demo --out workbench-demo</code>)
          </span>
        </div>
        {demo.error ? (
          <div data-testid="demo-error">
            <ErrorBox error={{ code: demo.error.code, message: demo.error.message, ...hintOf(demo.error.details) }} title="The demo did not start" />
            <p className="small">
              <a href="#/environment">Environment</a> shows which Python the behaviour check uses; <a href="#/settings">Settings</a> chooses another.
            </p>
          </div>
        ) : null}
      </details>
      <details className="card selftest-card" data-testid="selftest-card">
        <summary>Self-test — try the workbench without a model</summary>
        <p className="muted">Starts a stage that behaves like a conversion (phases, progress, logs, optional memory growth) but loads no model and writes no model file. Use it to check the runner, history, logs and memory guard on this host.</p>
        <div className="inline-fields">
          <Field label="Duration (s)" error={problems.seconds}>
            <input type="number" min={0} max={3600} value={seconds} onChange={(event) => setSeconds(Number(event.target.value))} data-testid="selftest-seconds" />
          </Field>
          <Field label="Log lines" error={problems.lines}>
            <input type="number" min={0} value={lines} onChange={(event) => setLines(Number(event.target.value))} data-testid="selftest-lines" />
          </Field>
          <Field label="Allocate (MiB)" error={problems.allocate}>
            <input type="number" min={0} value={allocate} onChange={(event) => setAllocate(Number(event.target.value))} data-testid="selftest-allocate" />
          </Field>
          <Field label="Fail at (%)" error={problems.failAt}>
            <input type="number" min={0} max={100} placeholder="never" value={failAt} onChange={(event) => setFailAt(event.target.value)} data-testid="selftest-failat" />
          </Field>
        </div>
        <button type="button" onClick={() => void start.run()} disabled={start.pending || invalid} data-testid="start-selftest">
          Start self-test
        </button>
        {start.error ? <ErrorBox error={start.error} /> : null}
      </details>
      <Wizard />
    </div>
  );
}
