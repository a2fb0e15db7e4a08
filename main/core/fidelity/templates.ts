/**
 * Prompt rendering for the fidelity analyzer: the model's chat template the
 * way transformers renders it (jinja2 with trim_blocks/lstrip_blocks, which
 * @huggingface/jinja reproduces), and the bundle's prompt format the way the
 * LiteRT-LM runtime applies it (minijinja over `jinja_prompt_template`, or
 * the prefix/suffix `prompt_templates`). Also the template probes the checks
 * need: an injected default system prompt, the end-of-turn marker, history
 * re-renders that change earlier turns, and constructs minijinja mishandles.
 */
import type { LlmMetadataJson } from '../../common/formats.js';
import { WorkbenchError } from '../../common/errors.js';
import { parseJinja, renderJinja, type TemplateOutcome } from '../templates/jinjaSandbox.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface Conversation {
  name: string;
  messages: ChatMessage[];
  addGenerationPrompt: boolean;
}

/** Tokens the template may reference as variables. */
export interface TemplateVars {
  bosToken: string;
  eosToken: string;
}

const SYSTEM = 'You answer questions about the weather in one short sentence.';

/**
 * The conversations both templates are rendered on: with and without a
 * system message, multi-turn, with the generation prompt (inference) and
 * without it (a finished exchange, the form training data takes). Contents
 * include a newline and leading spaces, which templates sometimes strip.
 */
export const CONVERSATIONS: readonly Conversation[] = [
  { name: 'single user turn', messages: [{ role: 'user', content: 'Will it rain in Lyon tomorrow?' }], addGenerationPrompt: true },
  {
    name: 'system + user',
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'Will it rain in Lyon tomorrow?' },
    ],
    addGenerationPrompt: true,
  },
  {
    name: 'multi-turn',
    messages: [
      { role: 'user', content: 'Will it rain in Lyon tomorrow?' },
      { role: 'assistant', content: 'Yes, light rain is expected after noon.' },
      { role: 'user', content: 'And on Sunday?\nPlease be brief.' },
    ],
    addGenerationPrompt: true,
  },
  {
    name: 'system + multi-turn',
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'Will it rain in Lyon tomorrow?' },
      { role: 'assistant', content: 'Yes, light rain is expected after noon.' },
      { role: 'user', content: '  And on Sunday?' },
    ],
    addGenerationPrompt: true,
  },
  {
    name: 'finished exchange (training form)',
    messages: [
      { role: 'user', content: 'Will it rain in Lyon tomorrow?' },
      { role: 'assistant', content: 'Yes, light rain is expected after noon.' },
    ],
    addGenerationPrompt: false,
  },
];

/** A renderer turns messages into the prompt text (throws `template_render_failed` or `template_too_costly`). */
export type Renderer = (messages: readonly ChatMessage[], addGenerationPrompt: boolean) => string;

/** HF's training-only `{% generation %}` markers, which the runtime also deletes before rendering. */
const GENERATION_TAGS = /\{%-?\s*(?:end)?generation\s*-?%\}/g;

/** The one-sentence error for a template that failed in the sandbox. */
export function templateError(what: string, outcome: Exclude<TemplateOutcome, { ok: true }>): WorkbenchError {
  if (outcome.stage === 'parse') return new WorkbenchError('template_parse_failed', `The ${what} does not parse as a Jinja template: ${outcome.message}`);
  if (outcome.stage === 'limit') {
    return new WorkbenchError('template_too_costly', `The ${what} was stopped: ${outcome.message}; simplify its loops.`);
  }
  return new WorkbenchError('template_render_failed', `The ${what} failed to render: ${outcome.message}`);
}

/** Parses a template in the sandbox (jinjaSandbox.ts), throwing its one-sentence error; returns the source to render. */
function compile(source: string, what: string): string {
  const stripped = source.replace(GENERATION_TAGS, '');
  const parsed = parseJinja(stripped);
  if (!parsed.ok) throw templateError(what, parsed);
  return stripped;
}

function renderWith(source: string, what: string, vars: TemplateVars): Renderer {
  return (messages, addGenerationPrompt) => {
    const rendered = renderJinja(source, {
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: addGenerationPrompt,
      bos_token: vars.bosToken,
      eos_token: vars.eosToken,
    });
    if (!rendered.ok) throw templateError(what, rendered);
    return rendered.text;
  };
}

/** The model's chat template as `tokenizer.apply_chat_template(..., tokenize=False)` renders it. */
export function hfTemplateRenderer(template: string, vars: TemplateVars): Renderer {
  return renderWith(compile(template, "model's chat template"), "model's chat template", vars);
}

/**
 * The bundle's jinja template as the runtime renders it. minijinja there runs
 * with keep_trailing_newline (prompt_template's minijinja_template.rs), while
 * jinja2 drops one trailing newline of the source; doubling a trailing
 * newline makes @huggingface/jinja keep exactly one, like the runtime.
 */
export function runtimeJinjaRenderer(template: string, vars: TemplateVars): Renderer {
  const source = template.endsWith('\n') ? `${template}\n` : template;
  return renderWith(compile(source, 'bundle\'s jinja_prompt_template'), "bundle's jinja_prompt_template", vars);
}

type Affixes = NonNullable<LlmMetadataJson['promptTemplates']>;

/**
 * The prefix/suffix form (`prompt_templates`): each turn is wrapped in its
 * role's prefix and suffix; the generation prompt is the model prefix. A
 * system message without system affixes is wrapped like a user turn.
 */
export function affixRenderer(affixes: Affixes): Renderer {
  return (messages, addGenerationPrompt) => {
    let out = '';
    for (const m of messages) {
      const role = m.role === 'assistant' ? affixes.model : m.role === 'system' ? (affixes.system ?? affixes.user) : affixes.user;
      out += `${role?.prefix ?? ''}${m.content}${role?.suffix ?? ''}`;
    }
    if (addGenerationPrompt) out += affixes.model?.prefix ?? '';
    return out;
  };
}

/** Whether affixes carry anything at all (an empty message counts as absent). */
export function hasAffixes(affixes: Affixes | undefined): affixes is Affixes {
  if (!affixes) return false;
  return [affixes.user, affixes.model, affixes.system].some((a) => Boolean(a?.prefix) || Boolean(a?.suffix));
}

const SENTINEL_SYSTEM = 'SENTINEL-SYSTEM-7f3a';
const SENTINEL_USER = 'SENTINEL-USER-91c2';

/**
 * The default system prompt a template inserts when the conversation has
 * none (Qwen2.5: "You are Qwen, created by Alibaba Cloud. ..."), or null.
 * Found by rendering with a sentinel system message and without one: if the
 * second equals the first with the sentinel replaced by some text, that text
 * is the injected prompt.
 */
export function injectedSystemPrompt(render: Renderer): string | null {
  const user: ChatMessage = { role: 'user', content: SENTINEL_USER };
  const withSystem = render([{ role: 'system', content: SENTINEL_SYSTEM }, user], true);
  const without = render([user], true);
  const at = withSystem.indexOf(SENTINEL_SYSTEM);
  if (at < 0) return null;
  const before = withSystem.slice(0, at);
  const after = withSystem.slice(at + SENTINEL_SYSTEM.length);
  if (!without.startsWith(before) || !without.endsWith(after) || without.length <= before.length + after.length) return null;
  const injected = without.slice(before.length, without.length - after.length);
  return injected.trim().length > 0 ? injected : null;
}

/**
 * The text a template writes right after an assistant message's content:
 * its end-of-turn marker (`<|im_end|>\n` for ChatML), or null when the
 * template writes nothing there.
 */
export function textAfterAssistantTurn(render: Renderer): string | null {
  const reply = 'SENTINEL-REPLY-5d1e';
  const text = render(
    [
      { role: 'user', content: SENTINEL_USER },
      { role: 'assistant', content: reply },
    ],
    false,
  );
  const at = text.lastIndexOf(reply);
  if (at < 0) return null;
  const after = text.slice(at + reply.length);
  return after.length > 0 ? after : null;
}

export interface PrefixBreak {
  /** Number of messages in the shorter history. */
  turns: number;
  before: string;
  after: string;
  offset: number;
}

/**
 * The runtime's Conversation API renders the history without and then with
 * the new message and feeds only the difference, so it requires every
 * re-render to extend the previous one (LiteRT-LM #3443). Returns the first
 * history whose re-render rewrites earlier text, or null.
 */
export function firstPrefixBreak(render: Renderer): PrefixBreak | null {
  const turns: ChatMessage[] = [
    { role: 'user', content: 'Will it rain in Lyon tomorrow?' },
    { role: 'assistant', content: 'Yes, light rain is expected after noon.' },
    { role: 'user', content: 'And on Sunday?' },
    { role: 'assistant', content: 'Sunday looks dry.' },
    { role: 'user', content: 'Thanks.' },
  ];
  for (let n = 1; n < turns.length; n++) {
    const before = render(turns.slice(0, n), false);
    const after = render(turns.slice(0, n + 1), false);
    if (!after.startsWith(before)) {
      return { turns: n, before, after, offset: firstDifference(before, after) ?? before.length };
    }
  }
  return null;
}

/** First index where two strings differ, or null when equal. */
export function firstDifference(a: string, b: string): number | null {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? null : n;
}

/** First index where two id lists differ, or null when equal. */
export function firstIdDifference(a: readonly number[], b: readonly number[]): number | null {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? null : n;
}

export interface RuntimeIncompatibility {
  construct: string;
  line: number;
  excerpt: string;
  why: string;
}

/**
 * Methods the runtime rewrites into minijinja filters/tests before rendering
 * (EditTemplateForMinijinja in runtime/components/prompt_template.cc), plus
 * loop helpers minijinja has natively. Any other `.method(` call on a value
 * fails at render time: the runtime's minijinja has no Python-method
 * emulation (LiteRT-LM #3021: `messages[0].get('role', '')`).
 */
const REWRITTEN_METHODS = new Set(['startswith', 'endswith', 'replace', 'split', 'join', 'lstrip', 'rstrip', 'strip', 'items', 'cycle', 'changed']);

/** Constructs in a chat template that the LiteRT-LM runtime renders differently or not at all. */
export function runtimeIncompatibilities(template: string): RuntimeIncompatibility[] {
  const found: RuntimeIncompatibility[] = [];
  const lines = template.split('\n');
  // Only code inside {{ }} and {% %} matters; text outside tags is output.
  const tag = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g;
  for (const m of template.matchAll(tag)) {
    const code = m[0];
    for (const call of code.matchAll(/\.([A-Za-z_]\w*)\s*\(/g)) {
      const name = call[1]!;
      if (REWRITTEN_METHODS.has(name)) continue;
      const line = template.slice(0, m.index + (call.index ?? 0)).split('\n').length;
      found.push({
        construct: `.${name}()`,
        line,
        excerpt: (lines[line - 1] ?? '').trim().slice(0, 160),
        why: `minijinja in the runtime does not emulate Python's .${name}() and the runtime does not rewrite it, so rendering fails when this line is evaluated`,
      });
    }
  }
  return found;
}
