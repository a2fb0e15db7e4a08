/**
 * Cause attribution of the behaviour check: every answer of the bundle that
 * differs from the reference gets ONE first cause, chosen from everything
 * the check measured for that prompt, in the order the evidence supports
 * (docs/fidelity.md, "Causes"), and each cause says what it saw (values,
 * ids, positions). Pure functions over the measurements, so the order is
 * tested without an engine and the planted-fault tests
 * (test/evaluate-causes.test.ts) check it with one.
 *
 * Why an order and not a list: the symptoms of one fault show up as others
 * (a hot sampler's answers never stop, so "never stopped" looks like a
 * stop-token fault). The greedy answer separates them: it uses the bundle's
 * prompt, tokenizer, weights and stop tokens but not its sampler. So a
 * cause upstream of the sampled answer is only blamed where the greedy
 * answer shows it, and the sampler only where greedy decoding reproduces
 * the reference.
 */
import { CAUSE_TITLES, type Answer, type Cause, type CauseEvidence, type CauseKind, type PromptCause, type PromptOutcome } from '../../common/stages/evaluate.js';
import type { BundleFacts } from './promptInputs.js';

export interface FailingCheck {
  id: string;
  status: string;
  explanation: string;
}

/** Share of repeated 3-grams from which an answer counts as a loop. */
export const LOOP_SHARE = 0.5;

/** The attribution order: a cause earlier in the list is upstream of the later ones (docs/fidelity.md). */
export const CAUSE_ORDER: readonly CauseKind[] = ['context', 'model', 'prompt-format', 'tokenizer', 'conversion', 'stop-tokens', 'sampler', 'engine', 'unexplained'];

export { CAUSE_TITLES };

/** Fidelity checks (by id prefix) that speak to each class. */
const CHECKS: Record<CauseKind, readonly string[]> = {
  context: ['context.max-num-tokens', 'context.intended', 'engine.context-read'],
  model: ['sampling.repetition-penalty'],
  'prompt-format': ['prompt-format.', 'start-token.', 'engine.typed-content'],
  tokenizer: ['tokenizer.'],
  conversion: ['quantization.'],
  'stop-tokens': ['stop-tokens.'],
  sampler: ['sampling.params', 'engine.sampler-type'],
  engine: ['engine.', 'metadata.', 'context.signatures'],
  unexplained: [],
};

/** The class a fidelity check speaks to (the first match in CAUSE_ORDER, most specific prefix first). */
export function checkKind(id: string): CauseKind {
  let best: { kind: CauseKind; length: number } | null = null;
  for (const kind of CAUSE_ORDER) {
    for (const prefix of CHECKS[kind]) if (id.startsWith(prefix) && (!best || prefix.length > best.length)) best = { kind, length: prefix.length };
  }
  return best?.kind ?? 'engine';
}

export function sameAnswer(a: Answer, b: Answer): boolean {
  return !a.error && !b.error && a.text === b.text && a.stopped === b.stopped;
}

function clip(text: string, max = 60): string {
  const flat = JSON.stringify(text);
  return flat.length > max ? `${flat.slice(0, max - 2)}…"` : flat;
}

function ids(refs: readonly { id: number; text: string }[]): string {
  return refs.map((r) => `${r.id} ${JSON.stringify(r.text)}`).join(', ');
}

const CONTEXT_ERROR = /too long|max_num_tokens|context|kv.?cache|exceed/i;

interface Candidate extends PromptCause {}

/**
 * The model itself: the reference loops and the bundle's answer loops as
 * well, so the loop is the model's, not the bundle's. (A reference that
 * merely runs to the token cap is not a loop: long answers do that.)
 */
function modelCandidate(p: PromptOutcome, greedySame: boolean): Candidate | null {
  const R = p.reference;
  const O = p.bundle;
  const refLoops = R.repetition >= LOOP_SHARE;
  if (!refLoops || O.error || O.repetition < LOOP_SHARE) return null;
  return {
    kind: 'model',
    evidence: [
      { label: 'reference', value: `${Math.round(R.repetition * 100)}% repeated 3-grams, ${R.stopped ? `stopped after ${R.tokens} tokens` : `did not stop within ${R.tokens} tokens`}` },
      { label: 'bundle', value: `${Math.round(O.repetition * 100)}% repeated 3-grams; greedy ${greedySame ? 'identical to the reference' : 'differs'}` },
    ],
    text: `the reference (PyTorch) loops too (${Math.round(R.repetition * 100)}% repeated 3-grams${R.stopped ? '' : `, no stop within ${R.tokens} tokens`}) and the bundle ${greedySame ? 'reproduces it' : 'loops the same way'}: the model does this, not the bundle`,
  };
}

/**
 * All causes measured for one differing prompt, in attribution order; the
 * first is its first cause. `facts` is the bundle's metadata (null for
 * results without it).
 */
export function candidates(p: PromptOutcome, facts: BundleFacts | null, checks: readonly FailingCheck[]): Candidate[] {
  const R = p.reference;
  const O = p.bundle;
  const G = p.greedy;
  const out: Candidate[] = [];
  const failing = (kind: CauseKind) => checks.filter((c) => c.status === 'fail' && checkKind(c.id) === kind);
  const greedySame = sameAnswer(R, G);
  // The greedy answer parts from the reference inside the reference's answer (not merely after its end).
  const greedyEarly = Boolean(G.error) || (!greedySame && !G.text.startsWith(R.text));
  const greedyAt = G.error ? 'the engine could not answer greedily' : `greedy decoding parts from the reference at token ${p.greedyDivergence.token} (character ${p.greedyDivergence.char})`;

  // Context: the engine refused, or prompt + answer cannot fit.
  const error = O.error ?? G.error;
  const limits = [
    facts?.maxNumTokens ? { field: 'max_num_tokens (metadata)', value: facts.maxNumTokens } : null,
    facts?.kvLength ? { field: 'KV-cache length (.tflite)', value: facts.kvLength } : null,
  ].filter((l): l is { field: string; value: number } => l !== null);
  const promptTokens = p.input?.runtimeTokens ?? p.input?.modelTokens ?? null;
  const needed = promptTokens !== null ? promptTokens + R.tokens + (R.stopped ? 1 : 0) : null;
  const over = needed !== null ? limits.filter((l) => needed > l.value).sort((a, b) => a.value - b.value)[0] : undefined;
  const full = [O, G].find((a) => a.stopReason === 'context-full');
  if (over || full || (error && CONTEXT_ERROR.test(error))) {
    const evidence: CauseEvidence[] = [];
    if (over) evidence.push({ label: 'field', value: over.field }, { label: 'its value', value: String(over.value) });
    if (promptTokens !== null) evidence.push({ label: 'prompt tokens', value: String(promptTokens) }, { label: "reference answer tokens", value: `${R.tokens}${R.stopped ? ' + 1 stop token' : ''}` });
    if (needed !== null) evidence.push({ label: 'tokens needed', value: String(needed) });
    if (error) evidence.push({ label: 'engine', value: error });
    if (full) evidence.push({ label: 'engine', value: `stopped with the context full after ${full.tokens} tokens` });
    out.push({
      kind: 'context',
      evidence,
      text: over
        ? `the prompt (${promptTokens} tokens) and the reference's answer (${R.tokens}${R.stopped ? ' + stop' : ''}) need ${needed} tokens, more than the bundle's ${over.field} of ${over.value}${error ? `; the engine said "${error}"` : ''}`
        : error
          ? `the engine refused the prompt: "${error}"`
          : `the engine stopped with its context full after ${full!.tokens} tokens`,
    });
  }

  const model = modelCandidate(p, greedySame);
  if (model) out.push(model);

  // Prompt format: the runtime's prompt ids are not the model's, and the greedy answer shows it.
  const formatChecks = failing('prompt-format');
  if (p.input?.format && greedyEarly) {
    const f = p.input.format;
    const where = `from token ${f.position}: the model's prompt has ${ids(f.expected) || '(its end)'}, the runtime feeds ${ids(f.actual) || '(its end)'}`;
    out.push({
      kind: 'prompt-format',
      evidence: [
        { label: 'source', value: f.source === 'start-token' ? `the metadata's start token ${ids(facts?.startToken ?? []) || '(none)'}` : 'the chat template' },
        { label: 'first differing token', value: String(f.position) },
        { label: 'model ids', value: ids(f.expected) || '(end of prompt)' },
        { label: 'runtime ids', value: ids(f.actual) || '(end of prompt)' },
        ...(f.textOffset !== null ? [{ label: 'first differing character', value: String(f.textOffset) }] : []),
        { label: 'greedy', value: greedyAt },
      ],
      text:
        f.source === 'start-token'
          ? `the start token changes the prompt ${where}${facts?.startToken.length ? ` (the metadata's start token ${ids(facts.startToken)}${f.actual[0]?.id === f.actual[1]?.id ? ' doubles the template\'s first token' : ''})` : ' (the model expects a start token the metadata lacks)'}; ${greedyAt}`
          : `the bundle's chat template renders another prompt (text differs from character ${f.textOffset}), token ids differ ${where}; ${greedyAt}`,
    });
  } else if (!p.input?.format && formatChecks.length > 0 && (p.greedyDivergence.token === 0 || G.error)) {
    out.push({
      kind: 'prompt-format',
      evidence: [{ label: 'greedy', value: greedyAt }, ...formatChecks.map((c) => ({ label: c.id, value: c.explanation }))],
      text: `greedy answers already differ at the first token and the runtime's prompt is not the model's (${formatChecks.map((c) => c.id).join(', ')})`,
    });
  }

  // Tokenizer: the bundle's tokenizer encodes the model's prompt text differently.
  if (p.input?.tokenizer && greedyEarly) {
    const t = p.input.tokenizer;
    out.push({
      kind: 'tokenizer',
      evidence: [
        { label: 'first differing token', value: String(t.position) },
        { label: "model's tokenizer", value: ids(t.expected) || '(end of prompt)' },
        { label: "bundle's tokenizer", value: ids(t.actual) || '(end of prompt)' },
        { label: 'greedy', value: greedyAt },
      ],
      text: `the bundle's tokenizer encodes the prompt differently from the model's, from token ${t.position} (model ${ids(t.expected)}; bundle ${ids(t.actual)}); ${greedyAt}`,
    });
  }

  // Conversion / quantization: teacher-forced on the reference's own tokens, the .tflite picks another token.
  const miss = p.numeric?.firstTop1Miss ?? null;
  // compareLogits reports NaN or infinite logits as the largest error JSON can carry (Number.MAX_VALUE).
  if (p.numeric && p.numeric.maxAbsLogitError >= Number.MAX_VALUE) {
    out.push({
      kind: 'conversion',
      evidence: [{ label: 'teacher-forced logits', value: `not finite (NaN or infinity) over ${p.numeric.positions} positions` }],
      text: 'the .tflite\'s logits are not finite (NaN or infinity): the conversion produced a broken model (check config.json values such as rope_theta and rms_norm_eps)',
    });
  } else if (p.numeric && miss && (greedyEarly || !greedySame)) {
    const n = p.numeric;
    out.push({
      kind: 'conversion',
      evidence: [
        { label: 'first top-1 departure', value: `answer position ${miss.position}: reference ${miss.reference}, .tflite ${miss.bundle}` },
        { label: 'top-1 agreement', value: `${(n.top1Agreement * 100).toFixed(0)}% of ${n.positions} positions` },
        { label: 'mean KL(reference ‖ .tflite)', value: n.meanKl.toExponential(2) },
        { label: 'max |logit error|', value: n.maxAbsLogitError.toFixed(3) },
      ],
      text: `teacher-forced on the reference's tokens, the .tflite departs from the reference logits: its top-1 differs first at answer position ${miss.position} (token ${miss.bundle} instead of ${miss.reference}), top-1 agreement ${(n.top1Agreement * 100).toFixed(0)}% over ${n.positions} positions, mean KL ${n.meanKl.toExponential(2)}, max |logit error| ${n.maxAbsLogitError.toFixed(3)}`,
    });
  }

  // Stop tokens: greedy follows the reference to its stop token and goes on, or stops where the reference goes on.
  const answer = G.error ? O : G;
  if (!answer.error && R.stopped && answer.text.startsWith(R.text) && (answer.text.length > R.text.length || !answer.stopped)) {
    const stopIds = facts?.stopTokens ?? [];
    out.push({
      kind: 'stop-tokens',
      evidence: [
        { label: 'reference stopped on', value: `${R.stopToken} after ${R.tokens} tokens` },
        { label: "bundle's stop tokens", value: ids(stopIds) || '(none known)' },
        { label: `${G.error ? 'bundle' : 'greedy'} answer went on with`, value: clip(answer.text.slice(R.text.length)) },
      ],
      text: `the reference stopped on ${R.stopToken} after ${R.tokens} tokens${facts && !stopIds.some((s) => s.text === R.stopToken) ? `, which is not a stop token of the bundle (${ids(stopIds) || 'none'})` : ''}; the ${G.error ? 'bundle' : 'greedy'} answer went on with ${clip(answer.text.slice(R.text.length))}`,
    });
  } else if (!answer.error && answer.stopped && answer.text.length < R.text.length && R.text.startsWith(answer.text)) {
    out.push({
      kind: 'stop-tokens',
      evidence: [
        { label: 'bundle stopped on', value: `${answer.stopToken ?? 'a stop token'} after ${answer.tokens} tokens` },
        { label: 'reference went on with', value: clip(R.text.slice(answer.text.length)) },
      ],
      text: `the bundle stopped on ${answer.stopToken ?? 'a stop token'} after ${clip(answer.text)} where the reference went on with ${clip(R.text.slice(answer.text.length))}: a stop token the model writes as ordinary text`,
    });
  }

  // Sampler: greedy decoding reproduces the reference, the bundle's own sampler does not.
  if (greedySame && !sameAnswer(R, O) && !O.error) {
    out.push({
      kind: 'sampler',
      evidence: [
        { label: "bundle's sampler", value: facts?.sampler ?? '(not recorded)' },
        { label: 'greedy', value: `identical to the reference (${G.tokens} tokens${G.stopped ? `, stopped on ${G.stopToken}` : ''})` },
        { label: 'own sampler', value: `parts at token ${p.firstDivergence.token}${O.stopped ? '' : `, did not stop (${O.stopReason})`}` },
      ],
      text: `greedy decoding reproduces the reference${G.stopped ? ' and stops' : ''}, the bundle's own sampler (${facts?.sampler ?? 'its metadata'}) does not: it parts at token ${p.firstDivergence.token}${O.stopped ? '' : ' and does not stop'}`,
    });
  }

  if (error && !out.some((c) => c.kind === 'context')) {
    out.push({ kind: 'engine', evidence: [{ label: 'engine', value: error }], text: `the engine could not answer: ${error}` });
  }
  if (out.length === 0) {
    out.push({
      kind: 'unexplained',
      evidence: [
        { label: 'greedy', value: greedyAt },
        { label: 'prompt ids', value: p.input ? 'identical (format and tokenizer)' : 'not measured' },
        { label: 'teacher-forced', value: p.numeric ? `top-1 agreement ${(p.numeric.top1Agreement * 100).toFixed(0)}% over ${p.numeric.positions} positions` : 'not measured' },
      ],
      text: `no measurement explains it: ${greedyAt} with ${p.input ? 'the same prompt ids' : 'unmeasured prompt ids'} and ${p.numeric ? `the .tflite agreeing on the top-1 token at ${(p.numeric.top1Agreement * 100).toFixed(0)}% of positions` : 'no teacher-forced comparison'}`,
    });
  }
  // Stable by the attribution order.
  return out.sort((a, b) => CAUSE_ORDER.indexOf(a.kind) - CAUSE_ORDER.indexOf(b.kind));
}

function plural(n: number, total: number): string {
  return `${n}/${total} prompt${total === 1 ? '' : 's'}`;
}

/**
 * The causes across prompts, most evidenced first: first causes of
 * differing answers by how many they explain, then causes measured where
 * something else came first, then loops the reference shares on matching
 * answers, then latent findings (failing checks no answer shows).
 */
export function rankCauses(prompts: PromptOutcome[], facts: BundleFacts | null, checks: readonly FailingCheck[]): { causes: Cause[]; perPrompt: (PromptCause | null)[] } {
  const n = prompts.length;
  const byKind = new Map<CauseKind, Cause>();
  const entry = (kind: CauseKind): Cause => {
    let c = byKind.get(kind);
    if (!c) {
      c = { kind, latent: false, prompts: [], alsoPrompts: [], evidence: [], checks: [], text: '' };
      byKind.set(kind, c);
    }
    return c;
  };
  const firstText = new Map<CauseKind, string>();
  const perPrompt: (PromptCause | null)[] = [];
  const modelNotes: { p: PromptOutcome; c: Candidate }[] = [];
  for (const p of prompts) {
    if (sameAnswer(p.reference, p.bundle)) {
      perPrompt.push(null);
      if (p.reference.repetition >= LOOP_SHARE) {
        const c = modelCandidate(p, true);
        if (c) modelNotes.push({ p, c });
      }
      continue;
    }
    const found = candidates(p, facts, checks);
    perPrompt.push(found[0]!);
    found.forEach((c, i) => {
      const e = entry(c.kind);
      if (i === 0) {
        e.prompts.push(p.index);
        if (!firstText.has(c.kind)) {
          firstText.set(c.kind, c.text);
          e.evidence = c.evidence;
        }
      } else {
        e.alsoPrompts.push(p.index);
        if (e.evidence.length === 0) e.evidence = c.evidence;
        if (!firstText.has(c.kind) && e.text === '') e.text = c.text;
      }
    });
  }
  for (const { p, c } of modelNotes) {
    const e = entry('model');
    e.prompts.push(p.index);
    if (e.evidence.length === 0) e.evidence = c.evidence;
    if (!firstText.has('model')) firstText.set('model', c.text);
  }
  const differing = prompts.filter((p) => !sameAnswer(p.reference, p.bundle)).length;
  for (const c of byKind.values()) {
    c.checks = checks.filter((x) => x.status === 'fail' && checkKind(x.id) === c.kind).map((x) => x.id);
    const title = CAUSE_TITLES[c.kind];
    const sample = firstText.get(c.kind) ?? c.text;
    if (c.kind === 'model' && c.prompts.every((i) => sameAnswer(prompts.find((p) => p.index === i)!.reference, prompts.find((p) => p.index === i)!.bundle))) {
      c.text = `${title} (${plural(c.prompts.length, n)}, answers match): ${sample}.`;
    } else if (c.prompts.length > 0) {
      c.text = `${title} — first cause in ${plural(c.prompts.length, differing)} that differ: ${sample}${c.checks.length > 0 ? ` [${c.checks.join(', ')}]` : ''}.`;
    } else {
      c.text = `${title} — also measured in ${plural(c.alsoPrompts.length, differing)} that differ, after another cause: ${sample}${c.checks.length > 0 ? ` [${c.checks.join(', ')}]` : ''}.`;
    }
  }
  const weight = (c: Cause) => {
    const modelOnMatches = c.kind === 'model' && c.prompts.every((i) => sameAnswer(prompts.find((p) => p.index === i)!.reference, prompts.find((p) => p.index === i)!.bundle));
    return modelOnMatches ? 1 : c.prompts.length > 0 ? 3 : 2;
  };
  const ranked = [...byKind.values()].sort(
    (a, b) => weight(b) - weight(a) || b.prompts.length - a.prompts.length || b.alsoPrompts.length - a.alsoPrompts.length || CAUSE_ORDER.indexOf(a.kind) - CAUSE_ORDER.indexOf(b.kind),
  );

  // Latent: failing checks of a class no prompt showed.
  const shown = new Set(ranked.map((c) => c.kind));
  const latentByKind = new Map<CauseKind, FailingCheck[]>();
  for (const check of checks) {
    if (check.status !== 'fail') continue;
    const kind = checkKind(check.id);
    if (shown.has(kind)) continue;
    latentByKind.set(kind, [...(latentByKind.get(kind) ?? []), check]);
  }
  const latent: Cause[] = [...latentByKind.entries()]
    .sort((a, b) => CAUSE_ORDER.indexOf(a[0]) - CAUSE_ORDER.indexOf(b[0]))
    .map(([kind, list]) => {
      const seen = measuredInput(kind, prompts, facts);
      return {
        kind,
        latent: true,
        prompts: seen?.prompts ?? [],
        alsoPrompts: [],
        evidence: [...(seen?.evidence ?? []), ...list.map((c) => ({ label: c.id, value: c.explanation }))],
        checks: list.map((c) => c.id),
        text: `Latent (${CAUSE_TITLES[kind].toLowerCase()}): ${differing === 0 ? `the answers match on these ${n} prompts` : `no answer among these ${n} prompts shows it`}, but ${seen ? `${seen.sentence}, and ` : ''}${list.map((c) => `${c.id} fails (${c.explanation.replace(/\.$/, '')})`).join('; ')}; it may change other prompts.`,
      };
    });
  return { causes: [...ranked, ...latent], perPrompt };
}

/** For a latent finding: what the prompts' own input measurement saw of it (the prompt-format and tokenizer classes). */
function measuredInput(kind: CauseKind, prompts: PromptOutcome[], facts: BundleFacts | null): { prompts: number[]; evidence: CauseEvidence[]; sentence: string } | null {
  if (kind === 'prompt-format') {
    const hit = prompts.filter((p) => p.input?.format);
    if (hit.length === 0) return null;
    const f = hit[0]!.input!.format!;
    const source = f.source === 'start-token' ? `the start token ${ids(facts?.startToken ?? []) || '(none)'}` : 'the chat template';
    return {
      prompts: hit.map((p) => p.index),
      evidence: [
        { label: 'source', value: source },
        { label: 'first differing token', value: String(f.position) },
        { label: 'model ids', value: ids(f.expected) || '(end of prompt)' },
        { label: 'runtime ids', value: ids(f.actual) || '(end of prompt)' },
      ],
      sentence: `${source} changes the prompt the runtime feeds in ${hit.length}/${prompts.length} prompts from token ${f.position} (model ${ids(f.expected)}; runtime ${ids(f.actual)})`,
    };
  }
  if (kind === 'tokenizer') {
    const hit = prompts.filter((p) => p.input?.tokenizer);
    if (hit.length === 0) return null;
    const t = hit[0]!.input!.tokenizer!;
    return {
      prompts: hit.map((p) => p.index),
      evidence: [
        { label: 'first differing token', value: String(t.position) },
        { label: "model's tokenizer", value: ids(t.expected) },
        { label: "bundle's tokenizer", value: ids(t.actual) },
      ],
      sentence: `the bundle's tokenizer encodes ${hit.length}/${prompts.length} prompts differently from token ${t.position}`,
    };
  }
  return null;
}
