/**
 * The fidelity checklist (docs/fidelity.md): one row per check, failures
 * first, each with its verdict, one-sentence explanation, evidence, fix and
 * source; the prompt differences side by side; export as Markdown or JSON;
 * and, when the metadata fix would help, the button that runs it. Used by
 * the wizard's Verify step and by the verify panel on a run's page.
 */
import { useState } from 'react';
import type { CheckItem, CheckStatus, FidelityReport, PromptDiff } from '../../../main/common/fidelity';
import { useApi } from '../api/hooks';
import './FidelityChecklist.css';

const BADGE: Record<CheckStatus, { label: string; className: string }> = {
  pass: { label: 'pass', className: 'badge badge-succeeded' },
  warn: { label: 'warn', className: 'badge badge-interrupted' },
  fail: { label: 'fail', className: 'badge badge-failed' },
};
const ORDER: CheckStatus[] = ['fail', 'warn', 'pass'];

function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

/** The text around the first difference, with the differing part marked. */
function Excerpt({ text, at }: { text: string; at: number | null }) {
  if (at === null) return <pre className="mono fidelity-pre">{text}</pre>;
  const from = Math.max(0, at - 120);
  return (
    <pre className="mono fidelity-pre">
      {from > 0 ? '…' : ''}
      {text.slice(from, at)}
      <mark>{text.slice(at, at + 80) || '⟨end⟩'}</mark>
      {text.slice(at + 80, at + 200)}
      {at + 200 < text.length ? '…' : ''}
    </pre>
  );
}

function DiffView({ diff }: { diff: PromptDiff }) {
  return (
    <details className="fidelity-diff">
      <summary>
        {diff.conversation}
        {diff.textOffset !== null ? ` · text differs at character ${diff.textOffset}` : ''}
        {diff.tokenOffset !== null ? ` · ids differ at token ${diff.tokenOffset}` : ''}
      </summary>
      <div className="fidelity-diff-cols">
        <div>
          <div className="k">Model's chat template (transformers)</div>
          <Excerpt text={diff.expectedText} at={diff.textOffset} />
        </div>
        <div>
          <div className="k">Bundle, as the runtime renders it</div>
          <Excerpt text={diff.actualText} at={diff.textOffset} />
        </div>
      </div>
    </details>
  );
}

function ItemRow({ item }: { item: CheckItem }) {
  const badge = BADGE[item.status];
  const [open, setOpen] = useState(item.status !== 'pass');
  return (
    <li className={`fidelity-item fidelity-${item.status}`} data-testid={`fidelity-item-${item.id}`} data-status={item.status}>
      <button type="button" className="fidelity-head" onClick={() => setOpen(!open)} aria-expanded={open}>
        <span className={badge.className}>{badge.label}</span>
        <span className="fidelity-title">{item.title}</span>
      </button>
      {open ? (
        <div className="fidelity-body">
          <p>{item.explanation}</p>
          {item.evidence.length > 0 ? (
            <table className="kv">
              <tbody>
                {item.evidence.map((e, i) => (
                  <tr key={i}>
                    <th>{e.label}</th>
                    <td className="mono">{e.value}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {item.fix ? (
            <p>
              <strong>Fix:</strong> {item.fix}
              {item.fixableByMetadata ? <em> (the metadata fix does this)</em> : null}
            </p>
          ) : null}
          {item.diffs?.map((d) => <DiffView key={d.conversation} diff={d} />)}
          <p className="fidelity-source">
            <code>{item.id}</code> · {item.source}
          </p>
        </div>
      ) : null}
    </li>
  );
}

export function FidelityChecklist({ report, onFix, fixing, fixTarget }: { report: FidelityReport; onFix?: () => void; fixing?: boolean; fixTarget?: string }) {
  const api = useApi();
  const s = report.summary;
  const base = (report.bundlePath.split(/[\\/]/).pop() ?? 'bundle').replace(/\.(litertlm|tflite)$/, '');
  const exportMarkdown = async () => {
    const { markdown } = await api.call('fidelity.markdown', { report });
    download(`${base}-fidelity.md`, 'text/markdown', markdown);
  };
  return (
    <div className="fidelity" data-testid="fidelity-checklist" data-overall={s.overall}>
      <div className="actions">
        <span className={BADGE[s.overall].className}>{s.overall}</span>
        <span>
          {s.pass} pass · {s.warn} warn · {s.fail} fail
        </span>
        <button type="button" className="secondary" onClick={() => void exportMarkdown()}>
          Export Markdown
        </button>
        <button type="button" className="secondary" onClick={() => download(`${base}-fidelity.json`, 'application/json', JSON.stringify(report, null, 2))}>
          Export JSON
        </button>
        {onFix && s.fixAvailable ? (
          <button type="button" onClick={onFix} disabled={fixing} data-testid="fidelity-fix" title={fixTarget ? `Writes ${fixTarget}; the bundle checked here is kept as it is.` : undefined}>
            {fixing ? 'Re-packaging…' : 'Fix metadata (seconds, no re-conversion)'}
          </button>
        ) : null}
      </div>
      {onFix && s.fixAvailable && fixTarget ? (
        <p className="muted" data-testid="fidelity-fix-target">
          The fix writes <span className="mono">{fixTarget}</span> and keeps the bundle checked here as it is.
        </p>
      ) : null}
      <ul className="fidelity-list">
        {ORDER.flatMap((status) => report.items.filter((i) => i.status === status)).map((item) => (
          <ItemRow key={item.id} item={item} />
        ))}
      </ul>
    </div>
  );
}
