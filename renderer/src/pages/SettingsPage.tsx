/**
 * Settings: memory thresholds for the guard, the expert override for
 * predicted out-of-memory, the Python interpreter.
 */
import { useEffect, useState } from 'react';
import { settingsProblems, type Settings } from '../../../main/common/settings';
import { useApi, useAction, useCall } from '../api/hooks';
import { CalibrationCard } from '../components/CalibrationCard';
import { ErrorBox, Field } from '../components/common';

export function SettingsPage() {
  const api = useApi();
  const current = useCall('settings.get', {});
  const [draft, setDraft] = useState<Settings | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (current.data) setDraft(current.data);
  }, [current.data]);
  const save = useAction(async (settings: Settings) => {
    setDraft(await api.call('settings.update', settings));
    setSaved(true);
    setTimeout(() => setSaved(false), 2000);
  });
  const reset = useAction(async () => setDraft(await api.call('settings.reset', {})));
  if (current.error) return <div className="page"><ErrorBox error={current.error} /></div>;
  if (!draft) return <div className="page muted">Loading settings…</div>;
  const memory = draft.memory;
  // The description speaks of what is in force, not of a value still being typed.
  const active = (current.data ?? draft).memory;
  const problems = settingsProblems(draft);
  const problemFor = (field: string) => problems.find((p) => p.field === field)?.message;
  const setMemory = (patch: Partial<Settings['memory']>) => setDraft({ ...draft, memory: { ...memory, ...patch } });
  const percent = (value: number) => Math.round(value * 100);
  return (
    <div className="page" data-testid="settings-page">
      <header className="page-header">
        <h1>Settings</h1>
      </header>
      <section className="card">
        <h2>Memory guard</h2>
        <p className="muted">While a stage runs, RAM is sampled every {active.sampleIntervalMs} ms. The guard stops the stage's process tree when a stop condition holds for {active.consecutiveSamples} samples in a row — before the operating system's out-of-memory killer would, and without touching anything else.</p>
        <div className="inline-fields">
          <Field label="Warn at RAM in use (%)" error={problemFor('warnUsedFraction')}>
            <input type="number" min={10} max={100} value={percent(memory.warnUsedFraction)} onChange={(event) => setMemory({ warnUsedFraction: Number(event.target.value) / 100 })} data-testid="warn-percent" />
          </Field>
          <Field label="Stop at RAM in use (%)" error={problemFor('stopUsedFraction')}>
            <input type="number" min={10} max={100} value={percent(memory.stopUsedFraction)} onChange={(event) => setMemory({ stopUsedFraction: Number(event.target.value) / 100 })} data-testid="stop-percent" />
          </Field>
          <Field label="…or available RAM below (MiB)" error={problemFor('minAvailableMiB')}>
            <input type="number" min={0} value={memory.minAvailableMiB} onChange={(event) => setMemory({ minAvailableMiB: Number(event.target.value) })} />
          </Field>
          <Field label="Swap growth counted as pressure (MiB)" error={problemFor('swapGrowthMiB')}>
            <input type="number" min={0} value={memory.swapGrowthMiB} onChange={(event) => setMemory({ swapGrowthMiB: Number(event.target.value) })} />
          </Field>
          <Field label="Consecutive samples before stopping" error={problemFor('consecutiveSamples')}>
            <input type="number" min={1} max={100} value={memory.consecutiveSamples} onChange={(event) => setMemory({ consecutiveSamples: Number(event.target.value) })} />
          </Field>
          <Field label="Sample every (ms)" error={problemFor('sampleIntervalMs')}>
            <input type="number" min={100} max={10000} step={100} value={memory.sampleIntervalMs} onChange={(event) => setMemory({ sampleIntervalMs: Number(event.target.value) })} />
          </Field>
        </div>
      </section>
      <section className="card">
        <h2>Expert override</h2>
        <label className="check">
          <input type="checkbox" checked={draft.allowPredictedOom} onChange={(event) => setDraft({ ...draft, allowPredictedOom: event.target.checked })} data-testid="allow-oom" />
          Allow starting conversions predicted to run out of memory on this host
        </label>
        <p className="muted">Each run started under this override records it in its history. The live memory guard still applies.</p>
      </section>
      <section className="card">
        <h2>Python</h2>
        <Field label="Interpreter for stages" help="Leave empty to use the environment created on the Environment page.">
          <input type="text" className="path-input" value={draft.pythonPath ?? ''} placeholder="(bootstrapped environment)" onChange={(event) => setDraft({ ...draft, pythonPath: event.target.value.trim() === '' ? null : event.target.value })} />
        </Field>
      </section>
      <div className="actions">
        <button type="button" onClick={() => void save.run(draft)} disabled={save.pending || problems.length > 0} data-testid="save-settings">
          {saved ? 'Saved' : 'Save'}
        </button>
        <button type="button" className="secondary" onClick={() => void reset.run()}>
          Restore defaults
        </button>
      </div>
      {save.error ? <ErrorBox error={save.error} title="Not saved" /> : null}
      <CalibrationCard />
    </div>
  );
}
