/**
 * The live memory chart: system RAM in use and the stage's process-tree RSS
 * over time, with the guard's warn and stop levels and the run's predicted
 * peak as horizontal lines. uPlot draws to one canvas, so a 40-minute run
 * (thousands of samples, downsampled by toColumns) stays smooth; updates are
 * coalesced to one redraw per animation frame.
 */
import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { MemorySample } from '../../../main/common/memory';
import { toColumns } from './memorySeries';

export interface MemoryChartProps {
  samples: readonly MemorySample[];
  /** Fractions of total RAM (Settings.memory). */
  warnUsedFraction: number;
  stopUsedFraction: number;
  /** The run's predicted peak for the stage (expected and high end), when known. */
  estimate?: { expected: number; high: number } | null;
  height?: number;
}

/** Binary units, like the run page's other figures. */
const GB = 1024 ** 3;

export function MemoryChart({ samples, warnUsedFraction, stopUsedFraction, estimate, height = 240 }: MemoryChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const frame = useRef<number | null>(null);
  const total = samples.length > 0 ? samples[samples.length - 1]!.sysTotal : 0;

  const data = useMemo<uPlot.AlignedData>(() => {
    const cols = toColumns(samples);
    const flat = (v: number | null) => cols.t.map(() => v);
    return [
      cols.t,
      cols.sysUsed.map((b) => b / GB),
      cols.treeRss.map((b) => b / GB),
      flat(total ? (total * warnUsedFraction) / GB : null),
      flat(total ? (total * stopUsedFraction) / GB : null),
      flat(estimate ? estimate.expected / GB : null),
      flat(estimate ? estimate.high / GB : null),
    ];
  }, [samples, total, warnUsedFraction, stopUsedFraction, estimate]);

  // One uPlot instance per mount; its options depend only on the height.
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(320, el.clientWidth),
      height,
      scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.08)] } },
      axes: [
        { label: 'time', values: (_u, ticks) => ticks.map(formatElapsed) },
        { label: 'GiB', values: (_u, ticks) => ticks.map((v) => (v >= 10 ? v.toFixed(0) : v.toFixed(1))) },
      ],
      series: [
        { label: 'time', value: (_u, v) => (v === null ? '—' : formatElapsed(v)) },
        { label: 'System RAM in use', stroke: '#6b7a99', width: 1.5, value: gbValue },
        { label: 'Stage RSS', stroke: '#1f56c6', fill: 'rgba(31,86,198,0.10)', width: 2, value: gbValue },
        { label: 'Warn level', stroke: '#c98a00', width: 1, dash: [6, 4], points: { show: false }, value: gbValue },
        { label: 'Stop level', stroke: '#c0392b', width: 1.5, dash: [6, 4], points: { show: false }, value: gbValue },
        { label: 'Predicted peak', stroke: '#7a4fc4', width: 1, dash: [2, 4], points: { show: false }, value: gbValue },
        { label: 'Predicted high', stroke: '#b9a3e8', width: 1, dash: [2, 4], points: { show: false }, value: gbValue },
      ],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
    };
    chart.current = new uPlot(opts, [[], [], [], [], [], [], []], el);
    const resize = new ResizeObserver(() => chart.current?.setSize({ width: Math.max(320, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      if (frame.current !== null) cancelAnimationFrame(frame.current);
      chart.current?.destroy();
      chart.current = null;
    };
  }, [height]);

  useEffect(() => {
    if (frame.current !== null) cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      frame.current = null;
      const c = chart.current;
      if (!c) return;
      c.setData(data);
      // The prediction lines only exist for conversions with an estimate.
      for (const idx of [5, 6]) if (c.series[idx]?.show !== Boolean(estimate)) c.setSeries(idx, { show: Boolean(estimate) });
    });
  }, [data, estimate]);

  return (
    <div
      className="memory-chart"
      ref={host}
      data-testid="memory-chart"
      data-samples={samples.length}
      data-warn-bytes={total ? Math.round(total * warnUsedFraction) : ''}
      data-stop-bytes={total ? Math.round(total * stopUsedFraction) : ''}
      data-estimate-bytes={estimate ? Math.round(estimate.expected) : ''}
    />
  );
}

function gbValue(_u: uPlot, v: number | null): string {
  return v === null || v === undefined ? '—' : `${v.toFixed(v >= 10 ? 1 : 2)} GiB`;
}

function formatElapsed(seconds: number): string {
  // Ticks of a short run come every 0.05 s or so: two decimals keep neighbouring labels distinct.
  if (seconds < 60) return `${Number(seconds.toFixed(2))}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m < 60 ? `${m}:${String(s).padStart(2, '0')}` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}`;
}
