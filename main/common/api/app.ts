/**
 * API methods about the app itself: version, mode, host, data location, settings.
 */
import { z } from 'zod';
import { HostSnapshot } from '../runs.js';
import { Settings, SettingsPatch } from '../settings.js';
import { method } from './define.js';

export const AppInfo = z.object({
  appVersion: z.string(),
  mode: z.enum(['electron', 'serve']),
  dataDir: z.string(),
  databaseFile: z.string(),
  host: HostSnapshot,
  /** Available RAM right now, for "fits / blocked" decisions in the UI. */
  availableMemBytes: z.number(),
  /** Serve mode bound to a non-loopback address. */
  remote: z.boolean(),
});
export type AppInfo = z.infer<typeof AppInfo>;

export const appMethods = {
  'app.info': method(z.object({}), AppInfo),
  'settings.get': method(z.object({}), Settings),
  'settings.update': method(SettingsPatch, Settings),
  'settings.reset': method(z.object({}), Settings),
};
