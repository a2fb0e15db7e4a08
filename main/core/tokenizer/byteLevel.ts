/**
 * The GPT-2 byte-to-unicode table that byte-level BPE tokenizers (GPT-2,
 * Llama 3, Qwen, SmolLM, ...) use: every byte maps to one printable code point
 * so a vocabulary of strings can hold arbitrary bytes. Encoding maps UTF-8
 * bytes to those characters before BPE; decoding maps them back.
 */

function buildByteToChar(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b); // '!'..'~'
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b); // '¡'..'¬'
  for (let b = 0xae; b <= 0xff; b++) printable.push(b); // '®'..'ÿ'
  const table: string[] = new Array<string>(256);
  const kept = new Set(printable);
  for (const b of printable) table[b] = String.fromCodePoint(b);
  // Bytes that are not printable (controls, space, soft hyphen) are shifted
  // past 255 in byte order, which is why a space shows as 'Ġ' (U+0120).
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (!kept.has(b)) {
      table[b] = String.fromCodePoint(256 + next);
      next++;
    }
  }
  return table;
}

const BYTE_TO_CHAR = buildByteToChar();
const CHAR_TO_BYTE = new Map<string, number>(BYTE_TO_CHAR.map((ch, byte) => [ch, byte]));
const utf8 = new TextEncoder();

/** UTF-8 bytes of `text`, each replaced by its byte-level character. */
export function toByteLevel(text: string): string {
  let out = '';
  for (const byte of utf8.encode(text)) out += BYTE_TO_CHAR[byte];
  return out;
}

/**
 * Bytes of a byte-level string. Characters outside the table (added tokens
 * are stored verbatim, not byte-mapped) are encoded as their own UTF-8.
 */
export function fromByteLevel(text: string): Uint8Array {
  const bytes: number[] = [];
  for (const ch of text) {
    const byte = CHAR_TO_BYTE.get(ch);
    if (byte !== undefined) bytes.push(byte);
    else bytes.push(...utf8.encode(ch));
  }
  return Uint8Array.from(bytes);
}
