/**
 * The fidelity report as files people keep and share: JSON (the schema in
 * main/common/fidelity.ts, validated before writing) and Markdown (a
 * checklist a reviewer reads top to bottom: verdict, then each item with its
 * evidence, fix and source, then the prompt diffs).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FidelityReport } from '../../common/fidelity.js';
import type { CheckItem, CheckStatus, PromptDiff } from '../../common/fidelity.js';

const MARK: Record<CheckStatus, string> = { pass: '✅ pass', warn: '⚠️ warn', fail: '❌ fail' };

export function reportToJson(report: FidelityReport): string {
  return `${JSON.stringify(FidelityReport.parse(report), null, 2)}\n`;
}

/** Text inside a Markdown table cell: pipes escaped, newlines as <br>. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A fenced block that cannot be closed early by backticks in the content. */
function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}text\n${text}\n${ticks}`;
}

function itemSection(item: CheckItem): string {
  const lines = [`### ${MARK[item.status]} · ${item.title}`, '', `\`${item.id}\` — ${item.explanation}`, ''];
  if (item.evidence.length > 0) {
    lines.push('| evidence | value |', '|---|---|');
    for (const e of item.evidence) lines.push(`| ${cell(e.label)} | ${cell(e.value)} |`);
    lines.push('');
  }
  if (item.fix) lines.push(`**Fix:** ${item.fix}${item.fixableByMetadata ? ' _(`--fix-metadata` does this)_' : ''}`, '');
  lines.push(`<sub>Source: ${item.source}</sub>`, '');
  return lines.join('\n');
}

function diffSection(diff: PromptDiff): string {
  const lines = [`#### ${diff.conversation}`, ''];
  if (diff.textOffset !== null) lines.push(`Texts differ at character ${diff.textOffset}.`, '');
  if (diff.tokenOffset !== null) lines.push(`Token ids differ at index ${diff.tokenOffset} (lengths ${diff.expectedIds?.length ?? '?'} vs ${diff.actualIds?.length ?? '?'}).`, '');
  lines.push("Model's chat template (transformers):", '', fence(diff.expectedText), '', 'Bundle, as the runtime renders it:', '', fence(diff.actualText), '');
  return lines.join('\n');
}

export function reportToMarkdown(report: FidelityReport): string {
  const s = report.summary;
  const verdict =
    s.overall === 'pass'
      ? 'Every check passes: the bundle asks the runtime for what the model folder says the model expects.'
      : s.overall === 'warn'
        ? 'No check fails, but some need a look.'
        : 'Some checks fail: on-device output will differ from the model for the reasons below.';
  const lines = [
    '# Fidelity report',
    '',
    `| | |`,
    `|---|---|`,
    `| model folder | \`${cell(report.modelDir)}\` |`,
    `| bundle | \`${cell(report.bundlePath)}\` (${report.bundleKind}) |`,
    `| intended context | ${report.intendedContext ?? 'not given'} |`,
    `| checked | ${report.createdAt} |`,
    `| result | ${s.pass} pass · ${s.warn} warn · ${s.fail} fail |`,
    '',
    `**${MARK[s.overall]}** — ${verdict}${s.fixAvailable ? ' Re-packaging with corrected metadata (`workbench package --fix-metadata`) resolves the items marked as such, in seconds, without re-conversion.' : ''}`,
    '',
    '## Checklist',
    '',
  ];
  const order: CheckStatus[] = ['fail', 'warn', 'pass'];
  for (const status of order) for (const item of report.items.filter((i) => i.status === status)) lines.push(itemSection(item));
  const diffs = report.items.flatMap((i) => (i.id === 'prompt-format.text' ? (i.diffs ?? []) : []));
  if (diffs.length > 0) {
    lines.push('## Prompt differences', '');
    for (const d of diffs) lines.push(diffSection(d));
  }
  if (report.correctedMetadata) {
    lines.push('## Corrected metadata', '', 'What the metadata fix writes (LlmMetadata, protobuf JSON mapping):', '', fence(JSON.stringify(report.correctedMetadata, null, 2)), '');
  }
  return lines.join('\n');
}

/** Writes `<base>.json` and `<base>.md`; returns both paths. */
export async function writeReportFiles(report: FidelityReport, basePath: string): Promise<{ json: string; markdown: string }> {
  await mkdir(path.dirname(basePath), { recursive: true });
  const json = `${basePath}.json`;
  const markdown = `${basePath}.md`;
  await writeFile(json, reportToJson(report));
  await writeFile(markdown, reportToMarkdown(report));
  return { json, markdown };
}
