import { describe, expect, it } from 'vitest';
import { basenameOf, dirnameOf, formatSize, joinPath, separatorOf } from './pathText';

describe('path text helpers', () => {
  it('follow the path’s own separator', () => {
    expect(separatorOf('/home/ana')).toBe('/');
    expect(separatorOf('C:\\Users\\ana')).toBe('\\');
    expect(joinPath('/home/ana', 'models')).toBe('/home/ana/models');
    expect(joinPath('/', 'tmp')).toBe('/tmp');
    expect(joinPath('C:\\Users', 'ana')).toBe('C:\\Users\\ana');
  });

  it('split folder and name', () => {
    expect(dirnameOf('/home/ana/models/')).toBe('/home/ana');
    expect(dirnameOf('/home')).toBe('/');
    expect(dirnameOf('/')).toBe('/');
    expect(dirnameOf('C:\\Users')).toBe('C:\\');
    expect(dirnameOf('relative')).toBe('');
    expect(basenameOf('/home/ana/model.tflite')).toBe('model.tflite');
    expect(basenameOf('C:\\out\\model.litertlm')).toBe('model.litertlm');
  });

  it('formats sizes', () => {
    expect(formatSize(null)).toBe('');
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(1536)).toBe('1.5 KiB');
    expect(formatSize(3_087_007_744)).toBe('2.9 GiB');
  });
});
