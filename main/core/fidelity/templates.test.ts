/**
 * Template rendering and probes. The model side must render exactly like
 * transformers (jinja2): testdata/jinja2-renders.json holds jinja2 3.1.6's
 * output for the Qwen2.5 and the real Qwen3 templates on CONVERSATIONS.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHATML_TEMPLATE, QWEN25_TEMPLATE, QWEN_TOKENIZER_DIR } from '../../../test/support/fidelityModels.js';
import { deriveAffixes } from './intent.js';
import {
  CONVERSATIONS,
  affixRenderer,
  firstPrefixBreak,
  hfTemplateRenderer,
  injectedSystemPrompt,
  runtimeIncompatibilities,
  runtimeJinjaRenderer,
  textAfterAssistantTurn,
} from './templates.js';

const JINJA2 = JSON.parse(readFileSync(path.join(import.meta.dirname, 'testdata', 'jinja2-renders.json'), 'utf8')) as { renders: Record<string, Record<string, string>> };
const QWEN3_TEMPLATE = (JSON.parse(readFileSync(path.join(QWEN_TOKENIZER_DIR, 'tokenizer_config.json'), 'utf8')) as { chat_template: string }).chat_template;
const VARS = { bosToken: '', eosToken: '<|im_end|>' };

describe('hfTemplateRenderer renders like transformers (jinja2)', () => {
  for (const [name, template] of [
    ['qwen25', QWEN25_TEMPLATE],
    ['qwen3', QWEN3_TEMPLATE],
  ] as const) {
    it.each(CONVERSATIONS.map((c) => [c.name, c] as const))(`${name}: %s`, (conversationName, conversation) => {
      const render = hfTemplateRenderer(template, VARS);
      expect(render(conversation.messages, conversation.addGenerationPrompt)).toBe(JINJA2.renders[name]![conversationName]);
    });
  }

  it('refuses a template that does not parse, naming the problem', () => {
    expect(() => hfTemplateRenderer('{% for m in messages %}{{ m.content }}', VARS)).toThrow(expect.objectContaining({ code: 'template_parse_failed' }));
  });

  it('reports a template that raises while rendering', () => {
    const render = hfTemplateRenderer("{{ raise_exception('Conversation roles must alternate') }}", VARS);
    expect(() => render([{ role: 'user', content: 'x' }], true)).toThrow(expect.objectContaining({ code: 'template_render_failed' }));
  });
});

describe('runtime rendering', () => {
  it('keeps a trailing newline of the template source, as the runtime\'s minijinja does', () => {
    const template = "{% for m in messages %}{{ m.content }}{% endfor %}{{ '!' }}\n";
    expect(hfTemplateRenderer(template, VARS)([{ role: 'user', content: 'hi' }], false)).toBe('hi!');
    expect(runtimeJinjaRenderer(template, VARS)([{ role: 'user', content: 'hi' }], false)).toBe('hi!\n');
  });

  it('removes {% generation %} markers like the runtime', () => {
    const template = "{% for m in messages %}{% generation %}{{ m.content }}{% endgeneration %}{% endfor %}";
    expect(runtimeJinjaRenderer(template, VARS)([{ role: 'assistant', content: 'ok' }], false)).toBe('ok');
  });

  it('renders prefix/suffix templates turn by turn, with the model prefix as generation prompt', () => {
    const render = affixRenderer({ user: { prefix: '<u>', suffix: '</u>' }, model: { prefix: '<m>', suffix: '</m>' } });
    expect(render([{ role: 'system', content: 's' }, { role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }], true)).toBe('<u>s</u><u>q</u><m>a</m><m>');
  });
});

describe('template probes', () => {
  it("finds Qwen2.5's injected default system prompt and none in plain ChatML or Qwen3", () => {
    expect(injectedSystemPrompt(hfTemplateRenderer(QWEN25_TEMPLATE, VARS))).toBe('You are Qwen, created by Alibaba Cloud. You are a helpful assistant.');
    expect(injectedSystemPrompt(hfTemplateRenderer(CHATML_TEMPLATE, VARS))).toBeNull();
    expect(injectedSystemPrompt(hfTemplateRenderer(QWEN3_TEMPLATE, VARS))).toBeNull();
  });

  it('reads the end-of-turn text after an assistant reply', () => {
    expect(textAfterAssistantTurn(hfTemplateRenderer(CHATML_TEMPLATE, VARS))).toBe('<|im_end|>\n');
  });

  it("detects Qwen3's history re-render (LiteRT-LM #3443) and passes stable templates", () => {
    const broken = firstPrefixBreak(hfTemplateRenderer(QWEN3_TEMPLATE, VARS));
    expect(broken?.turns).toBe(2);
    expect(broken?.before).toContain('<think>\n\n</think>');
    expect(firstPrefixBreak(hfTemplateRenderer(QWEN25_TEMPLATE, VARS))).toBeNull();
    expect(firstPrefixBreak(hfTemplateRenderer(CHATML_TEMPLATE, VARS))).toBeNull();
  });

  it('flags Python methods the runtime does not rewrite, and only those', () => {
    expect(runtimeIncompatibilities(QWEN3_TEMPLATE)).toEqual([]);
    expect(runtimeIncompatibilities(QWEN25_TEMPLATE)).toEqual([]);
    const found = runtimeIncompatibilities("{% if messages[0].get('role', '') == 'system' %}\n{{ messages[0].content.upper() }}{% endif %}\ntext.get(x) outside tags");
    expect(found.map((f) => [f.construct, f.line])).toEqual([
      ['.get()', 1],
      ['.upper()', 2],
    ]);
  });

  it('derives prefix/suffix templates from ChatML, and refuses templates that are not plain wrappers', () => {
    expect(deriveAffixes(hfTemplateRenderer(CHATML_TEMPLATE, VARS))).toEqual({
      user: { prefix: '<|im_start|>user\n', suffix: '<|im_end|>\n' },
      model: { prefix: '<|im_start|>assistant\n', suffix: '<|im_end|>\n' },
      system: { prefix: '<|im_start|>system\n', suffix: '<|im_end|>\n' },
    });
    expect(deriveAffixes(hfTemplateRenderer(QWEN25_TEMPLATE, VARS))).toBeNull();
  });
});
