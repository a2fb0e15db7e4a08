/**
 * Enum names (TFLite tensor types and builtin operators, LiteRT-LM section
 * types) read from the upstream .fbs files in resources/schema/ at run time,
 * so updating a schema file is all it takes to learn new op or type names.
 * Only `enum Name : type { A = 1, B, ... }` blocks are parsed, which is the
 * only construct these lookups need.
 */
import { readFileSync } from 'node:fs';
import { resourcesPath } from '../paths.js';

const cache = new Map<string, Map<string, Map<number, string>>>();

/** value → name for one enum of a schema file under resources/schema/. */
export function fbsEnum(file: string, enumName: string): Map<number, string> {
  let enums = cache.get(file);
  if (!enums) {
    enums = parseFbsEnums(readFileSync(resourcesPath('schema', file), 'utf8'));
    cache.set(file, enums);
  }
  const found = enums.get(enumName);
  if (!found) throw new Error(`resources/schema/${file} has no enum ${enumName}.`);
  return found;
}

export function parseFbsEnums(text: string): Map<string, Map<number, string>> {
  const withoutComments = text.replace(/\/\/[^\n]*/g, '');
  const enums = new Map<string, Map<number, string>>();
  for (const match of withoutComments.matchAll(/\benum\s+(\w+)\s*:\s*\w+\s*\{([^}]*)\}/g)) {
    const values = new Map<number, string>();
    let next = 0;
    for (const entry of (match[2] ?? '').split(',')) {
      const m = /^\s*(\w+)\s*(?:=\s*(-?\d+))?\s*$/.exec(entry);
      if (!m?.[1]) continue;
      const value = m[2] !== undefined ? Number(m[2]) : next;
      values.set(value, m[1]);
      next = value + 1;
    }
    enums.set(match[1] ?? '', values);
  }
  return enums;
}

/** Name of an enum value, or `<fallbackPrefix><value>` for values newer than the schema. */
export function enumName(values: Map<number, string>, value: number, fallbackPrefix: string): string {
  return values.get(value) ?? `${fallbackPrefix}${value}`;
}
