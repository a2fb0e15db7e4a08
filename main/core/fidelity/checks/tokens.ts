/**
 * Stop- and start-token checks. The runtime stops generation only on the
 * metadata's stop tokens and prepends the metadata's start token to the
 * prompt; a missing end-of-turn token lets the model run on into a new turn,
 * an ordinary-text stop token cuts answers short, and a start token the
 * model never saw (or a doubled BOS) shifts every position.
 */
import type { CheckItem } from '../../../common/fidelity.js';
import type { AnalysisInput, ResolvedToken } from '../input.js';
import { isAddedToken, resolveToken, show } from '../input.js';
import type { ModelIntent } from '../intent.js';
import { packagedTokenizer } from './shared.js';

const STOP_SOURCE = 'LiteRT-LM runtime/engine/engine_settings.cc (stop tokens come only from LlmMetadata); issues #950, #1004';

export function stopTokenChecks(input: AnalysisInput, intent: ModelIntent): CheckItem[] {
  const tokenizer = packagedTokenizer(input);
  const declared = input.bundle.metadata?.stopTokens ?? [];
  const resolved = declared.map((t) => resolveToken(t, tokenizer));
  const ids = new Set(resolved.flatMap((r) => (r.ids && r.ids.length === 1 ? r.ids : [])));
  const listed = resolved.map((r) => r.label).join(', ') || '(none)';
  const items: CheckItem[] = [];

  // Every EOS id the model was released with.
  const eosMissing = intent.eosIds.filter((id) => !ids.has(id));
  const eosNames = intent.eosIds.map((id) => `${id} ${show(input.model.tokenizer?.idToTokenString(id) ?? '?')}`).join(', ');
  items.push({
    id: 'stop-tokens.eos',
    category: 'stop-tokens',
    title: 'Stop tokens include every EOS id of the model',
    status: declared.length === 0 || eosMissing.length > 0 ? 'fail' : intent.eosIds.length === 0 ? 'warn' : 'pass',
    explanation:
      declared.length === 0
        ? 'The bundle declares no stop tokens, so the runtime cannot create a session (or never stops).'
        : intent.eosIds.length === 0
          ? 'The model folder names no EOS id (generation_config.json, config.json, tokenizer_config.json), so the stop tokens cannot be checked against it.'
          : eosMissing.length > 0
            ? `EOS id(s) ${eosMissing.join(', ')} from ${intent.eosSource} are not stop tokens, so generation runs past the point where the model ends its answer.`
            : `Every EOS id from ${intent.eosSource} is a stop token.`,
    evidence: [
      { label: 'model EOS ids', value: eosNames || '(none)' },
      { label: 'bundle stop tokens', value: listed },
    ],
    fix: declared.length === 0 || eosMissing.length > 0 ? 'Re-package with corrected metadata: stop tokens = every EOS id of generation_config.json plus the end-of-turn token.' : null,
    fixableByMetadata: true,
    source: STOP_SOURCE,
  });

  // The chat template's end-of-turn token.
  const eot = intent.endOfTurn;
  items.push({
    id: 'stop-tokens.end-of-turn',
    category: 'stop-tokens',
    title: "Stop tokens include the chat template's end-of-turn token",
    status: eot === null ? (input.model.render ? 'pass' : 'warn') : ids.has(eot.id) ? 'pass' : 'fail',
    explanation:
      eot === null
        ? input.model.render
          ? 'The chat template closes assistant turns without a special token, so only the EOS ids end a reply.'
          : 'The model has no renderable chat template, so its end-of-turn token is unknown.'
        : ids.has(eot.id)
          ? `${eot.text} (${eot.id}), which the chat template writes after each assistant reply, is a stop token.`
          : `${eot.text} (${eot.id}) ends every assistant turn in the chat template but is not a stop token, so the model writes past its answer into a new turn.`,
    evidence: [
      { label: 'end-of-turn token', value: eot ? `${eot.id} ${show(eot.text)}` : '(none found)' },
      { label: 'bundle stop tokens', value: listed },
    ],
    fix: eot && !ids.has(eot.id) ? `Add ${eot.text} (id ${eot.id}) to the stop tokens.` : null,
    fixableByMetadata: true,
    source: `${STOP_SOURCE}; FORMATS.md "What the runtime does when metadata is missing"`,
  });

  // Stop tokens that are ordinary text.
  const ordinary = tokenizer ? resolved.filter((r) => r.ids !== null && r.ids.length === 1 && !isAddedToken(tokenizer, r.ids[0]!)) : [];
  items.push({
    id: 'stop-tokens.ordinary-text',
    category: 'stop-tokens',
    title: 'No stop token is ordinary text',
    status: !tokenizer ? 'warn' : ordinary.length > 0 ? 'fail' : 'pass',
    explanation: !tokenizer
      ? 'No tokenizer could be read, so the stop tokens could not be classified.'
      : ordinary.length > 0
        ? `${ordinary.map((r) => `${r.label} (${show(r.text)})`).join(', ')} ${ordinary.length > 1 ? 'are' : 'is'} ordinary text, so generation stops the first time the model writes it, cutting answers short.`
        : 'Every stop token is a special (added) token that never appears in ordinary text.',
    evidence: resolved.map((r) => ({ label: r.label, value: r.ids ? `ids [${r.ids.join(', ')}] = ${show(r.text)}` : show(r.text) })),
    fix: ordinary.length > 0 ? 'Remove ordinary-text stop tokens: keep only the EOS ids and the end-of-turn token.' : null,
    fixableByMetadata: true,
    source: 'LiteRT-LM issue #950 (a newline stop token in a shipped bundle cut output at newlines)',
  });

  // Stop tokens that do not exist in the tokenizer.
  const unknown = resolved.filter((r) => r.problem !== null);
  items.push(unknownTokenItem('stop-tokens.exist', 'Every stop token exists in the tokenizer', unknown, tokenizer !== null));
  return items;
}

function unknownTokenItem(id: string, title: string, unknown: ResolvedToken[], haveTokenizer: boolean): CheckItem {
  return {
    id,
    category: id.startsWith('stop') ? 'stop-tokens' : 'start-token',
    title,
    status: !haveTokenizer ? 'warn' : unknown.length > 0 ? 'fail' : 'pass',
    explanation: !haveTokenizer
      ? 'No tokenizer could be read, so the token strings could not be looked up.'
      : unknown.length > 0
        ? `${unknown.map((r) => r.problem).join(' ')}`.replace(/\.$/, '') + ', so the runtime cannot match it as one token.'
        : 'Every token named in the metadata is a single token of the tokenizer.',
    evidence: unknown.map((r) => ({ label: r.label, value: r.problem ?? '' })),
    fix: unknown.length > 0 ? 'Name tokens by id (or by their exact string in tokenizer.json).' : null,
    fixableByMetadata: true,
    source: 'LiteRT-LM runtime/proto/llm_metadata.proto (TokenUnion: token_ids or token_str)',
  };
}

export function startTokenChecks(input: AnalysisInput, intent: ModelIntent, packagedFirstIds: number[] | null): CheckItem[] {
  const tokenizer = packagedTokenizer(input);
  const start = input.bundle.metadata?.startToken;
  const resolved = start ? resolveToken(start, tokenizer) : null;
  const items: CheckItem[] = [];
  const bos = intent.bos;
  const wantStartToken = bos !== null && !intent.templateWritesBos;
  const startIds = resolved?.ids ?? null;

  let status: CheckItem['status'];
  let explanation: string;
  if (resolved?.problem) {
    status = 'fail';
    explanation = `The start token ${resolved.problem.replace(/\.$/, '')}.`;
  } else if (!bos) {
    status = resolved ? 'fail' : 'pass';
    explanation = resolved
      ? `The model has no BOS token, but the bundle prepends ${resolved.label} (${show(resolved.text)}) to every prompt, a token the model never saw at position 0.`
      : 'The model has no BOS token and the bundle prepends none.';
  } else if (intent.templateWritesBos) {
    status = resolved ? 'fail' : 'pass';
    explanation = resolved
      ? `The chat template already writes ${bos.text} and the bundle also prepends ${resolved.label}, so prompts start with it twice.`
      : `The chat template writes ${bos.text} itself, so the bundle correctly prepends no start token.`;
  } else if (!resolved) {
    status = 'fail';
    explanation = `The model's prompts start with ${bos.text} (${bos.id}) but the bundle declares no start token, so every prompt lacks it.`;
  } else if (startIds && startIds.length === 1 && startIds[0] === bos.id) {
    status = 'pass';
    explanation = `The start token is the model's BOS ${bos.text} (${bos.id}).`;
  } else {
    status = 'fail';
    explanation = `The start token ${resolved.label} is not the model's BOS ${bos.text} (${bos.id}).`;
  }
  items.push({
    id: 'start-token.bos',
    category: 'start-token',
    title: "Start token matches the model's BOS",
    status,
    explanation,
    evidence: [
      { label: 'model BOS', value: bos ? `${bos.id} ${show(bos.text)}${intent.templateWritesBos ? ' (written by the chat template)' : ''}` : '(none)' },
      { label: 'bundle start token', value: resolved ? `${resolved.label}${resolved.ids ? ` = ids [${resolved.ids.join(', ')}]` : ''}` : '(none)' },
    ],
    fix: status === 'pass' ? null : wantStartToken ? `Set the start token to id ${bos!.id}.` : 'Remove the start token.',
    fixableByMetadata: true,
    source: 'LiteRT-LM runtime/proto/llm_metadata.proto (start_token); HF tokenizer_config.json bos_token / add_bos_token',
  });

  // What the runtime actually feeds first: start token, then the rendered template.
  const doubled = packagedFirstIds !== null && packagedFirstIds.length >= 2 && packagedFirstIds[0] === packagedFirstIds[1] && tokenizer !== null && isAddedToken(tokenizer, packagedFirstIds[0]!);
  const firstText = packagedFirstIds && tokenizer ? packagedFirstIds.slice(0, 2).map((id) => `${id} ${show(tokenizer.idToTokenString(id) ?? '?')}`).join(', ') : '(not tokenized)';
  items.push({
    id: 'start-token.not-doubled',
    category: 'start-token',
    title: 'The prompt does not begin with a doubled marker',
    status: packagedFirstIds === null ? 'warn' : doubled ? 'fail' : 'pass',
    explanation:
      packagedFirstIds === null
        ? 'The bundle prompt could not be rendered and tokenized, so its first tokens are unknown.'
        : doubled
          ? `The runtime's prompt starts with token ${packagedFirstIds[0]} twice (start token plus the same marker at the start of the rendered template).`
          : 'The start token and the beginning of the rendered template do not repeat the same marker.',
    evidence: [{ label: 'first prompt tokens (runtime)', value: firstText }],
    fix: doubled ? 'Drop the start token or the marker in the template so exactly one remains.' : null,
    fixableByMetadata: true,
    source: 'LiteRT-LM runtime (start token prepended to the first prefill); llama.cpp/HF reports of doubled BOS degrading output',
  });

  items.push(unknownTokenItem('start-token.exists', 'The start token exists in the tokenizer', resolved?.problem ? [resolved] : [], tokenizer !== null || !resolved));
  return items;
}
