/**
 * New run: the guided pipeline, and a self-test that needs no model.
 */
import { useState } from 'react';
import { useApi, useAction } from '../api/hooks';
import { ErrorBox, Field } from '../components/common';
import { navigate } from '../router';
import { Wizard } from '../wizard/Wizard';

export function NewRunPage() {
  const api = useApi();
  const [seconds, setSeconds] = useState(8);
  const [lines, setLines] = useState(400);
  const [allocate, setAllocate] = useState(0);
  const [failAt, setFailAt] = useState('');
  const start = useAction(async () => {
    const failFraction = failAt.trim() === '' ? null : Number(failAt) / 100;
    const { id } = await api.call('runs.start', {
      plan: {
        name: 'Self-test',
        stages: [{ kind: 'selftest', params: { durationSeconds: seconds, logLines: lines, allocateMiB: allocate, failAt: failFraction } }],
      },
    });
    navigate(`/runs/${id}`);
  });
  return (
    <div className="page" data-testid="new-run-page">
      <header className="page-header">
        <h1>New run</h1>
      </header>
      <details className="card selftest-card" data-testid="selftest-card">
        <summary>Self-test — try the workbench without a model</summary>
        <p className="muted">Starts a stage that behaves like a conversion (phases, progress, logs, optional memory growth) but loads no model and writes no model file. Use it to check the runner, history, logs and memory guard on this host.</p>
        <div className="inline-fields">
          <Field label="Duration (s)">
            <input type="number" min={0} max={3600} value={seconds} onChange={(event) => setSeconds(Number(event.target.value))} data-testid="selftest-seconds" />
          </Field>
          <Field label="Log lines">
            <input type="number" min={0} value={lines} onChange={(event) => setLines(Number(event.target.value))} data-testid="selftest-lines" />
          </Field>
          <Field label="Allocate (MiB)">
            <input type="number" min={0} value={allocate} onChange={(event) => setAllocate(Number(event.target.value))} data-testid="selftest-allocate" />
          </Field>
          <Field label="Fail at (%)">
            <input type="number" min={0} max={100} placeholder="never" value={failAt} onChange={(event) => setFailAt(event.target.value)} data-testid="selftest-failat" />
          </Field>
        </div>
        <button type="button" onClick={() => void start.run()} disabled={start.pending} data-testid="start-selftest">
          Start self-test
        </button>
        {start.error ? <ErrorBox error={start.error} /> : null}
      </details>
      <Wizard />
    </div>
  );
}
