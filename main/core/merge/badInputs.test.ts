/**
 * Bad inputs to the merge: each is refused with a stable code and one human
 * sentence, and leaves nothing behind (no output folder, no partial folder).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleMerge, writeQwenLikePair, writeSafetensors } from '../../../test/support/mergeSupport.js';
import { WorkbenchError } from '../../common/errors.js';
import { mergeLora, type MergeOptions } from './merge.js';

let tmp: string;
let workerScript: string;
let caseNo = 0;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'merge bad inputs '));
  workerScript = (await bundleMerge()).workerScript;
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function freshPair(options: Parameters<typeof writeQwenLikePair>[1] = {}): Promise<{ root: string; baseDir: string; adapterDir: string; outDir: string }> {
  const root = path.join(tmp, `case ${++caseNo}`);
  const pair = await writeQwenLikePair(root, options);
  return { root, ...pair, outDir: path.join(root, 'merged') };
}

function opts(p: { baseDir: string; adapterDir: string; outDir: string }, extra: Partial<MergeOptions> = {}): MergeOptions {
  return { baseDir: p.baseDir, adapterDir: p.adapterDir, outDir: p.outDir, shardSizeMiB: 4096, verify: true, threads: 1, workerScript, ...extra };
}

/** Runs the merge, expects `code`, and checks nothing but the inputs is left in the case folder. */
async function expectRefused(p: { root: string; baseDir: string; adapterDir: string; outDir: string }, code: string, extra: Partial<MergeOptions> = {}): Promise<WorkbenchError> {
  const error = await mergeLora(opts(p, extra)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(WorkbenchError);
  expect((error as WorkbenchError).code).toBe(code);
  expect((error as WorkbenchError).message).toMatch(/^\S.{15,}[.)]$/s);
  const left = (await readdir(path.dirname(p.outDir))).filter((n) => n !== 'base' && n !== 'adapter');
  expect(left).toEqual([]);
  return error as WorkbenchError;
}

async function editAdapterConfig(adapterDir: string, edit: (config: Record<string, unknown>) => void): Promise<void> {
  const file = path.join(adapterDir, 'adapter_config.json');
  const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  edit(config);
  await writeFile(file, JSON.stringify(config));
}

describe('bad safetensors files', () => {
  it('refuses a truncated base file', async () => {
    const p = await freshPair();
    const file = path.join(p.baseDir, 'model.safetensors');
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(file));
    await truncate(file, size - 100);
    await expectRefused(p, 'safetensors_out_of_range');
  });

  it('refuses a header length beyond the file', async () => {
    const p = await freshPair();
    const file = path.join(p.baseDir, 'model.safetensors');
    const bytes = await readFile(file);
    bytes.writeBigUInt64LE(BigInt(bytes.length), 0);
    await writeFile(file, bytes);
    await expectRefused(p, 'safetensors_truncated');
  });

  it('refuses overlapping offsets in the adapter', async () => {
    const p = await freshPair();
    const file = path.join(p.adapterDir, 'adapter_model.safetensors');
    const bytes = await readFile(file);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
    const [first, second] = Object.values(header).filter((v) => v.data_offsets);
    const length = second!.data_offsets[1] - second!.data_offsets[0];
    second!.data_offsets = [first!.data_offsets[0], first!.data_offsets[0] + length];
    const json = Buffer.from(JSON.stringify(header).padEnd(n, ' '));
    expect(json.length).toBe(n);
    await writeFile(file, Buffer.concat([bytes.subarray(0, 8), json, bytes.subarray(8 + n)]));
    await expectRefused(p, 'safetensors_overlap');
  });
});

describe('adapters that do not fit the base', () => {
  it('refuses an adapter whose update shape differs from the base weight', async () => {
    const p = await freshPair();
    // Rewrite the adapter with a q_proj B of the wrong output size.
    const { readSafetensorsHeader } = await import('../safetensors/header.js');
    const header = await readSafetensorsHeader(path.join(p.adapterDir, 'adapter_model.safetensors'));
    const specs = header.tensors.map((t) => ({ name: t.name, shape: t.name.endsWith('layers.0.self_attn.q_proj.lora_B.weight') ? [t.shape[0]! + 1, t.shape[1]!] : t.shape }));
    await rm(path.join(p.adapterDir, 'adapter_model.safetensors'));
    await writeSafetensors(p.adapterDir, specs, 9, { fileName: 'adapter_model.safetensors' });
    const error = await expectRefused(p, 'adapter_shape_mismatch');
    expect(error.message).toContain('model.layers.0.self_attn.q_proj');
  });

  it('refuses an adapter that changes a tensor the base does not have', async () => {
    const p = await freshPair({ layers: 2 });
    const smaller = await writeQwenLikePair(path.join(p.root, 'small'), { layers: 1 });
    await rm(p.baseDir, { recursive: true });
    await import('node:fs/promises').then((fs) => fs.rename(smaller.baseDir, p.baseDir));
    await rm(path.join(p.root, 'small'), { recursive: true });
    const error = await expectRefused(p, 'merge_missing_tensor');
    expect(error.message).toContain('model.layers.1.');
  });

  it('merges an adapter naming another base when every LoRA pair fits, with a warning (the name is only a hint)', async () => {
    const p = await freshPair();
    await editAdapterConfig(p.adapterDir, (c) => (c.base_model_name_or_path = 'meta-llama/Llama-3.2-1B'));
    const logged: string[] = [];
    const result = await mergeLora({ ...opts(p), onLog: (level, text) => logged.push(`${level}: ${text}`) });
    const warning = result.warnings.find((w) => w.includes('Llama-3.2-1B'));
    expect(warning).toMatch(/fits this base's tensor shapes, so it merges/);
    expect(logged).toContain(`warn: ${warning}`);
    expect(result.verify?.ok).toBe(true);
  });

  it('accepts a base in the Hugging Face cache layout under the name the adapter gives', async () => {
    const root = path.join(tmp, `case ${++caseNo}`);
    const snapshot = path.join('models--Qwen--Qwen2.5-1.5B-Instruct', 'snapshots', '989aa7980e4cf806f80c7fef2b1adb7bc71aa306');
    const pair = await writeQwenLikePair(root, { baseName: snapshot });
    await editAdapterConfig(pair.adapterDir, (c) => (c.base_model_name_or_path = 'Qwen/Qwen2.5-1.5B-Instruct'));
    const result = await mergeLora(opts({ ...pair, outDir: path.join(root, 'merged') }));
    expect(result.warnings).toEqual([]);
  });

  it('refuses factors whose rank disagrees with r / rank_pattern', async () => {
    const p = await freshPair({ r: 4 });
    await editAdapterConfig(p.adapterDir, (c) => (c.rank_pattern = { down_proj: 8 }));
    await expectRefused(p, 'adapter_rank_mismatch');
  });

  it('refuses LoRA weights for modules the config does not target', async () => {
    const p = await freshPair();
    await editAdapterConfig(p.adapterDir, (c) => (c.target_modules = ['q_proj', 'v_proj']));
    await expectRefused(p, 'adapter_config_mismatch');
  });

  it('refuses DoRA and pickled adapters by name', async () => {
    const dora = await freshPair();
    await editAdapterConfig(dora.adapterDir, (c) => (c.use_dora = true));
    const error = await expectRefused(dora, 'adapter_unsupported');
    expect(error.message).toContain('DoRA');

    const pickled = await freshPair();
    await rm(path.join(pickled.adapterDir, 'adapter_model.safetensors'));
    await writeFile(path.join(pickled.adapterDir, 'adapter_model.bin'), 'not really a pickle');
    await expectRefused(pickled, 'adapter_unsupported_format');
  });

  it('refuses a folder that is not an adapter, and a missing base', async () => {
    const p = await freshPair();
    await rm(path.join(p.adapterDir, 'adapter_config.json'));
    await expectRefused(p, 'adapter_config_missing');
    await expectRefused({ ...p, baseDir: path.join(p.root, 'nope') }, 'merge_input_missing');
  });
});

describe('paths and output folders', () => {
  it('merges with spaces and non-ASCII characters in every path and skips non-UTF-8 file names', async () => {
    const root = path.join(tmp, 'modèle fusionné 模型');
    const { baseDir, adapterDir } = await writeQwenLikePair(root, { baseName: 'base Qwen2.5 é' });
    await writeFile(path.join(baseDir, 'chat template ü.jinja'), '{{ messages }}');
    const rawName = Buffer.concat([Buffer.from(baseDir + path.sep), Buffer.from([0x6e, 0x6f, 0x74, 0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74])]);
    await writeFile(rawName, 'a file whose name is not UTF-8');
    const outDir = path.join(root, 'sortie fusionnée');
    const result = await mergeLora(opts({ baseDir, adapterDir, outDir }));
    expect(result.verify?.ok).toBe(true);
    expect(await readdir(outDir)).toContain('chat template ü.jinja');
    expect(result.warnings.some((w) => w.includes('not valid UTF-8'))).toBe(true);
  });

  it('refuses an output folder that already holds files and leaves it untouched', async () => {
    const p = await freshPair();
    await mkdir(p.outDir);
    await writeFile(path.join(p.outDir, 'keep.txt'), 'precious');
    const error = await mergeLora(opts(p)).catch((e: unknown) => e);
    expect((error as WorkbenchError).code).toBe('merge_output_exists');
    expect(await readdir(p.outDir)).toEqual(['keep.txt']);
    expect(await readFile(path.join(p.outDir, 'keep.txt'), 'utf8')).toBe('precious');
    // An output inside an input folder is refused too.
    const inside = await mergeLora(opts({ ...p, outDir: path.join(p.baseDir, 'merged') })).catch((e: unknown) => e);
    expect((inside as WorkbenchError).code).toBe('merge_output_invalid');
  });

  it('refuses an output folder that cannot be written', async () => {
    const p = await freshPair();
    const locked = path.join(p.root, 'locked');
    await mkdir(locked);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      if (spawnSync('chattr', ['+i', locked]).status !== 0) return console.warn('skipped: chattr +i is not available to make a folder unwritable for root');
    } else {
      await chmod(locked, 0o555);
    }
    try {
      const error = await mergeLora(opts({ ...p, outDir: path.join(locked, 'merged') })).catch((e: unknown) => e);
      expect((error as WorkbenchError).code).toBe('output_not_writable');
      expect(await readdir(locked)).toEqual([]);
    } finally {
      if (asRoot) spawnSync('chattr', ['-i', locked]);
      else await chmod(locked, 0o755);
    }
  });

  it('stops cleanly when the disk fills up, before and during the merge', async () => {
    const mountPoint = path.join(tmp, 'small disk');
    await mkdir(mountPoint);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mountPoint], { encoding: 'utf8' });
    if (mounted.status !== 0) return console.warn(`skipped: cannot mount a small tmpfs to fill (${(mounted.stderr || mounted.error?.message || '').trim()})`);
    try {
      const p = await freshPair({ layers: 6 });
      // Before: 24 MiB free cannot hold the model plus the safety margin.
      await writeFile(path.join(mountPoint, 'filler-1'), Buffer.alloc(20 << 20));
      const before = await mergeLora(opts({ ...p, outDir: path.join(mountPoint, 'merged') })).catch((e: unknown) => e);
      expect((before as WorkbenchError).code).toBe('disk_full');
      expect(await readdir(mountPoint)).toEqual(['filler-1']);
      await rm(path.join(mountPoint, 'filler-1'));
      // During: something else fills the disk while the merge writes.
      let filled = false;
      const during = await mergeLora(
        opts(
          { ...p, outDir: path.join(mountPoint, 'merged') },
          {
            onProgress: (progress) => {
              if (!filled && progress.tensorsDone >= 3) {
                filled = true;
                try {
                  execFileSync('dd', ['if=/dev/zero', `of=${path.join(mountPoint, 'filler-2')}`, 'bs=1M', 'count=64'], { stdio: 'ignore' });
                } catch {
                  // dd stops with "No space left on device": the disk is now full, as intended.
                }
              }
            },
          },
        ),
      ).catch((e: unknown) => e);
      expect(filled).toBe(true);
      expect((during as WorkbenchError).code).toBe('disk_full');
      expect(await readdir(mountPoint)).toEqual(['filler-2']);
    } finally {
      spawnSync('umount', [mountPoint]);
    }
  });
});
