/**
 * What a stage's preflight reports besides refusing a plan: a line for the
 * run log and, optionally, details recorded with the run. Its own module
 * because both the stage definitions (core/stages) and the memory check they
 * call (core/memory/preflight.ts) produce it, and neither may import the
 * other's folder (test/layering.test.ts forbids the cycle).
 */
export interface PreflightFinding {
  level: 'info' | 'warn';
  message: string;
  /** Recorded with the run (e.g. the predicted peak and the override used). */
  details?: Record<string, unknown>;
}
