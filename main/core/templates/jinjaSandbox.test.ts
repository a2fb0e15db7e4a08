import { describe, expect, it } from 'vitest';
import { parseJinja, renderJinja, TEMPLATE_MAX_OUTPUT_CHARS } from './jinjaSandbox.js';

describe('the jinja sandbox', () => {
  it('renders a chat template with its context', () => {
    const source = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}";
    expect(renderJinja(source, { messages: [{ role: 'user', content: 'hi' }], add_generation_prompt: true })).toEqual({ ok: true, text: '<user>hi<assistant>' });
  });

  it('tells a parse error from a render error', () => {
    expect(parseJinja('{% for %}')).toMatchObject({ ok: false, stage: 'parse' });
    expect(renderJinja('{{ "x" * 3 }}{{ raise_exception("no") }}', {})).toMatchObject({ ok: false, stage: 'render' });
  });

  it('stops a template that runs past its limits without taking the process down, and keeps working', () => {
    const endless = '{% for i in range(1000000000) %}x{% endfor %}';
    const first = renderJinja(endless, {});
    expect(first).toMatchObject({ ok: false, stage: 'limit' });
    // Known to be over the limit: refused at once, the same way.
    expect(renderJinja(endless, {})).toEqual(first);
    expect(renderJinja('{{ a }}', { a: 7 })).toEqual({ ok: true, text: '7' });
  }, 120_000);

  it('refuses output longer than the limit', () => {
    const source = `{% for i in range(${Math.ceil(TEMPLATE_MAX_OUTPUT_CHARS / 1024) + 1}) %}${'x'.repeat(1024)}{% endfor %}`;
    expect(renderJinja(source, {})).toMatchObject({ ok: false, stage: 'limit', message: expect.stringMatching(/more than the \d+ allowed/) });
  }, 120_000);
});
