/**
 * Text forms of LlmMetadata fields for the metadata editor: token lists as
 * "151645, <|im_end|>" (numbers are ids, anything else a token string), and
 * the sampler's numbers. Pure, so the editor's parsing is unit-tested.
 */
import type { TokenUnionJson } from '../../../main/common/formats';

export function tokenToText(token: TokenUnionJson): string {
  return 'tokenStr' in token ? token.tokenStr : token.tokenIds.ids.join('+');
}

export function tokensToText(tokens: TokenUnionJson[] | undefined): string {
  return (tokens ?? []).map(tokenToText).join(', ');
}

/** "151645, <|im_end|>, 1+2" → ids, a string, a multi-id token. Empty entries are dropped. */
export function textToTokens(text: string): TokenUnionJson[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => (/^\d+(\+\d+)*$/.test(part) ? { tokenIds: { ids: part.split('+').map(Number) } } : { tokenStr: part }));
}

export function textToToken(text: string): TokenUnionJson | undefined {
  return textToTokens(text)[0];
}

/** A number field: blank → undefined; otherwise the number, or null when it is not one. */
export function parseNumber(text: string, integer: boolean): number | undefined | null {
  if (text.trim() === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) return null;
  return value;
}
