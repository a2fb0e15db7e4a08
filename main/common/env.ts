/**
 * The doctor's report: everything the conversion needs from this host
 * (Python, pinned packages, disk, RAM, CPU, runtime versions) and every
 * problem with the command or button that fixes it. Produced by
 * main/core/env/doctor.ts, shown on the Environment page and by
 * `workbench doctor`.
 */
import { z } from 'zod';
import { PythonRoute } from './stages/convert.js';

export const PythonInfo = z.object({
  path: z.string(),
  source: z.enum(['settings', 'venv', 'path']),
  version: z.string().nullable(),
  usable: z.boolean(),
  problem: z.string().nullable(),
});
export type PythonInfo = z.infer<typeof PythonInfo>;

export const PackageCheck = z.object({
  name: z.string(),
  pinned: z.string(),
  installed: z.string().nullable(),
  ok: z.boolean(),
});
export type PackageCheck = z.infer<typeof PackageCheck>;

export const RoutePackages = z.object({ ready: z.boolean(), packages: z.array(PackageCheck) });

export const VenvInfo = z.object({
  path: z.string(),
  exists: z.boolean(),
  /** From the marker the bootstrap writes when an install completes. */
  route: PythonRoute.nullable(),
  pythonVersion: z.string().nullable(),
  installer: z.string().nullable(),
  createdAt: z.string().nullable(),
});

export const DiskInfo = z.object({
  label: z.enum(['data', 'output']),
  path: z.string(),
  freeBytes: z.number().nullable(),
  totalBytes: z.number().nullable(),
});

/** What fixes a problem: a button in the app (action) and/or a terminal command. */
export const DoctorFix = z.object({
  label: z.string(),
  action: z.enum(['bootstrap', 'rebuild', 'openSettings']).nullable(),
  route: PythonRoute.nullable(),
  command: z.string().nullable(),
});
export type DoctorFix = z.infer<typeof DoctorFix>;

export const DoctorProblem = z.object({
  id: z.string(),
  severity: z.enum(['error', 'warn']),
  message: z.string(),
  fix: DoctorFix,
});
export type DoctorProblem = z.infer<typeof DoctorProblem>;

/**
 * What can run on this host, one entry per capability, each with what it
 * runs on and — when not ready — the one action that makes it ready:
 * - native: native conversion, LoRA merge and packaging (Node.js only);
 * - reference: the behaviour check's PyTorch reference (which Python, which torch);
 * - python_routes: the Python conversion routes (example, export_hf).
 */
export const CapabilityId = z.enum(['native', 'reference', 'python_routes']);
export type CapabilityId = z.infer<typeof CapabilityId>;

export const Capability = z.object({
  id: CapabilityId,
  label: z.string(),
  ready: z.boolean(),
  /** One sentence: what it runs on (ready) or what is missing (not ready). */
  detail: z.string(),
  /** The behaviour check's interpreter and its torch (reference only). */
  python: z.string().nullable(),
  torch: z.string().nullable(),
  fix: DoctorFix.nullable(),
});
export type Capability = z.infer<typeof Capability>;

export const DoctorReport = z.object({
  /** Per capability: what can run now (the summary the Environment page and `workbench doctor` lead with). */
  capabilities: z.array(Capability),
  createdAt: z.number(),
  pythons: z.array(PythonInfo),
  /** The interpreter a conversion would run with now (null: none usable). */
  stagePython: z.string().nullable(),
  uv: z.string().nullable(),
  venv: VenvInfo,
  /** Installed vs pinned, per route, in the stage interpreter (null: no usable Python). */
  routes: z.object({ example: RoutePackages, export_hf: RoutePackages }).nullable(),
  disk: z.array(DiskInfo),
  memory: z.object({ totalBytes: z.number(), availableBytes: z.number() }),
  cpu: z.object({ model: z.string(), cores: z.number() }),
  runtime: z.object({ node: z.string(), electron: z.string().nullable(), platform: z.string(), arch: z.string() }),
  problems: z.array(DoctorProblem),
});
export type DoctorReport = z.infer<typeof DoctorReport>;
