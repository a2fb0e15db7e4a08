/**
 * Turns a stage's stdout bytes into protocol events. Chunks may split lines
 * (and UTF-8 characters) anywhere; a line may be huge. Anything that is not a
 * valid protocol event is kept as plain log text, never dropped.
 */
import { StringDecoder } from 'node:string_decoder';
import { StageEvent } from '../../common/stageProtocol.js';

/** Longest line kept whole; longer lines are cut with a marker (protects memory and the log table). */
export const MAX_LINE_CHARS = 1024 * 1024;

export type ParsedLine = { kind: 'event'; event: StageEvent } | { kind: 'text'; text: string };

export function parseStageLine(line: string): ParsedLine {
  const trimmed = line.trim();
  if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
    try {
      const parsed = StageEvent.safeParse(JSON.parse(trimmed));
      if (parsed.success) return { kind: 'event', event: parsed.data };
    } catch {
      // Not JSON after all: keep it as text below.
    }
  }
  return { kind: 'text', text: line };
}

/** Splits a byte stream into lines, bounding memory for a line without a newline. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private truncating = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxChars = MAX_LINE_CHARS,
  ) {}

  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline < 0) {
        this.append(text.slice(start));
        return;
      }
      this.append(text.slice(start, newline));
      this.finishLine();
      start = newline + 1;
    }
  }

  /** Flushes a last line that had no trailing newline. */
  end(): void {
    this.append(this.decoder.end());
    if (this.pending.length > 0 || this.truncating) this.finishLine();
  }

  private append(piece: string): void {
    if (this.truncating || piece.length === 0) return;
    const room = this.maxChars - this.pending.length;
    if (piece.length <= room) {
      this.pending += piece;
      return;
    }
    this.pending += piece.slice(0, room);
    this.truncating = true;
  }

  private finishLine(): void {
    let line = this.pending.endsWith('\r') ? this.pending.slice(0, -1) : this.pending;
    if (this.truncating) line += ` … [line truncated at ${this.maxChars} characters]`;
    this.pending = '';
    this.truncating = false;
    this.onLine(line);
  }
}
