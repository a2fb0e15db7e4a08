/**
 * Prompt-format checks: render the bundle's prompt format the way the
 * runtime does and the model's chat template the way transformers does, on
 * the same conversations, and compare the text and the token ids. A model
 * fine-tuned on one format and prompted in another drifts, loops or answers
 * the wrong turn; these differences are invisible in a quick chat test.
 */
import type { CheckItem, PromptDiff } from '../../../common/fidelity.js';
import { WorkbenchError } from '../../../common/errors.js';
import type { AnalysisInput } from '../input.js';
import { resolveToken, show } from '../input.js';
import type { ModelIntent } from '../intent.js';
import {
  CONVERSATIONS,
  affixRenderer,
  firstDifference,
  firstIdDifference,
  firstPrefixBreak,
  hasAffixes,
  injectedSystemPrompt,
  runtimeIncompatibilities,
  runtimeJinjaRenderer,
} from '../templates.js';
import type { Renderer } from '../templates.js';
import { packagedTokenizer } from './shared.js';

const TEMPLATE_SOURCE = 'LiteRT-LM runtime/components/prompt_template.cc and runtime/conversation/ (jinja_prompt_template rendered with minijinja; prompt_templates prefixes/suffixes otherwise)';

export interface PromptFormatResult {
  items: CheckItem[];
  /** Token ids the runtime feeds for the first conversation (start token included), for the start-token check. */
  packagedFirstIds: number[] | null;
}

export interface PackagedForm {
  kind: 'jinja' | 'affixes' | 'none';
  render: Renderer | null;
  problem: string | null;
}

/** The bundle's prompt format as the runtime renders it (jinja, prefix/suffix affixes, or none). */
export function packagedForm(input: AnalysisInput): PackagedForm {
  const meta = input.bundle.metadata;
  if (meta?.jinjaPromptTemplate) {
    try {
      const render = runtimeJinjaRenderer(meta.jinjaPromptTemplate, input.model.vars);
      // A template past the sandbox's limits (templates/jinjaSandbox.ts) hangs or fails the runtime too: the bundle has no usable prompt format.
      try {
        render([{ role: 'user', content: 'x' }], true);
      } catch (error) {
        if (error instanceof WorkbenchError && error.code === 'template_too_costly') throw error;
      }
      return { kind: 'jinja', render, problem: null };
    } catch (error) {
      return { kind: 'jinja', render: null, problem: error instanceof WorkbenchError ? error.message : String(error) };
    }
  }
  if (hasAffixes(meta?.promptTemplates)) return { kind: 'affixes', render: affixRenderer(meta!.promptTemplates!), problem: null };
  return { kind: 'none', render: null, problem: null };
}

export function promptFormatChecks(input: AnalysisInput, intent: ModelIntent): PromptFormatResult {
  const items: CheckItem[] = [];
  const form = packagedForm(input);
  const model = input.model;
  const formName = form.kind === 'jinja' ? 'jinja_prompt_template' : form.kind === 'affixes' ? 'prompt_templates (prefix/suffix)' : 'none';

  items.push({
    id: 'prompt-format.present',
    category: 'prompt-format',
    title: 'The bundle carries a prompt format',
    status: form.kind === 'none' || form.problem ? 'fail' : form.kind === 'affixes' && model.chatTemplate ? 'warn' : 'pass',
    explanation:
      form.kind === 'none'
        ? 'The metadata has neither jinja_prompt_template nor prompt_templates, so the runtime falls back to a generic template the model was not trained on.'
        : form.problem
          ? `The bundle's jinja template cannot be rendered (${form.problem.replace(/\.$/, '')}).`
          : form.kind === 'affixes' && model.chatTemplate
            ? "The bundle has only prefix/suffix templates, which cannot express the chat template's conditional logic (system prompt defaults, multi-turn rules)."
            : `The bundle carries ${formName}.`,
    evidence: [
      { label: 'bundle prompt format', value: formName },
      { label: 'model chat template', value: model.chatTemplate ? `${model.folder.tokenizerConfig?.chatTemplateSource ?? 'present'} (${model.chatTemplate.length} chars)` : '(none)' },
    ],
    fix: form.kind === 'jinja' && !form.problem ? null : 'Embed the model\'s chat template as jinja_prompt_template.',
    fixableByMetadata: model.chatTemplate !== null,
    source: TEMPLATE_SOURCE,
  });

  // Render both on the same conversations.
  const expectedTok = model.tokenizer;
  const actualTok = packagedTokenizer(input);
  const start = input.bundle.metadata?.startToken;
  const startIds = start ? (resolveToken(start, actualTok).ids ?? []) : [];
  const diffs: PromptDiff[] = [];
  let renderError: string | null = model.render ? null : (model.renderProblem ?? 'The model folder has no chat template.');
  let packagedFirstIds: number[] | null = null;
  if (model.render && form.render) {
    for (const conv of CONVERSATIONS) {
      let expectedText: string;
      let actualText: string;
      try {
        expectedText = model.render(conv.messages, conv.addGenerationPrompt);
      } catch (error) {
        renderError = `The model's chat template fails on "${conv.name}": ${(error as Error).message}`;
        break;
      }
      try {
        actualText = form.render(conv.messages, conv.addGenerationPrompt);
      } catch (error) {
        renderError = `The bundle's prompt format fails on "${conv.name}": ${(error as Error).message}`;
        break;
      }
      const expectedIds = expectedTok ? expectedTok.encode(expectedText) : null;
      const actualIds = actualTok ? [...startIds, ...actualTok.encode(actualText)] : null;
      if (packagedFirstIds === null && actualIds) packagedFirstIds = actualIds;
      diffs.push({
        conversation: conv.name,
        expectedText,
        actualText,
        textOffset: firstDifference(expectedText, actualText),
        expectedIds,
        actualIds,
        tokenOffset: expectedIds && actualIds ? firstIdDifference(expectedIds, actualIds) : null,
      });
    }
  }
  const compared = diffs.length === CONVERSATIONS.length;
  const textDiffs = diffs.filter((d) => d.textOffset !== null);
  items.push({
    id: 'prompt-format.text',
    category: 'prompt-format',
    title: "The runtime's prompt text equals the chat template's",
    status: !compared ? (form.kind === 'none' ? 'fail' : 'warn') : textDiffs.length > 0 ? 'fail' : 'pass',
    explanation: !compared
      ? renderError ?? 'The bundle has no prompt format to compare.'
      : textDiffs.length > 0
        ? `On ${textDiffs.length} of ${diffs.length} conversations the runtime's prompt differs from the model's chat template, first in "${textDiffs[0]!.conversation}" at character ${textDiffs[0]!.textOffset}.`
        : `The runtime renders exactly the chat template's text on all ${diffs.length} conversations (with and without system message, multi-turn, generation prompt).`,
    evidence: textDiffs.slice(0, 3).map((d) => ({ label: d.conversation, value: describeTextDiff(d) })),
    fix: textDiffs.length > 0 || !compared ? "Embed the model's own chat template as jinja_prompt_template." : null,
    fixableByMetadata: model.chatTemplate !== null,
    source: TEMPLATE_SOURCE,
    diffs: textDiffs,
  });

  const idDiffs = diffs.filter((d) => d.tokenOffset !== null);
  const tokenized = compared && diffs.every((d) => d.expectedIds !== null && d.actualIds !== null);
  items.push({
    id: 'prompt-format.token-ids',
    category: 'prompt-format',
    title: "The runtime's prompt token ids equal the chat template's",
    status: !tokenized ? 'warn' : idDiffs.length > 0 ? 'fail' : 'pass',
    explanation: !tokenized
      ? compared
        ? `The prompts could not be tokenized (${model.tokenizerProblem ?? 'no tokenizer'}).`
        : 'The prompts could not be rendered, so their token ids were not compared.'
      : idDiffs.length > 0
        ? `On ${idDiffs.length} of ${diffs.length} conversations the token ids differ (start token included), first in "${idDiffs[0]!.conversation}" at token ${idDiffs[0]!.tokenOffset}.`
        : `Token ids are identical on all ${diffs.length} conversations, start token included.`,
    evidence: idDiffs.slice(0, 3).map((d) => ({ label: d.conversation, value: describeIdDiff(d, input) })),
    fix: idDiffs.length > 0 ? 'Fix the start token and the template together so both match the model.' : null,
    fixableByMetadata: true,
    source: `${TEMPLATE_SOURCE}; the runtime tokenizes with the bundle's tokenizer and prepends start_token`,
    diffs: idDiffs,
  });

  // Default system prompt injected when the conversation has none.
  const modelInjects = intent.injectedSystemPrompt;
  let bundleInjects: string | null = null;
  let injectionKnown = false;
  if (form.render) {
    try {
      bundleInjects = injectedSystemPrompt(form.render);
      injectionKnown = true;
    } catch {
      injectionKnown = false;
    }
  }
  const sameInjection = injectionKnown && model.render !== null && bundleInjects === modelInjects;
  items.push({
    id: 'prompt-format.default-system-prompt',
    category: 'prompt-format',
    title: 'Default system prompt matches the chat template',
    status: !injectionKnown || !model.render ? 'warn' : sameInjection ? 'pass' : 'fail',
    explanation: !injectionKnown || !model.render
      ? 'The templates could not both be rendered, so an injected default system prompt could not be compared.'
      : sameInjection
        ? modelInjects
          ? `Both inject the same default system prompt when none is given (${show(modelInjects, 80)}), as the model was trained.`
          : 'Neither the bundle nor the model injects a default system prompt.'
        : bundleInjects && !modelInjects
          ? `The bundle injects a default system prompt the model's template does not: ${show(bundleInjects, 120)}.`
          : modelInjects && !bundleInjects
            ? `The model's template injects a default system prompt (${show(modelInjects, 80)}) that the bundle leaves out, so system-less prompts differ from training.`
            : `The bundle injects a different default system prompt (${show(bundleInjects ?? '', 80)}) than the model's template (${show(modelInjects ?? '', 80)}).`,
    evidence: [
      { label: 'model injects', value: modelInjects ? show(modelInjects) : '(nothing)' },
      { label: 'bundle injects', value: injectionKnown ? (bundleInjects ? show(bundleInjects) : '(nothing)') : '(unknown)' },
    ],
    fix: sameInjection ? null : "Embed the model's own chat template; if your fine-tuning data used a different system prompt, pass it explicitly at run time.",
    fixableByMetadata: model.chatTemplate !== null,
    source: 'Qwen2.5 chat template ("You are Qwen, created by Alibaba Cloud..."); LiteRT-LM Session API applies prefixes/suffixes only',
  });

  // Constructs the runtime's minijinja renders differently or not at all.
  const template = input.bundle.metadata?.jinjaPromptTemplate ?? null;
  const incompat = template ? runtimeIncompatibilities(template) : [];
  items.push({
    id: 'prompt-format.runtime-compatible',
    category: 'prompt-format',
    title: "The template uses only constructs the runtime's minijinja supports",
    status: incompat.length > 0 ? 'warn' : 'pass',
    explanation:
      incompat.length > 0
        ? `The template calls ${[...new Set(incompat.map((i) => i.construct))].join(', ')}, which the runtime's minijinja does not support, so rendering fails when ${incompat.length > 1 ? 'those lines are' : 'that line is'} evaluated.`
        : template
          ? 'The template uses no Python methods beyond the ones the runtime rewrites for minijinja.'
          : 'The bundle has no jinja template, so there is nothing for minijinja to mishandle.',
    evidence: incompat.slice(0, 5).map((i) => ({ label: `line ${i.line}: ${i.construct}`, value: i.excerpt })),
    fix: incompat.length > 0 ? 'Rewrite those calls as minijinja filters/tests (e.g. `x.get(k, d)` → `x[k] if k in x else d`, `.upper()` → `| upper`) in a copy of the template and package it as jinja_prompt_template.' : null,
    fixableByMetadata: false,
    source: 'LiteRT-LM runtime/components/prompt_template.cc (EditTemplateForMinijinja), runtime/components/rust/minijinja_template.rs; issue #3021',
  });

  // History re-renders must extend the previous render.
  let breakInfo: ReturnType<typeof firstPrefixBreak> = null;
  let stableKnown = false;
  if (form.kind === 'jinja' && form.render) {
    try {
      breakInfo = firstPrefixBreak(form.render);
      stableKnown = true;
    } catch {
      stableKnown = false;
    }
  } else if (form.kind === 'affixes') {
    stableKnown = true;
  }
  items.push({
    id: 'prompt-format.multi-turn-stable',
    category: 'prompt-format',
    title: 'Adding a turn does not rewrite earlier turns',
    status: !stableKnown ? 'warn' : breakInfo ? 'warn' : 'pass',
    explanation: !stableKnown
      ? 'The bundle template could not be rendered on a growing history.'
      : breakInfo
        ? `Rendering ${breakInfo.turns} message(s) and then one more rewrites earlier text at character ${breakInfo.offset}, which the runtime's Conversation API rejects on the next message ("rendered template string does not start with the previous").`
        : 'Each longer history renders as an extension of the shorter one, as the Conversation API requires.',
    evidence: breakInfo
      ? [
          { label: `history of ${breakInfo.turns}`, value: show(breakInfo.before.slice(Math.max(0, breakInfo.offset - 40), breakInfo.offset + 60)) },
          { label: `history of ${breakInfo.turns + 1}`, value: show(breakInfo.after.slice(Math.max(0, breakInfo.offset - 40), breakInfo.offset + 60)) },
        ]
      : [],
    fix: breakInfo ? 'Use a template whose past assistant turns render the same regardless of later turns (for Qwen3, the runtime\'s canonical qwen3 template), or use single-turn prompts.' : null,
    fixableByMetadata: false,
    source: 'LiteRT-LM runtime/conversation (GetSingleTurnTextFromFullHistory); issue #3443',
  });

  return { items, packagedFirstIds };
}

function describeTextDiff(d: PromptDiff): string {
  const at = d.textOffset ?? 0;
  const from = Math.max(0, at - 30);
  return `at char ${at}: model ${show(d.expectedText.slice(from, at + 50), 120)} vs runtime ${show(d.actualText.slice(from, at + 50), 120)}`;
}

function describeIdDiff(d: PromptDiff, input: AnalysisInput): string {
  const at = d.tokenOffset ?? 0;
  const tok = input.model.tokenizer;
  const name = (id: number | undefined): string => (id === undefined ? '(end)' : `${id}${tok ? ` ${show(tok.idToTokenString(id) ?? '?', 30)}` : ''}`);
  return `at token ${at}: model ${name(d.expectedIds?.[at])} vs runtime ${name(d.actualIds?.[at])} (lengths ${d.expectedIds?.length ?? 0} vs ${d.actualIds?.length ?? 0})`;
}
