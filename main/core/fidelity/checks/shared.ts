/**
 * Helpers the check modules share: which tokenizer stands for the runtime.
 */
import type { HfTokenizer } from '../../tokenizer/hfTokenizer.js';
import type { AnalysisInput } from '../input.js';

/**
 * The tokenizer the runtime will use: the bundle's own when it is a
 * tokenizer.json we can reproduce, else the model's (the tokenizer check
 * reports separately whether the two are identical).
 */
export function packagedTokenizer(input: AnalysisInput): HfTokenizer | null {
  const bundled = input.bundle.tokenizer;
  if (bundled?.kind === 'hf-json' && bundled.tokenizer) return bundled.tokenizer;
  return input.model.tokenizer;
}
