/**
 * From corpus documents to the token windows both sides are fed. Each
 * document is tokenized with the model's tokenizer (a conversation rendered
 * with its chat template first) and the documents are joined into one token
 * stream, cut at `maxTokens`. The stream is cut into consecutive,
 * non-overlapping windows of `windowTokens` (each one starting with the
 * model's BOS token when it has one the template does not write, as llama.cpp
 * does for each chunk). Each window is fed from an empty KV cache; position p
 * of a window is scored on how it predicts token p+1, so a window of n
 * tokens scores n−1 positions. docs/fidelity.md: why this window and stride.
 */
import type { ChatMessage } from '../../common/bundleRun.js';
import type { CorpusDocument } from './read.js';

export interface TokenizeOptions {
  encode(text: string): number[];
  /** The chat template (conversation documents); null when the model has none. */
  render: ((messages: ChatMessage[], addGenerationPrompt: boolean) => string) | null;
}

export function tokenizeDocuments(documents: readonly CorpusDocument[], options: TokenizeOptions): number[] {
  const stream: number[] = [];
  for (const doc of documents) {
    if (doc.kind === 'text') {
      for (const id of options.encode(doc.text)) stream.push(id);
    } else {
      if (!options.render) throw new Error('A conversation document needs the model\'s chat template, and the model has none.');
      for (const id of options.encode(options.render(doc.messages, false))) stream.push(id);
    }
  }
  return stream;
}

/** Consecutive windows of at most `windowTokens` (BOS included); a trailing piece too short to score anything is dropped. */
export function cutWindows(stream: readonly number[], windowTokens: number, bos: number | null): number[][] {
  const body = bos === null ? windowTokens : windowTokens - 1;
  if (body < 1) throw new Error(`A window of ${windowTokens} tokens leaves no room for text.`);
  const windows: number[][] = [];
  for (let start = 0; start < stream.length; start += body) {
    const chunk = stream.slice(start, start + body);
    const win = bos === null ? chunk : [bos, ...chunk];
    if (win.length >= 2) windows.push(win);
  }
  return windows;
}
