/**
 * Reading the corpus of the corpus metrics: plain UTF-8 text (one document),
 * or JSONL with one document per line, `{"text": "…"}` or `{"messages":
 * [...]}` (a conversation, rendered later with the model's chat template).
 * Without a file, the built-in public-domain sample in resources/corpus/.
 * Everything a user can get wrong is one sentence (code `bad_corpus`, or
 * `not_a_file` for a pipe or folder): an empty file, a binary one, a JSONL
 * line that is not a document (named by its number).
 */
import path from 'node:path';
import { z } from 'zod';
import { ChatMessage } from '../../common/bundleRun.js';
import type { CorpusSource } from '../../common/corpusMetrics.js';
import { WorkbenchError } from '../../common/errors.js';
import { readRegularFile } from '../files/regularFile.js';
import { resourcesPath } from '../paths.js';

export type CorpusDocument = { kind: 'text'; text: string } | { kind: 'messages'; messages: ChatMessage[] };

export interface Corpus {
  source: CorpusSource;
  documents: CorpusDocument[];
}

/** The built-in sample: Chapter 1 of Pride and Prejudice (resources/corpus/README.md: source and licence). */
export function builtInCorpusPath(): string {
  return resourcesPath('corpus', 'pride-and-prejudice-ch1.txt');
}

const JsonlLine = z.union([z.object({ text: z.string().min(1) }), z.object({ messages: z.array(ChatMessage).min(1) })]);

function looksLikeJsonl(file: string, text: string): boolean {
  if (/\.(jsonl|ndjson)$/i.test(file)) return true;
  const first = text.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
  if (!first.startsWith('{')) return false;
  try {
    return JsonlLine.safeParse(JSON.parse(first)).success;
  } catch {
    return false;
  }
}

/** Parses corpus bytes (exported for tests of the rules without files). */
export function parseCorpus(file: string, bytes: Uint8Array, builtIn = false): Corpus {
  if (bytes.length === 0) throw new WorkbenchError('bad_corpus', `The corpus ${file} is empty: give a text file (or JSONL of {"text": "…"} lines) with some prose in it.`, { path: file });
  const nul = bytes.indexOf(0);
  let text: string;
  try {
    if (nul >= 0) throw new Error('NUL');
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new WorkbenchError('bad_corpus', `The corpus ${file} is not UTF-8 text${nul >= 0 ? ` (a NUL byte at offset ${nul})` : ''}, so it looks like a binary file: give plain text or JSONL.`, { path: file });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new WorkbenchError('bad_corpus', `The corpus ${file} holds only white space: give a text file with some prose in it.`, { path: file });
  if (!looksLikeJsonl(file, text)) {
    return { source: { path: file, builtIn, format: 'text', documents: 1 }, documents: [{ kind: 'text', text }] };
  }
  const documents: CorpusDocument[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    let parsed: z.infer<typeof JsonlLine>;
    try {
      parsed = JsonlLine.parse(JSON.parse(line));
    } catch {
      throw new WorkbenchError('bad_corpus', `Line ${i + 1} of the corpus ${file} is not a document: write {"text": "…"} or {"messages": [{"role": "user", "content": "…"}, …]} on each line.`, { path: file, line: i + 1 });
    }
    documents.push('text' in parsed ? { kind: 'text', text: parsed.text } : { kind: 'messages', messages: parsed.messages });
  }
  return { source: { path: file, builtIn, format: 'jsonl', documents: documents.length }, documents };
}

/** Reads the user's corpus, or the built-in sample when `file` is undefined. */
export async function readCorpus(file: string | undefined): Promise<Corpus> {
  const target = path.resolve(file ?? builtInCorpusPath());
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(target);
  } catch (error) {
    if (error instanceof WorkbenchError) throw error;
    throw new WorkbenchError('file_not_found', `The corpus ${target} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, { path: target });
  }
  return parseCorpus(target, bytes, file === undefined);
}
