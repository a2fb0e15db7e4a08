/**
 * The ordered list of schema migrations. Version N is migrations[N - 1];
 * append only, never edit a released one (each has its own test).
 */
import { migration001 } from './001_initial.js';
import { migration002 } from './002_evaluations.js';

export const migrations: readonly string[] = [
  migration001,
  migration002,
];
export const SCHEMA_VERSION = migrations.length;
