/**
 * Electron's transport for the API: one fixed channel per method
 * (`wb:<method>`) plus the native path picker (`wb-native:pickPath`), every
 * message's sender checked to be our own window's main frame showing our own
 * page, then the same dispatch as serve mode.
 */
import { dialog, ipcMain, type BrowserWindow, type IpcMainInvokeEvent, type OpenDialogOptions, type SaveDialogOptions } from 'electron';
import { METHOD_NAMES } from '../common/api/contract.js';
import { PICK_PATH_CHANNEL, PickPathRequest } from '../common/api/files.js';
import type { Dispatch } from '../core/api/dispatch.js';
import type { Engine } from '../core/engine.js';
import { nativeDialogPlan } from './pickPath.js';
import { isTrustedSenderUrl } from './windowPolicy.js';

export const EVENT_CHANNEL = 'wb:event';

const UNTRUSTED = { ok: false, error: { code: 'untrusted_sender', message: 'Refused a call from an unexpected frame.' } } as const;

function senderIsTrusted(event: IpcMainInvokeEvent, window: BrowserWindow, indexFile: string): boolean {
  const frame = event.senderFrame;
  return event.sender === window.webContents && frame !== null && frame === window.webContents.mainFrame && isTrustedSenderUrl(frame.url, indexFile);
}

async function pickPath(window: BrowserWindow, input: unknown) {
  const request = PickPathRequest.safeParse(input);
  if (!request.success) return { ok: false, error: { code: 'invalid_input', message: 'The picker request is malformed.' } };
  const plan = nativeDialogPlan(request.data);
  if (plan.dialog === 'save') {
    const result = await dialog.showSaveDialog(window, plan.options as SaveDialogOptions);
    return { ok: true, value: { path: result.canceled || !result.filePath ? null : result.filePath } };
  }
  const result = await dialog.showOpenDialog(window, plan.options as OpenDialogOptions);
  return { ok: true, value: { path: result.canceled ? null : (result.filePaths[0] ?? null) } };
}

export function registerIpc(window: BrowserWindow, indexFile: string, engine: Engine, dispatch: Dispatch): () => void {
  for (const method of METHOD_NAMES) {
    ipcMain.handle(`wb:${method}`, async (event, input: unknown) => {
      if (!senderIsTrusted(event, window, indexFile)) return UNTRUSTED;
      return dispatch(method, input);
    });
  }
  ipcMain.handle(PICK_PATH_CHANNEL, async (event, input: unknown) => {
    if (!senderIsTrusted(event, window, indexFile)) return UNTRUSTED;
    return pickPath(window, input);
  });
  const unsubscribe = engine.events.subscribe((event) => {
    if (!window.isDestroyed()) window.webContents.send(EVENT_CHANNEL, event);
  });
  return () => {
    unsubscribe();
    for (const method of METHOD_NAMES) ipcMain.removeHandler(`wb:${method}`);
    ipcMain.removeHandler(PICK_PATH_CHANNEL);
  };
}
