/**
 * Run reports (issue 16, item 4): a run of any kind exported as Markdown or
 * as a self-contained HTML file a person can send. `exportReport` is what
 * the API method `runs.exportReport` and `workbench runs export` call.
 */
import type { ReportFormat } from '../../common/report.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { buildReportModel, type ReportSource } from './model.js';

export function exportReport(source: ReportSource, runId: number, format: ReportFormat, now = Date.now()): { format: ReportFormat; fileName: string; mimeType: string; text: string } {
  const model = buildReportModel(source, runId, now);
  const text = format === 'html' ? renderHtml(model) : renderMarkdown(model);
  return { format, fileName: `run-${runId}-report.${format}`, mimeType: format === 'html' ? 'text/html' : 'text/markdown', text };
}
