/**
 * The run report as one self-contained HTML file: inline CSS, inline SVG
 * charts, no script and no external request (a Content-Security-Policy
 * meta tag forbids both), so it opens the same from an e-mail attachment
 * years later. Every user-controlled string (prompts, model output, paths,
 * errors, run names) goes through `esc`.
 */
import { formatBytes, formatDuration } from '../../common/format.js';
import type { ReportModel } from './model.js';
import { answerNote, evaluationFacts, fmtMetric, memoryRows, overviewRows, paretoFront, parameterRows, stageRows, title, verdictWord } from './sections.js';
import { lineChart, scatter } from './svg.js';

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2433; margin: 0; background: #f6f7f9; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 12px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #e3e6ec; padding-bottom: 4px; } h3 { font-size: 15px; margin: 16px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; table-layout: auto; }
th, td { text-align: left; vertical-align: top; border-top: 1px solid #e3e6ec; padding: 5px 8px; }
th { color: #5b6478; font-weight: 600; }
table.kv th { width: 260px; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12.5px; white-space: pre-wrap; overflow-wrap: anywhere; }
.muted { color: #5b6478; } .small { font-size: 12px; }
.verdict { font-weight: 600; padding: 8px 10px; border-radius: 6px; }
.verdict.MATCH { background: #e3f5ee; color: #1a7f37; } .verdict.LATENT { background: #fff4e0; color: #9a5b00; } .verdict.DIFFER { background: #fdecea; color: #b00020; }
.badge { display: inline-block; font-size: 11.5px; font-weight: 600; padding: 1px 8px; border-radius: 999px; background: #eef0f4; color: #475067; }
.badge.latent { background: #fff4e0; color: #9a5b00; }
ol.causes li { margin: 6px 0; } ol.causes ul { margin: 2px 0 0; padding-left: 18px; color: #3b4356; font-size: 12.5px; }
svg { max-width: 100%; height: auto; display: block; margin: 6px 0; }
footer { margin-top: 32px; color: #5b6478; font-size: 12px; }
`;

function kv(rows: [string, string][]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

function table(head: string[], rows: string[][], testId?: string): string {
  return `<table${testId ? ` data-testid="${testId}"` : ''}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function memoryChart(m: ReportModel): string {
  if (m.samples.length < 2) return '<p class="muted">No memory samples were recorded for this run.</p>';
  const t0 = m.samples[0]!.t;
  const GiB = 1024 ** 3;
  const pred = m.predictions[0];
  return lineChart({
    series: [
      { name: 'stage tree RSS', color: '#1f56c6', points: m.samples.map((s) => [(s.t - t0) / 1000, s.treeRss / GiB]) },
      { name: 'host RAM in use', color: '#9aa3b5', points: m.samples.map((s) => [(s.t - t0) / 1000, s.sysUsed / GiB]) },
    ],
    rules: pred ? [{ y: pred.expectedBytes / GiB, label: `predicted peak ${formatBytes(pred.expectedBytes)}`, color: '#b4440c' }] : [],
    xLabel: 'seconds since the first sample',
    xFormat: (x) => formatDuration(x * 1000),
    yFormat: (y) => `${y.toFixed(2)} GiB`,
    esc,
    testId: 'report-memory-chart',
  });
}

export function renderHtml(m: ReportModel): string {
  const body: string[] = [`<h1>${esc(title(m))}</h1>`, kv(overviewRows(m))];
  const params = parameterRows(m);
  body.push('<h2>Parameters</h2>', params.length > 0 ? table(['Stage', 'Parameter', 'Value'], params) : '<p class="muted">(none)</p>');
  body.push('<h2>Stages</h2>', table(['Stage', 'Status', 'Duration', 'Peak RAM', 'Note'], stageRows(m), 'report-stages'));
  body.push('<h2>Memory</h2>', kv(memoryRows(m)), memoryChart(m));

  for (const { stage, result } of m.evaluations) {
    const s = result.summary;
    const word = verdictWord(result);
    body.push(`<h2>Behaviour check (stage ${stage.idx + 1})</h2>`, `<p class="verdict ${word}" data-testid="report-verdict">${word} — ${esc(s.text)}</p>`, `<p class="muted">${esc(evaluationFacts(result))}</p>`);
    if (s.causes.length > 0) {
      body.push('<h3>Causes, most evidenced first</h3><ol class="causes" data-testid="report-causes">');
      for (const c of s.causes) {
        body.push(`<li data-kind="${esc(c.kind)}"><span class="badge${c.latent ? ' latent' : ''}">${c.latent ? 'latent · ' : ''}${esc(c.kind)}</span> ${esc(c.text)}`);
        if (c.evidence.length > 0) body.push(`<ul>${c.evidence.map((e) => `<li>${esc(e.label)}: <span class="mono">${esc(e.value)}</span></li>`).join('')}</ul>`);
        body.push('</li>');
      }
      body.push('</ol>');
    }
    body.push('<h3>Prompts</h3><table data-testid="report-prompts"><thead><tr><th>Prompt</th><th>Reference (PyTorch)</th><th>Bundle (own metadata)</th><th>Bundle (greedy)</th><th>First cause</th></tr></thead><tbody>');
    for (const p of result.prompts) {
      const answer = (a: typeof p.reference) => `<div class="mono">${esc(a.text)}</div><div class="muted small">${esc(answerNote(a))}</div>`;
      body.push(
        `<tr><td><b>${esc(p.label)}</b><div class="mono small">${esc(p.messages.at(-1)!.content)}</div></td><td>${answer(p.reference)}</td><td>${answer(p.bundle)}</td><td>${answer(p.greedy)}</td><td>${p.cause ? `<span class="badge">${esc(p.cause.kind)}</span>` : p.firstDivergence.token === null ? 'same' : '—'}</td></tr>`,
      );
    }
    body.push('</tbody></table>');
  }
  for (const c of m.corpus) {
    body.push(`<h2>Corpus metrics (stage ${esc(c.stage)})</h2>`, `<p class="muted">${esc(c.source)}</p>`, table(['Metric', 'Value'], c.values.map((v) => [v.name, fmtMetric(v.name, v.value)]), 'report-corpus'));
    if (c.kldPerPosition) {
      body.push(lineChart({ series: [{ name: 'KL(reference ‖ bundle) per position', color: '#1f56c6', points: c.kldPerPosition.map((v, i) => [i * c.stride, v]) }], xLabel: c.stride > 1 ? `scored position (maximum over ${c.stride})` : 'scored position', xFormat: (x) => String(Math.round(x)), yFormat: (y) => y.toExponential(1), esc, testId: 'report-kld-chart' }));
    }
  }
  for (const t of m.recipes) {
    const front = t.pareto.length > 0 ? new Set(t.pareto) : paretoFront(t.rows);
    body.push(`<h2>Recipes (stage ${esc(t.stage)})</h2>`);
    body.push(
      table(
        ['Recipe', 'Bundle size', 'Device memory', 'Mean KLD', 'Top-1', 'PPL ratio', 'Greedy', 'Decode tok/s', 'Pareto'],
        t.rows.map((r) => [
          `${r.recipe}${r.recipe === t.recommended ? ' (recommended)' : ''}${r.error ? ` — ${r.error}` : ''}`,
          formatBytes(r.bytes),
          formatBytes(r.deviceBytes),
          r.meanKld === null ? '—' : r.meanKld.toExponential(3),
          r.top1Agreement === null ? '—' : `${(r.top1Agreement * 100).toFixed(1)}%`,
          r.pplRatio === null ? '—' : r.pplRatio.toFixed(4),
          r.greedy ?? '—',
          r.decodeTokensPerSecond === null ? '—' : r.decodeTokensPerSecond.toFixed(1),
          front.has(r.recipe) ? 'yes' : '',
        ]),
        'report-recipes',
      ),
    );
    const pts = t.rows.filter((r) => r.bytes !== null && r.meanKld !== null).map((r) => ({ label: r.recipe, x: r.bytes! / 1024 ** 2, y: r.meanKld!, front: front.has(r.recipe), marked: r.recipe === t.recommended }));
    body.push(scatter({ points: pts, xLabel: 'bundle size (MiB)', yLabel: 'mean KLD', xFormat: (x) => x.toFixed(0), yFormat: (y) => y.toExponential(1), esc, testId: 'report-recipes-chart' }));
    if (t.recommended) body.push(`<p>Recommended: <b>${esc(t.recommended)}</b>${t.reason ? ` — ${esc(t.reason)}` : ''}</p>`);
  }
  for (const o of m.otherResults) body.push(`<h2>Result of stage ${o.stage.idx + 1} (${esc(o.stage.kind)})</h2>`, table(['Field', 'Value'], o.fields.map((f) => [f.name, f.value])));
  body.push(`<footer>Convert Workbench run report · run ${m.run.id} · self-contained: no scripts, no external resources.</footer>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title(m))}</title>
<style>${CSS}</style></head>
<body><main data-testid="report">${body.join('\n')}</main></body></html>
`;
}
