/**
 * A snapshot of the machine a run executes on, stored with every run so past
 * runs can be compared across hosts (a laptop vs a 128 GB server in serve mode).
 */
import os from 'node:os';
import type { HostSnapshot } from '../common/runs.js';

export const APP_VERSION = '0.1.0';

export function hostSnapshot(): HostSnapshot {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    totalMemBytes: os.totalmem(),
    nodeVersion: process.versions.node,
    appVersion: APP_VERSION,
  };
}
