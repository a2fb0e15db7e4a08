import { describe, expect, it } from 'vitest';
import { WorkbenchError } from '../../common/errors.js';
import { parseByteSize } from './decisionHost.js';
import { memoryMonitors } from './monitors.js';

describe('memoryMonitors', () => {
  it('parses simulated host sizes', () => {
    expect(parseByteSize('16G')).toBe(16 * 1024 ** 3);
    expect(parseByteSize('512M')).toBe(512 * 1024 ** 2);
    expect(parseByteSize('2.5GiB')).toBe(2.5 * 1024 ** 3);
    expect(parseByteSize('1000')).toBe(1000);
    for (const bad of ['', 'lots', '-1G', '0']) expect(() => parseByteSize(bad)).toThrow(WorkbenchError);
  });

  it('gives one memory monitor, refusing a malformed simulation', () => {
    expect(memoryMonitors({ env: {} })).toHaveLength(1);
    expect(memoryMonitors({ env: { WORKBENCH_SIMULATE_HOST_RAM: '8G' } })).toHaveLength(1);
    expect(() => memoryMonitors({ env: { WORKBENCH_SIMULATE_HOST_RAM: 'eight' } })).toThrow(/WORKBENCH_SIMULATE_HOST_RAM/);
  });
});
