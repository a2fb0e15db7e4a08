/**
 * Electron's transport for the API: one fixed channel per method
 * (`wb:<method>`), every message's sender checked to be our own window's
 * main frame loaded from our files, then the same dispatch as serve mode.
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { METHOD_NAMES } from '../common/api/contract.js';
import type { Dispatch } from '../core/api/dispatch.js';
import type { Engine } from '../core/engine.js';

export const EVENT_CHANNEL = 'wb:event';

function senderIsTrusted(event: IpcMainInvokeEvent, window: BrowserWindow): boolean {
  const frame = event.senderFrame;
  return event.sender === window.webContents && frame !== null && frame === window.webContents.mainFrame && frame.url.startsWith('file://');
}

export function registerIpc(window: BrowserWindow, engine: Engine, dispatch: Dispatch): () => void {
  for (const method of METHOD_NAMES) {
    ipcMain.handle(`wb:${method}`, async (event, input: unknown) => {
      if (!senderIsTrusted(event, window)) return { ok: false, error: { code: 'untrusted_sender', message: 'Refused a call from an unexpected frame.' } };
      return dispatch(method, input);
    });
  }
  const unsubscribe = engine.events.subscribe((event) => {
    if (!window.isDestroyed()) window.webContents.send(EVENT_CHANNEL, event);
  });
  return () => {
    unsubscribe();
    for (const method of METHOD_NAMES) ipcMain.removeHandler(`wb:${method}`);
  };
}
