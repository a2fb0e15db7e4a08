import { describe, expect, it } from 'vitest';
import { formatElapsed, formatGiB } from './chartAxes';

describe('memory chart labels', () => {
  it('labels a short run in seconds and a long one as m:ss or h:mm:ss', () => {
    expect(formatElapsed(2.5, 20)).toBe('2.5 s');
    expect(formatElapsed(15, 20)).toBe('15 s');
    expect(formatElapsed(300, 2400)).toBe('5:00');
    expect(formatElapsed(1830, 2400)).toBe('30:30');
    expect(formatElapsed(3900, 7200)).toBe('1:05:00');
  });

  it('shows chart values (held in GiB) in binary units, MiB below 1 GiB', () => {
    expect(formatGiB(0.375)).toBe('384 MiB');
    expect(formatGiB(21.2)).toBe('21.2 GiB');
    expect(formatGiB(null)).toBe('—');
  });
});
