/**
 * Run reports: the formats a run can be exported in (main/core/report/).
 */
import { z } from 'zod';

export const ReportFormat = z.enum(['md', 'html']);
export type ReportFormat = z.infer<typeof ReportFormat>;

export const ExportedReport = z.object({
  format: ReportFormat,
  /** A file name to save it under: run-<id>-report.<format>. */
  fileName: z.string(),
  mimeType: z.string(),
  text: z.string(),
});
export type ExportedReport = z.infer<typeof ExportedReport>;
