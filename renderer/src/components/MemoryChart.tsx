/**
 * The live memory chart: system RAM in use and the stage's process-tree RSS
 * over the whole run (all its stages), with the run's predicted peak (when it has one) and — on request — the guard's
 * warn and stop levels. The y-axis fits what the run used (levels at 90 % of
 * a 128 GiB host would flatten a 400 MiB stage to a line on the floor); the
 * levels are one tick away. The legend shows the latest values (or the
 * values under the cursor). uPlot draws to one canvas, so a 40-minute run
 * (thousands of samples, downsampled by toColumns) stays smooth; updates are
 * coalesced to one redraw per animation frame.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { MemorySample } from '../../../main/common/memory';
import { formatElapsed, formatGiB, RAM_STEPS, TIME_STEPS } from './chartAxes';
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
const GiB = 1024 ** 3;
const WARN = 3;
const STOP = 4;

/** The series' latest value while the cursor is off the chart, else the value under it. */
function legendValue(u: uPlot, value: number | null, seriesIdx: number, idx: number | null): string {
  if (idx !== null) return formatGiB(value);
  const column = u.data[seriesIdx] as (number | null)[] | undefined;
  return formatGiB(column && column.length > 0 ? column[column.length - 1] : null);
}

export function MemoryChart({ samples, warnUsedFraction, stopUsedFraction, estimate, height = 240 }: MemoryChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const frame = useRef<number | null>(null);
  const [showLevels, setShowLevels] = useState(false);
  const [yMax, setYMax] = useState<number | null>(null);
  const total = samples.length > 0 ? samples[samples.length - 1]!.sysTotal : 0;

  const data = useMemo<uPlot.AlignedData>(() => {
    const cols = toColumns(samples);
    const flat = (v: number | null) => cols.t.map(() => v);
    return [
      cols.t,
      cols.sysUsed.map((b) => b / GiB),
      cols.treeRss.map((b) => b / GiB),
      flat(total ? (total * warnUsedFraction) / GiB : null),
      flat(total ? (total * stopUsedFraction) / GiB : null),
      ...(estimate ? [flat(estimate.expected / GiB), flat(estimate.high / GiB)] : []),
    ];
  }, [samples, total, warnUsedFraction, stopUsedFraction, estimate]);

  // One uPlot instance per mount; its options depend on the height and on whether there is a prediction to draw
  // (without one its lines are left out, not listed as "Predicted peak —").
  const predicted = Boolean(estimate);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const span = (u: uPlot) => {
      const t = u.data[0];
      return t.length > 1 ? t[t.length - 1]! - t[0]! : 0;
    };
    const opts: uPlot.Options = {
      width: Math.max(320, el.clientWidth),
      height,
      // Hidden series (the levels until asked for) do not stretch the axis: it fits what is shown.
      scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(0.25, max * 1.1)] } },
      axes: [
        { label: 'time since the run started (all its stages)', incrs: TIME_STEPS, space: 60, values: (u, ticks) => ticks.map((v) => formatElapsed(v, span(u))) },
        { label: 'RAM', size: 70, incrs: RAM_STEPS, values: (_u, ticks) => ticks.map((v) => formatGiB(v)) },
      ],
      series: [
        { label: 'time', value: (u, v, _sidx, idx) => (idx === null ? (u.data[0].length > 0 ? `${formatElapsed(u.data[0][u.data[0].length - 1]!, span(u))} (latest)` : '—') : v === null ? '—' : formatElapsed(v, span(u))) },
        { label: 'System RAM in use', stroke: '#6b7a99', width: 1.5, value: legendValue },
        { label: 'Stage RSS', stroke: '#1f56c6', fill: 'rgba(31,86,198,0.10)', width: 2, value: legendValue },
        { label: 'Warn level', stroke: '#c98a00', width: 1, dash: [6, 4], points: { show: false }, show: false, value: legendValue },
        { label: 'Stop level', stroke: '#c0392b', width: 1.5, dash: [6, 4], points: { show: false }, show: false, value: legendValue },
        ...(predicted
          ? [
              { label: 'Predicted peak', stroke: '#7a4fc4', width: 1, dash: [2, 4], points: { show: false }, value: legendValue },
              { label: 'Predicted high', stroke: '#b9a3e8', width: 1, dash: [2, 4], points: { show: false }, value: legendValue },
            ]
          : []),
      ],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      hooks: {
        setScale: [(u, key) => key === 'y' && setYMax(u.scales.y!.max ?? null)],
        // Clicking a legend entry toggles its series: keep the checkbox in step.
        setSeries: [(u, idx) => (idx === WARN || idx === STOP) && setShowLevels(Boolean(u.series[STOP]?.show || u.series[WARN]?.show))],
      },
    };
    chart.current = new uPlot(opts, (predicted ? [[], [], [], [], [], [], []] : [[], [], [], [], []]) as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => chart.current?.setSize({ width: Math.max(320, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      if (frame.current !== null) cancelAnimationFrame(frame.current);
      chart.current?.destroy();
      chart.current = null;
    };
  }, [height, predicted]);

  useEffect(() => {
    if (frame.current !== null) cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      frame.current = null;
      const c = chart.current;
      if (!c) return;
      c.setData(data);
      for (const idx of [WARN, STOP]) if (c.series[idx]?.show !== showLevels) c.setSeries(idx, { show: showLevels });
      // The legend shows the newest values until the cursor is over the chart.
      if (c.cursor.idx === null || c.cursor.idx === undefined) c.setLegend({ idx: null as unknown as number });
    });
  }, [data, showLevels, predicted]);

  return (
    <div>
      <div
        className="memory-chart"
        ref={host}
        data-testid="memory-chart"
        data-samples={samples.length}
        data-warn-bytes={total ? Math.round(total * warnUsedFraction) : ''}
        data-stop-bytes={total ? Math.round(total * stopUsedFraction) : ''}
        data-estimate-bytes={estimate ? Math.round(estimate.expected) : ''}
        data-y-max-bytes={yMax === null ? '' : Math.round(yMax * GiB)}
      />
      <p className="help chart-caption" data-testid="memory-chart-caption">
        Time runs from the run’s first sample across all its stages; the stage RSS is that of the stage running at each moment.
      </p>
      <label className="check help">
        <input type="checkbox" checked={showLevels} onChange={(event) => setShowLevels(event.target.checked)} data-testid="chart-levels" />
        Show the memory guard’s warn and stop levels ({formatGiB(total ? (total * warnUsedFraction) / GiB : null)} and {formatGiB(total ? (total * stopUsedFraction) / GiB : null)})
      </label>
    </div>
  );
}
