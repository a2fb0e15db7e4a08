/**
 * The architecture as a rule the build checks (docs/architecture.md): the
 * core runs in plain Node, the common layer anywhere, the renderer only sees
 * the common layer, and only the app entry and preload import electron; and
 * nothing under main/ imports itself in a circle (a module, or a folder of
 * the core: the engine composes, memory and stage definitions receive what
 * they need).
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/serve.js';

function sourceFiles(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) found.push(...sourceFiles(full));
    else if (/\.(ts|tsx)$/.test(name)) found.push(full);
  }
  return found;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) {
    specs.push((match[1] ?? match[2] ?? match[3])!);
  }
  return specs;
}

/** Source text without comments, so prose such as "the window." does not count as code. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

function violations(folder: string, forbidden: (spec: string, file: string) => string | null): string[] {
  const problems: string[] = [];
  for (const file of sourceFiles(path.join(REPO_ROOT, folder))) {
    for (const spec of importsOf(file)) {
      const why = forbidden(spec, file);
      if (why) problems.push(`${path.relative(REPO_ROOT, file)} imports ${spec}: ${why}`);
    }
  }
  return problems;
}

const resolvesInto = (spec: string, file: string, folder: string) =>
  spec.startsWith('.') && path.resolve(path.dirname(file), spec).startsWith(path.join(REPO_ROOT, folder) + path.sep);

/** Relative imports of a file resolved to source files (type-only imports count: they tie modules together too). */
function localImports(file: string): string[] {
  const resolved: string[] = [];
  for (const spec of importsOf(file)) {
    if (!spec.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '');
    for (const candidate of [`${target}.ts`, `${target}.tsx`, path.join(target, 'index.ts')]) {
      if (existsSync(candidate)) {
        resolved.push(candidate);
        break;
      }
    }
  }
  return resolved;
}

/** Every cycle of a graph, each once, as the list of its nodes (Tarjan's strongly connected components). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indexOf.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indexOf.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, indexOf.get(next)!));
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || graph.get(node)?.has(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indexOf.has(node)) visit(node);
  return found;
}

function importGraph(folder: string, nodeOf: (file: string) => string): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(path.join(REPO_ROOT, folder)).filter((f) => !/\.test\.tsx?$/.test(f))) {
    const from = nodeOf(file);
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    for (const target of localImports(file)) {
      if (!target.startsWith(path.join(REPO_ROOT, folder) + path.sep)) continue;
      const to = nodeOf(target);
      if (to !== from || nodeOf(file) === file) edges.add(to);
    }
  }
  return graph;
}

export { cycles };

describe('layering', () => {
  it('main/common imports no Node built-ins, no electron, no DOM libraries and nothing outside common', () => {
    expect(
      violations('main/common', (spec, file) => {
        if (spec === 'electron') return 'electron in common';
        if (spec.startsWith('node:') || ['fs', 'path', 'os', 'child_process'].includes(spec)) return 'Node built-in in common';
        if (spec.startsWith('react')) return 'UI library in common';
        if (spec.startsWith('.') && !resolvesInto(spec, file, 'main/common')) return 'common may only import common';
        return null;
      }),
    ).toEqual([]);
  });

  it('the core, server, CLI and stage scripts never import electron, React or the renderer', () => {
    for (const folder of ['main/core', 'main/server', 'main/cli', 'main/stages']) {
      expect(
        violations(folder, (spec, file) => {
          if (spec === 'electron' || spec.startsWith('electron/')) return 'electron outside the app entry';
          if (spec.startsWith('react')) return 'UI library in Node code';
          if (resolvesInto(spec, file, 'main/app')) return 'Node code depends on the Electron app';
          if (resolvesInto(spec, file, 'renderer')) return 'Node code depends on the renderer';
          return null;
        }),
      ).toEqual([]);
    }
  });

  it('the core has no DOM globals', () => {
    const offenders = sourceFiles(path.join(REPO_ROOT, 'main', 'core'))
      .filter((file) => !file.endsWith('.test.ts'))
      .filter((file) => /\b(document|window|localStorage)\./.test(withoutComments(readFileSync(file, 'utf8'))));
    expect(offenders.map((file) => path.relative(REPO_ROOT, file))).toEqual([]);
  });

  it('the renderer imports only main/common from the Node side', () => {
    expect(
      violations('renderer/src', (spec, file) => {
        if (spec === 'electron') return 'the renderer talks to the app through the preload only';
        if (spec.startsWith('node:')) return 'Node built-in in the renderer';
        if (spec.startsWith('.') && resolvesInto(spec, file, 'main') && !resolvesInto(spec, file, 'main/common')) return 'renderer may only import main/common';
        return null;
      }),
    ).toEqual([]);
  });

  it('no module under main/ imports itself through others', () => {
    const graph = importGraph('main', (file) => path.relative(REPO_ROOT, file));
    expect(cycles(graph)).toEqual([]);
  });

  it('no folder of main/core imports itself through others (a loose module such as engine.ts counts as its own folder)', () => {
    const core = path.join(REPO_ROOT, 'main', 'core');
    const folderOf = (file: string) => {
      const rel = path.relative(core, file).split(path.sep);
      return rel.length > 1 ? `main/core/${rel[0]}/` : `main/core/${rel[0]}`;
    };
    expect(cycles(importGraph('main/core', folderOf))).toEqual([]);
  });

  it('finds a cycle when there is one (the rule above can fail)', () => {
    const graph = new Map([
      ['engine', new Set(['memory'])],
      ['memory', new Set(['stages'])],
      ['stages', new Set(['engine'])],
      ['common', new Set<string>()],
    ]);
    expect(cycles(graph)).toEqual([['engine', 'memory', 'stages']]);
  });
});
