/**
 * The run page's panel for package stages: the bundle written (with a link
 * to open it on the Inspect page), its sections, the LlmMetadata that went
 * in and where each field came from, and the warnings to act on (a
 * repetition penalty the runtime cannot apply, no KV-cache length, …).
 */
import { WarningList } from './common';
import { formatBytes } from '../../../main/common/format';
import type { TokenUnionJson } from '../../../main/common/formats';
import type { RunDetail } from '../../../main/common/runs';
import { PackageResult } from '../../../main/common/stages/package';

const token = (t: TokenUnionJson): string => ('tokenStr' in t ? JSON.stringify(t.tokenStr) : `id ${t.tokenIds.ids.join(' + ')}`);

export function PackagePanel({ run }: { run: RunDetail }) {
  const results = run.stages.flatMap((stage) => {
    if (stage.kind !== 'package' || !stage.result) return [];
    const parsed = PackageResult.safeParse(stage.result);
    return parsed.success ? [{ stage, result: parsed.data }] : [];
  });
  if (results.length === 0) return null;
  return (
    <>
      {results.map(({ stage, result }) => {
        const m = result.metadata;
        const sampler = m.samplerParams;
        return (
          <section key={stage.id} className="card" data-testid="package-panel">
            <h2>Packaged bundle</h2>
            <section className="summary-grid">
              <div className="wide">
                <span className="k">Bundle</span>
                <span className="v mono">
                  {result.outPath} ({formatBytes(result.sizeBytes)}) · <a href={`#/inspect?path=${encodeURIComponent(result.outPath)}`}>Inspect</a>
                </span>
              </div>
              <div>
                <span className="k">Sections</span>
                <span className="v">{result.sections.map((s) => s.dataTypeName).join(', ')}</span>
              </div>
              <div>
                <span className="k">Model</span>
                <span className="v">
                  {result.tflite.quantScheme}, KV cache {result.tflite.kvCacheMaxLen ?? '—'}, prefill {result.tflite.prefillLengths.join(', ') || '—'}
                </span>
              </div>
              <div>
                <span className="k">Stop tokens</span>
                <span className="v">{m.stopTokens?.map(token).join(', ') || <span className="warn-text">none</span>}</span>
              </div>
              <div>
                <span className="k">Start token</span>
                <span className="v">{m.startToken ? token(m.startToken) : 'none'}</span>
              </div>
              <div>
                <span className="k">Sampler</span>
                <span className="v">{sampler ? `${sampler.type ?? '—'} k ${sampler.k ?? '—'} p ${sampler.p ?? '—'} T ${sampler.temperature ?? '—'}` : 'runtime default'}</span>
              </div>
              <div>
                <span className="k">Max tokens · model type</span>
                <span className="v">
                  {m.maxNumTokens ?? '—'} · {m.llmModelType ? Object.keys(m.llmModelType).join(', ') : '—'}
                </span>
              </div>
            </section>
            {Object.keys(result.metadataSources).length > 0 ? (
              <details style={{ marginTop: 10 }}>
                <summary>Where the metadata came from</summary>
                <table className="kv">
                  <tbody>
                    {Object.entries(result.metadataSources).map(([field, source]) => (
                      <tr key={field}>
                        <th>{field}</th>
                        <td>{source}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </details>
            ) : null}
            <WarningList warnings={result.warnings} />
          </section>
        );
      })}
    </>
  );
}
