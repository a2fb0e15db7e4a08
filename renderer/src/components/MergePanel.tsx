/**
 * The run page's panel for merge stages. While the merge runs: tensors and
 * bytes done, throughput and ETA (from the stage's live progress message) —
 * the stage list above has the progress bar and Cancel, the memory panel the
 * live RSS. Once done: what changed (tensors touched, LoRA modules, the scale
 * each group of modules used), the output (size, files with SHA-256, which
 * files came from the adapter), the verify pass against float64, time,
 * throughput and peak memory, and the warnings.
 */
import { WarningList } from './common';
import { formatBytes, formatDuration } from '../../../main/common/format';
import type { RunDetail } from '../../../main/common/runs';
import { MergeSummary } from '../../../main/common/stages/merge';

const cell = { paddingRight: 18 } as const;

export function MergePanel({ run }: { run: RunDetail }) {
  const stages = run.stages.filter((stage) => stage.kind === 'merge');
  if (stages.length === 0) return null;
  return (
    <>
      {stages.map((stage) => {
        if (stage.status === 'running') {
          return (
            <section key={stage.id} className="card" data-testid="merge-panel" data-state="running">
              <h2>LoRA merge</h2>
              <p className="mono" data-testid="merge-live">
                {stage.message ?? 'Reading headers and planning the merge…'}
              </p>
            </section>
          );
        }
        const parsed = stage.result ? MergeSummary.safeParse(stage.result) : null;
        if (!parsed?.success) return null;
        const s = parsed.data;
        const fromAdapter = s.copiedFiles.filter((f) => f.from === 'adapter');
        return (
          <section key={stage.id} className="card" data-testid="merge-panel" data-state="done">
            <h2>Merged model</h2>
            <section className="summary-grid">
              <div className="wide">
                <span className="k">Folder</span>
                <span className="v mono">
                  {s.outDir} ({formatBytes(s.outputBytes)}) · <a href={`#/inspect?path=${encodeURIComponent(s.outDir)}`}>Inspect</a>
                </span>
              </div>
              <div>
                <span className="k">Tensors changed</span>
                <span className="v" data-testid="merge-touched">
                  {s.tensorsTouched} of {s.tensorsTotal} ({s.modules} LoRA modules)
                </span>
              </div>
              <div>
                <span className="k">Adapter</span>
                <span className="v">
                  r {s.adapter.r}, alpha {s.adapter.loraAlpha}
                  {s.adapter.useRslora ? ', rsLoRA' : ''}
                  {s.adapter.fanInFanOut ? ', fan_in_fan_out' : ''}
                </span>
              </div>
              <div>
                <span className="k">Verify (float64)</span>
                <span className={`v${s.verify && !s.verify.ok ? ' warn-text' : ''}`} data-testid="merge-verify">
                  {s.verify ? `${s.verify.ok ? 'passed' : 'FAILED'}: ${s.verify.checkedValues.toLocaleString()} values in ${s.verify.checkedTensors} tensors, max ${s.verify.maxUlpError.toFixed(2)} ulp` : 'skipped'}
                </span>
              </div>
              <div>
                <span className="k">Time · throughput</span>
                <span className="v">
                  {formatDuration(s.durationMs)} · {formatBytes(s.bytesPerSecond)}/s
                </span>
              </div>
              <div>
                <span className="k">Peak memory</span>
                <span className="v">{formatBytes(s.peakRssBytes)}</span>
              </div>
            </section>
            <table className="kv" style={{ marginTop: 10 }} data-testid="merge-scales">
              <thead>
                <tr>
                  <th style={cell}>scale</th>
                  <th style={cell}>r</th>
                  <th style={cell}>alpha</th>
                  <th style={cell}>modules</th>
                </tr>
              </thead>
              <tbody>
                {s.scales.map((g) => (
                  <tr key={`${g.scale}|${g.r}|${g.alpha}`}>
                    <td className="mono" style={cell}>
                      {g.scale}
                    </td>
                    <td style={cell}>{g.r}</td>
                    <td style={cell}>{g.alpha}</td>
                    <td style={cell}>{g.modules}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <details style={{ marginTop: 10 }}>
              <summary>Files ({s.files.length} written, {s.copiedFiles.length} copied)</summary>
              <table className="kv" data-testid="merge-files">
                <tbody>
                  {s.files.map((f) => (
                    <tr key={f.fileName}>
                      <th>{f.fileName}</th>
                      <td className="mono">
                        {formatBytes(f.bytes)} · sha256 {f.sha256}
                      </td>
                    </tr>
                  ))}
                  {s.copiedFiles.map((f) => (
                    <tr key={f.file}>
                      <th>{f.file}</th>
                      <td>
                        {formatBytes(f.bytes)} · copied from the {f.from}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
            {fromAdapter.length > 0 ? <p className="muted">Taken from the adapter folder (what the fine-tune was trained with): {fromAdapter.map((f) => f.file).join(', ')}.</p> : null}
            <WarningList warnings={s.warnings} />
          </section>
        );
      })}
    </>
  );
}
