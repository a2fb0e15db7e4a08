/**
 * The context-length choice with memory in view: every option from 512 to
 * 32768 (plus a custom value) shows its predicted conversion peak against the
 * engine host's RAM (the serve host's in serve mode) as fits / tight /
 * blocked, and what the converted model will need on the target device
 * (weights + KV cache at that length + working memory) against that device's
 * RAM. Options blocked on the host are disabled with the reason unless the
 * expert override is on; options that do not fit the device are disabled with
 * the reason unless "convert for a larger device" is ticked. The largest safe
 * value is offered. With no estimate possible it says why and leaves every
 * option open (the live memory guard still protects the run).
 */
import { useState } from 'react';
import { formatBytes } from '../../../main/common/format';
import type { ContextRow } from '../../../main/common/memoryEstimate';
import type { ConvertRoute, Quantization } from '../../../main/common/stages/convert';
import { useCall } from '../api/hooks';
import { FitBadge } from '../components/RunMemoryPanel';

export interface ContextLengthPickerProps {
  /** Folder holding config.json (the base model when a merge precedes the conversion). */
  modelDir: string;
  route: ConvertRoute;
  /** RAM of the target device (GiB) and whether contexts that exceed it may be chosen anyway. */
  deviceRamGiB: number;
  onDeviceRamChange(deviceRamGiB: number): void;
  allowDeviceOverflow: boolean;
  onAllowDeviceOverflow(allow: boolean): void;
  quantize: Quantization;
  prefillSeqLens: number[];
  lightweightConversion: boolean;
  maskAsInput: boolean;
  value: number;
  onChange(kvCacheMaxLen: number): void;
  /** The expert override (Settings or this run) allows blocked choices. */
  overrideAllowed: boolean;
}

const STANDARD = [512, 1024, 2048, 4096, 8192, 16384, 32768];

export function ContextLengthPicker(props: ContextLengthPickerProps) {
  const [custom, setCustom] = useState<string>(STANDARD.includes(props.value) ? '' : String(props.value));
  const customValue = Number(custom);
  const extra = Number.isInteger(customValue) && customValue >= 16 && customValue <= 262_144 ? [customValue] : [];
  const table = useCall(
    'memory.estimate',
    props.modelDir
      ? {
          modelDir: props.modelDir,
          route: props.route,
          quantize: props.quantize,
          prefillSeqLens: props.prefillSeqLens.length > 0 ? props.prefillSeqLens : undefined,
          lightweightConversion: props.lightweightConversion,
          maskAsInput: props.maskAsInput,
          extraContexts: extra,
          deviceRamBytes: props.deviceRamGiB * 2 ** 30,
        }
      : null,
  );
  const rows = new Map<number, ContextRow>((table.data?.rows ?? []).map((r) => [r.kvCacheMaxLen, r]));
  const options = [...new Set([...STANDARD, ...extra])].sort((a, b) => a - b);
  const deviceBlocked = (row: ContextRow | undefined) => row?.device?.fit === 'blocked' && !props.allowDeviceOverflow;
  const hostSafe = table.data?.largestSafe ?? null;
  // The largest context safe here and on the device.
  const safe = hostSafe === null ? null : ([...rows.values()].filter((r) => r.kvCacheMaxLen <= hostSafe && !deviceBlocked(r)).map((r) => r.kvCacheMaxLen).sort((a, b) => b - a)[0] ?? null);

  const isDisabled = (row: ContextRow | undefined) => (row?.verdict.fit === 'blocked' && !props.overrideAllowed) || deviceBlocked(row);

  return (
    <div className="context-picker" data-testid="context-picker">
      {!props.modelDir ? <p className="help">Choose the model first to see the predicted conversion memory of each context length.</p> : null}
      {table.loading && props.modelDir ? <p className="help">Estimating conversion memory…</p> : null}
      {table.error ? <p className="warn-text">No memory estimate: {table.error.message}</p> : null}
      {table.data?.noEstimate ? (
        <p className="warn-text" data-testid="no-estimate">
          No memory estimate: {table.data.noEstimate.reason}
        </p>
      ) : null}
      {table.data && !table.data.noEstimate ? (
        <p className="help">
          This host: {formatBytes(table.data.host.totalBytes)} RAM, {formatBytes(table.data.host.budgetBytes)} usable by a stage before the memory guard stops it
          {table.data.calibration.calibrated ? ` · calibrated from ${table.data.calibration.runs} run(s) here` : ''}.
        </p>
      ) : null}
      <div className="actions" data-testid="device-ram">
        <label className="help">
          Target device RAM (GiB):{' '}
          <input
            type="number"
            min={1}
            max={4096}
            step={1}
            value={props.deviceRamGiB}
            onChange={(e) => {
              const v = Number(e.target.value);
              if (Number.isFinite(v) && v >= 1 && v <= 4096) props.onDeviceRamChange(v);
            }}
            style={{ width: 70 }}
            data-testid="device-ram-input"
          />
        </label>
        {table.data ? <span className="help">an app can count on about {formatBytes(table.data.device.usableBytes)} of it (8 GiB: a current phone).</span> : null}
        <label className="check">
          <input type="checkbox" checked={props.allowDeviceOverflow} onChange={(e) => props.onAllowDeviceOverflow(e.target.checked)} data-testid="allow-device-overflow" />
          Convert for a larger device (allow contexts that do not fit this one)
        </label>
      </div>
      <div className="context-options-head help" style={{ display: 'grid', gridTemplateColumns: '22px 80px 190px 90px 120px 1fr', gap: 8 }}>
        <span />
        <span>Context</span>
        <span>Conversion peak here</span>
        <span>Host</span>
        <span>On the device</span>
        <span />
      </div>
      <div role="radiogroup" aria-label="Context length" className="context-options">
        {options.map((kv) => {
          const row = rows.get(kv);
          const disabled = isDisabled(row);
          const peak = row?.estimate.ok ? row.estimate.peakBytes : null;
          return (
            <label
              key={kv}
              className="context-option"
              data-testid={`context-${kv}`}
              data-fit={row?.verdict.fit ?? 'unknown'}
              data-device-fit={row?.device?.fit ?? 'unknown'}
              style={{ display: 'grid', gridTemplateColumns: '22px 80px 190px 90px 120px 1fr', alignItems: 'center', gap: 8, padding: '4px 0', opacity: disabled ? 0.55 : 1 }}
            >
              <input type="radio" name="kv-cache-max-len" value={kv} checked={props.value === kv} disabled={disabled} onChange={() => props.onChange(kv)} />
              <span className="mono">{kv.toLocaleString()}</span>
              <span>{peak ? `${formatBytes(peak.expected)} (up to ${formatBytes(peak.high)})` : '—'}</span>
              <span>{row ? <FitBadge fit={row.verdict.fit} /> : null}</span>
              <span data-testid={`device-${kv}`} className={row?.device?.fit === 'blocked' ? 'warn-text' : undefined}>
                {row?.device ? formatBytes(row.device.totalBytes) : '—'}
              </span>
              <span className="help" data-testid={disabled ? `blocked-reason-${kv}` : undefined}>
                {row && row.verdict.fit !== 'fits' && row.verdict.fit !== 'unknown' ? row.verdict.reason : ''}
                {row?.verdict.fit === 'blocked' && !props.overrideAllowed ? ' Allow it with the expert override in Settings.' : ''}
                {row?.device?.fit === 'blocked' ? ` ${row.device.reason}${deviceBlocked(row) ? ' Tick “Convert for a larger device” to allow it.' : ''}` : ''}
              </span>
            </label>
          );
        })}
      </div>
      <div className="actions">
        <label className="help">
          Custom:{' '}
          <input type="number" min={16} max={262144} step={1} value={custom} placeholder="e.g. 6144" onChange={(e) => setCustom(e.target.value)} style={{ width: 110 }} data-testid="context-custom" />
        </label>
        {extra.length > 0 && !isDisabled(rows.get(customValue)) ? (
          <button type="button" onClick={() => props.onChange(customValue)}>
            Use {customValue.toLocaleString()}
          </button>
        ) : null}
        {custom.trim() !== '' && extra.length === 0 ? (
          <span className="field-error" data-testid="context-custom-error">
            A context length is a whole number from 16 to 262,144.
          </span>
        ) : null}
        {extra.length > 0 && isDisabled(rows.get(customValue)) ? (
          <span className="field-error" data-testid="context-custom-error">
            {customValue.toLocaleString()} is blocked: its row above says why.
          </span>
        ) : null}
        {safe !== null && safe !== props.value ? (
          <button type="button" onClick={() => props.onChange(safe)} data-testid="use-largest-safe">
            Use the largest safe context ({safe.toLocaleString()})
          </button>
        ) : null}
        {table.data?.contextCap ? (
          <span className="help" data-testid="context-cap">
            {table.data.contextCap.reason}
          </span>
        ) : null}
      </div>
    </div>
  );
}
