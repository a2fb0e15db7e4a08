import { describe, expect, it } from 'vitest';
import { LineSplitter, MAX_LINE_CHARS, parseStageLine } from './lineProtocol.js';

function split(chunks: (string | Buffer)[], max?: number): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line), max);
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return lines;
}

describe('parseStageLine', () => {
  it('parses each event type', () => {
    expect(parseStageLine('{"type":"progress","fraction":0.5,"phase":"lower"}')).toEqual({ kind: 'event', event: { type: 'progress', fraction: 0.5, phase: 'lower' } });
    expect(parseStageLine('{"type":"log","level":"warn","text":"x"}')).toEqual({ kind: 'event', event: { type: 'log', level: 'warn', text: 'x' } });
    expect(parseStageLine('{"type":"log","text":"defaults to info"}')).toEqual({ kind: 'event', event: { type: 'log', level: 'info', text: 'defaults to info' } });
    expect(parseStageLine('{"type":"metric","name":"peak","value":3,"unit":"GiB"}').kind).toBe('event');
    expect(parseStageLine('{"type":"artifact","kind":"tflite","path":"/x.tflite"}').kind).toBe('event');
    expect(parseStageLine('{"type":"result","data":{"a":1}}').kind).toBe('event');
    expect(parseStageLine('{"type":"error","code":"oom","message":"m","hint":"h"}')).toEqual({ kind: 'event', event: { type: 'error', code: 'oom', message: 'm', hint: 'h' } });
  });

  it('keeps malformed or unknown lines as text, never drops them', () => {
    for (const line of ['plain text', '{not json}', '{"type":"unknown"}', '{"type":"progress","fraction":7}', '{"type":"error","message":"no code"}', '[1,2]', '']) {
      expect(parseStageLine(line)).toEqual({ kind: 'text', text: line });
    }
  });
});

describe('LineSplitter', () => {
  it('reassembles lines split across chunks, including inside a UTF-8 character', () => {
    const text = Buffer.from('first ✓ line\nsecond line\r\nthird');
    const cut = text.indexOf(Buffer.from('✓')) + 1; // in the middle of the 3-byte character
    expect(split([text.subarray(0, cut), text.subarray(cut, 20), text.subarray(20)])).toEqual(['first ✓ line', 'second line', 'third']);
  });

  it('emits empty lines and a final line without newline', () => {
    expect(split(['a\n\nb'])).toEqual(['a', '', 'b']);
    expect(split(['a\n'])).toEqual(['a']);
  });

  it('cuts huge lines at the limit and keeps the following lines intact', () => {
    const huge = 'x'.repeat(50_000);
    const lines = split([huge.slice(0, 20_000), huge.slice(20_000), '\nnext\n'], 1000);
    expect(lines).toHaveLength(2);
    expect(lines[0]!.startsWith('x'.repeat(1000))).toBe(true);
    expect(lines[0]).toContain('[line truncated at 1000 characters]');
    expect(lines[0]!.length).toBeLessThan(1100);
    expect(lines[1]).toBe('next');
  });

  it('has a default limit of 1 MiB characters', () => {
    const lines = split(['y'.repeat(MAX_LINE_CHARS + 10) + '\n']);
    expect(lines[0]).toContain('truncated');
  });
});
