/**
 * The run report as Markdown (GitHub-flavoured tables): for a ticket, a
 * chat message or a commit. Every user-controlled string (prompts, model
 * output, paths, errors) goes through `cell`/`inline`, so it cannot break a
 * table or open a code block.
 */
import { formatBytes } from '../../common/format.js';
import type { ReportModel } from './model.js';
import { answerNote, evaluationFacts, fmtMetric, memoryRows, overviewRows, paretoFront, parameterRows, stageRows, title, verdictWord } from './sections.js';

/** Text inside a table cell: pipes escaped, newlines shown as ⏎, HTML-looking text defused. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '⏎ ').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/`/g, '\\`');
}

function inline(text: string): string {
  return cell(text).replace(/⏎ /g, ' ');
}

function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

export function renderMarkdown(m: ReportModel): string {
  const out: string[] = [`# ${inline(title(m))}`, ''];
  out.push(...table(['', ''], overviewRows(m)), '');
  out.push('## Parameters', '');
  const params = parameterRows(m);
  out.push(...(params.length > 0 ? table(['Stage', 'Parameter', 'Value'], params) : ['(none)']), '');
  out.push('## Stages', '', ...table(['Stage', 'Status', 'Duration', 'Peak RAM', 'Note'], stageRows(m)), '');
  out.push('## Memory', '', ...table(['', ''], memoryRows(m)), '');

  for (const { stage, result } of m.evaluations) {
    const s = result.summary;
    out.push(`## Behaviour check (stage ${stage.idx + 1})`, '', `**${verdictWord(result)}** — ${inline(s.text)}`, '', inline(evaluationFacts(result)), '');
    if (s.causes.length > 0) {
      out.push('### Causes, most evidenced first', '');
      s.causes.forEach((c, i) => {
        out.push(`${i + 1}. **${c.latent ? 'latent ' : ''}${c.kind}** — ${inline(c.text)}`);
        for (const e of c.evidence) out.push(`   - ${inline(e.label)}: ${inline(e.value)}`);
      });
      out.push('');
    }
    out.push('### Prompts', '');
    out.push(
      ...table(
        ['Prompt', 'Reference (PyTorch)', 'Bundle (own metadata)', 'Bundle (greedy)', 'First cause'],
        result.prompts.map((p) => [
          `${p.label}: ${p.messages.at(-1)!.content}`,
          `${JSON.stringify(p.reference.text)} (${answerNote(p.reference)})`,
          `${JSON.stringify(p.bundle.text)} (${answerNote(p.bundle)})`,
          `${JSON.stringify(p.greedy.text)} (${answerNote(p.greedy)})`,
          p.cause ? p.cause.kind : p.firstDivergence.token === null ? 'same' : '—',
        ]),
      ),
      '',
    );
  }
  for (const c of m.corpus) {
    out.push(`## Corpus metrics (stage ${inline(c.stage)})`, '', inline(c.source), '', ...table(['Metric', 'Value'], c.values.map((v) => [v.name, fmtMetric(v.name, v.value)])), '');
  }
  for (const t of m.recipes) {
    const front = t.pareto.length > 0 ? new Set(t.pareto) : paretoFront(t.rows);
    out.push(`## Recipes (stage ${inline(t.stage)})`, '');
    out.push(
      ...table(
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
      ),
      '',
    );
    if (t.recommended) out.push(`Recommended: **${inline(t.recommended)}**${t.reason ? ` — ${inline(t.reason)}` : ''}`, '');
  }
  for (const o of m.otherResults) {
    out.push(`## Result of stage ${o.stage.idx + 1} (${o.stage.kind})`, '', ...table(['Field', 'Value'], o.fields.map((f) => [f.name, f.value])), '');
  }
  out.push(`_Convert Workbench run report · run ${m.run.id}_`, '');
  return out.join('\n');
}
