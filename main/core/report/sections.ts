/**
 * The report's content as plain rows and sentences, shared by the Markdown
 * and HTML renderers so both say the same thing: each helper returns text
 * (never markup); the renderers escape it for their format.
 */
import { formatBytes, formatDuration, formatTimestamp, STATUS_LABELS } from '../../common/format.js';
import type { EvaluateResult, PromptOutcome } from '../../common/stages/evaluate.js';
import type { ReportModel } from './model.js';

export function title(m: ReportModel): string {
  return `Run ${m.run.id}${m.run.name ? ` — ${m.run.name}` : ''}`;
}

export function overviewRows(m: ReportModel): [string, string][] {
  const r = m.run;
  return [
    ['Status', `${STATUS_LABELS[r.status] ?? r.status}${r.status !== 'succeeded' && r.stages.find((s) => s.error) ? ` — ${r.stages.find((s) => s.error)!.error!.message}` : ''}`],
    ['Model', r.model ?? '—'],
    ['Stages', r.stageKinds.join(' → ') || '—'],
    ['Started', formatTimestamp(r.startedAt ?? r.createdAt)],
    ['Duration', formatDuration(r.startedAt && r.finishedAt ? r.finishedAt - r.startedAt : null)],
    ['Peak RAM (stage tree)', formatBytes(r.peakRssBytes)],
    ['Host', `${r.host.hostname} · ${r.host.platform} ${r.host.arch} · ${r.host.cpuCount} CPUs · ${formatBytes(r.host.totalMemBytes)} RAM · Convert Workbench ${r.host.appVersion}`],
    ['Report generated', formatTimestamp(m.generatedAt)],
  ];
}

function flat(value: unknown, prefix: string, out: [string, string][]): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flat(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(value)) {
    out.push([prefix, value.every((v) => typeof v !== 'object') ? value.join(', ') : JSON.stringify(value)]);
  } else if (value !== undefined) {
    out.push([prefix, String(value)]);
  }
}

/** [stage, parameter, value] for every stage's parameters. */
export function parameterRows(m: ReportModel): [string, string, string][] {
  const rows: [string, string, string][] = [];
  for (const stage of m.run.stages) {
    const pairs: [string, string][] = [];
    flat(stage.params, '', pairs);
    for (const [k, v] of pairs) rows.push([`${stage.idx + 1}. ${stage.kind}`, k, v]);
  }
  return rows;
}

export function stageRows(m: ReportModel): [string, string, string, string, string][] {
  return m.run.stages.map((s) => [
    `${s.idx + 1}. ${s.kind}`,
    STATUS_LABELS[s.status] ?? s.status,
    formatDuration(s.startedAt && s.finishedAt ? s.finishedAt - s.startedAt : null),
    formatBytes(s.peakRssBytes),
    s.error ? `${s.error.message}${s.error.hint ? ` (${s.error.hint})` : ''}` : (s.message ?? ''),
  ]);
}

export function memoryRows(m: ReportModel): [string, string][] {
  const rows: [string, string][] = [['Measured peak RAM (run, stage tree)', formatBytes(m.run.peakRssBytes)]];
  for (const s of m.run.stages) if (s.peakRssBytes) rows.push([`Measured peak, ${s.idx + 1}. ${s.kind}`, formatBytes(s.peakRssBytes)]);
  for (const p of m.predictions) {
    const measured = m.run.peakRssBytes;
    const ratio = measured && p.expectedBytes > 0 ? ` · measured/predicted ${(measured / p.expectedBytes).toFixed(2)}` : '';
    rows.push([`Predicted peak (${p.label})`, `${formatBytes(p.expectedBytes)}${p.highBytes ? ` (up to ${formatBytes(p.highBytes)})` : ''}${ratio}`]);
  }
  if (m.predictions.length === 0) rows.push(['Predicted peak', 'none recorded for this run']);
  if (m.samples.length > 0) {
    const maxSys = Math.max(...m.samples.map((s) => s.sysUsed));
    rows.push(['Memory samples', `${m.samples.length} over ${formatDuration(m.samples.at(-1)!.t - m.samples[0]!.t)}; host RAM in use up to ${formatBytes(maxSys)} of ${formatBytes(m.samples[0]!.sysTotal)}`]);
  }
  return rows;
}

export function evaluationFacts(r: EvaluateResult): string {
  const s = r.summary;
  const numeric = s.numeric ? `; teacher-forced .tflite: top-1 ${(s.numeric.top1Agreement * 100).toFixed(1)}% over ${s.numeric.positions} positions, max |logit error| ${s.numeric.maxAbsLogitError.toFixed(4)}, mean KL ${s.numeric.meanKl.toExponential(2)}` : '';
  return `${s.bundleMatches}/${s.prompts} answers match the reference (greedy ${s.greedyMatches}/${s.prompts}); reference ${r.referenceBackend} (PyTorch), bundle LiteRT-LM ${r.engineVersion} (wasm, CPU), cap ${r.maxTokens} tokens${numeric}.`;
}

export function verdictWord(r: EvaluateResult): 'MATCH' | 'LATENT' | 'DIFFER' {
  const v = r.summary.verdict ?? (r.summary.bundleMatches === r.summary.prompts ? 'match' : 'differ');
  return v === 'match' ? 'MATCH' : v === 'latent' ? 'LATENT' : 'DIFFER';
}

export function answerNote(a: PromptOutcome['reference']): string {
  return a.error ? `error: ${a.error}` : a.stopped ? `stopped on ${a.stopToken}, ${a.tokens} tokens` : `did not stop (${a.stopReason}), ${a.tokens} tokens`;
}

export function fmtMetric(name: string, value: number): string {
  if (name === 'tokens') return String(value);
  if (name === 'top1Agreement') return `${(value * 100).toFixed(2)}%`;
  if (/Seconds$/.test(name)) return `${value.toFixed(1)} s`;
  if (/Kld|rms|DeltaP/i.test(name)) return value.toExponential(3);
  return value.toFixed(4);
}

/** The recipes on the size-versus-KLD plane that no other recipe beats on both (smaller and closer). */
export function paretoFront(rows: { recipe: string; bytes: number | null; meanKld: number | null }[]): Set<string> {
  const pts = rows.filter((r) => r.bytes !== null && r.meanKld !== null) as { recipe: string; bytes: number; meanKld: number }[];
  return new Set(pts.filter((p) => !pts.some((q) => q !== p && q.bytes <= p.bytes && q.meanKld <= p.meanKld && (q.bytes < p.bytes || q.meanKld < p.meanKld))).map((p) => p.recipe));
}
