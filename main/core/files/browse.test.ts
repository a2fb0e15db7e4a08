/**
 * Path picking on a real temporary tree: listing order and filters, symbolic
 * links, completion, and the refusals (relative paths, `..`, NUL, device
 * namespaces, missing folders, files given as folders).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBrowsePath, completePath, listDirectory, MAX_LISTED_ENTRIES } from './browse.js';

let root: string;

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wb-browse-'));
  mkdirSync(path.join(root, 'qwen2.5-1.5b'));
  writeFileSync(path.join(root, 'qwen2.5-1.5b', 'config.json'), '{"model_type":"qwen2"}');
  mkdirSync(path.join(root, 'qwen-lora'));
  mkdirSync(path.join(root, '.cache'));
  writeFileSync(path.join(root, 'notes.txt'), 'hello');
  writeFileSync(path.join(root, '.hidden-file'), 'x');
  symlinkSync(path.join(root, 'qwen2.5-1.5b'), path.join(root, 'linked-model'));
  symlinkSync(path.join(root, 'gone'), path.join(root, 'broken-link'));
  mkdirSync(path.join(root, 'many'));
  for (let i = 0; i <= MAX_LISTED_ENTRIES; i++) writeFileSync(path.join(root, 'many', `f${i}`), '');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const codeOf = async (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: { code?: string }) => error.code);

describe('listDirectory', () => {
  it('lists folders first, then files with sizes, hides dot entries unless asked, follows links, skips broken ones', async () => {
    const listing = await listDirectory({ path: root });
    expect(listing.path).toBe(root);
    expect(listing.parent).toBe(path.dirname(root));
    expect(listing.entries.map((e) => `${e.type}:${e.name}`)).toEqual(['dir:linked-model', 'dir:many', 'dir:qwen-lora', 'dir:qwen2.5-1.5b', 'file:notes.txt']);
    expect(listing.entries.find((e) => e.name === 'notes.txt')).toMatchObject({ size: 5, hidden: false, path: path.join(root, 'notes.txt') });
    expect(listing.entries.find((e) => e.name === 'qwen-lora')?.size).toBeNull();
    const hidden = await listDirectory({ path: root, showHidden: true });
    expect(hidden.entries.filter((e) => e.hidden).map((e) => e.name)).toEqual(['.cache', '.hidden-file']);
    const dirsOnly = await listDirectory({ path: root, include: 'dirs' });
    expect(dirsOnly.entries.every((e) => e.type === 'dir')).toBe(true);
  });

  it('cuts very large folders and says so', async () => {
    const listing = await listDirectory({ path: path.join(root, 'many') });
    expect(listing.entries).toHaveLength(MAX_LISTED_ENTRIES);
    expect(listing.truncated).toBe(true);
  });

  it('expands ~ and the empty path to the home folder; the root has no parent', async () => {
    expect((await listDirectory({ path: '' })).path).toBe(os.homedir());
    expect((await listDirectory({ path: '~', include: 'dirs' })).path).toBe(os.homedir());
    expect((await listDirectory({ path: '/', include: 'dirs' })).parent).toBeNull();
  });

  it('refuses relative paths, .. segments, NUL bytes, missing folders and files', async () => {
    expect(await codeOf(listDirectory({ path: 'relative/models' }))).toBe('path_not_absolute');
    expect(await codeOf(listDirectory({ path: `${root}/qwen-lora/../../..` }))).toBe('path_traversal');
    expect(await codeOf(listDirectory({ path: `${root}/../${path.basename(root)}` }))).toBe('path_traversal');
    expect(await codeOf(listDirectory({ path: '~/../..' }))).toBe('path_traversal');
    expect(await codeOf(listDirectory({ path: `${root}\0/etc` }))).toBe('path_invalid');
    expect(await codeOf(listDirectory({ path: path.join(root, 'nope') }))).toBe('path_not_found');
    expect(await codeOf(listDirectory({ path: path.join(root, 'notes.txt') }))).toBe('not_a_directory');
    await expect(listDirectory({ path: path.join(root, 'nope') })).rejects.toThrow(/does not exist/);
  });

  it.runIf(process.getuid?.() !== 0)('refuses a folder the user cannot read', async () => {
    const locked = path.join(root, 'locked');
    mkdirSync(locked, { mode: 0o000 });
    expect(await codeOf(listDirectory({ path: locked }))).toBe('path_unreadable');
  });
});

describe('checkBrowsePath on Windows rules', () => {
  const win = { home: 'C:\\Users\\me', platform: 'win32' as const };
  it('accepts drive paths and ~, refuses device namespaces, relative paths and ..', () => {
    expect(checkBrowsePath('C:\\Users\\me\\models', win)).toBe('C:\\Users\\me\\models');
    expect(checkBrowsePath('~\\models', win)).toBe('C:\\Users\\me\\models');
    expect(() => checkBrowsePath('\\\\?\\C:\\Windows', win)).toThrow(expect.objectContaining({ code: 'path_invalid' }));
    expect(() => checkBrowsePath('\\\\.\\PhysicalDrive0', win)).toThrow(expect.objectContaining({ code: 'path_invalid' }));
    expect(() => checkBrowsePath('models\\qwen', win)).toThrow(expect.objectContaining({ code: 'path_not_absolute' }));
    expect(() => checkBrowsePath('C:\\Users\\me/../../Windows', win)).toThrow(expect.objectContaining({ code: 'path_traversal' }));
  });
});

describe('completePath', () => {
  it('completes the last segment, folders first, hidden ones only after a dot', async () => {
    const result = await completePath({ partial: path.join(root, 'qw') });
    expect(result.base).toBe(root);
    expect(result.suggestions).toEqual([
      { path: path.join(root, 'qwen-lora'), type: 'dir' },
      { path: path.join(root, 'qwen2.5-1.5b'), type: 'dir' },
    ]);
    const all = await completePath({ partial: `${root}/`, include: 'dirs' });
    expect(all.suggestions.map((s) => path.basename(s.path))).toEqual(['linked-model', 'many', 'qwen-lora', 'qwen2.5-1.5b']);
    const dotted = await completePath({ partial: `${root}/.` });
    expect(dotted.suggestions.map((s) => path.basename(s.path))).toEqual(['.cache', '.hidden-file']);
    expect((await completePath({ partial: path.join(root, 'n') })).suggestions).toEqual([{ path: path.join(root, 'notes.txt'), type: 'file' }]);
    expect((await completePath({ partial: path.join(root, 'n'), include: 'dirs' })).suggestions).toEqual([]);
  });

  it('gives nothing for a folder that does not exist yet, refuses tricks', async () => {
    expect((await completePath({ partial: path.join(root, 'new-out', 'mod') })).suggestions).toEqual([]);
    expect(await codeOf(completePath({ partial: `${root}/../` }))).toBe('path_traversal');
    expect(await codeOf(completePath({ partial: 'models/q' }))).toBe('path_not_absolute');
  });
});
