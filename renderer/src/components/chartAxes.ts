/**
 * Time and memory labels for the memory chart, readable for a 20-second
 * self-test and a 40-minute conversion alike: ticks at round steps (1 s …
 * 1 h), labelled "15 s" while the run is under a minute and "m:ss" / "h:mm:ss"
 * beyond. Pure, so it is unit-tested in Node.
 */
import { formatBytes } from '../../../main/common/format';

/** Tick steps in seconds uPlot may choose from (it picks the smallest that keeps labels apart). */
export const TIME_STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400];

export function formatElapsed(seconds: number, spanSeconds: number): string {
  if (spanSeconds < 60) return `${Number(seconds.toFixed(1))} s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** RAM tick steps in GiB, powers of two: 64 MiB, 128 MiB, … 1 GiB, 2 GiB, … (never "102 MiB"). */
export const RAM_STEPS = Array.from({ length: 16 }, (_, i) => 2 ** (i - 6));

const GiB = 1024 ** 3;

/** A chart value held in GiB, in the app's units (MiB below 1 GiB). */
export function formatGiB(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : formatBytes(value * GiB);
}
