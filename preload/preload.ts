/**
 * The sandboxed preload: exposes one named function per API method (fixed
 * `wb:<method>` channels, no generic invoke), an event subscription, and the
 * native path picker (`pickPath`, on its own fixed channel).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { METHOD_NAMES } from '../main/common/api/contract.js';
import { PICK_PATH_CHANNEL, type PickPathRequest } from '../main/common/api/files.js';

const EVENT_CHANNEL = 'wb:event';

const methods = Object.fromEntries(METHOD_NAMES.map((method) => [method, (input: unknown) => ipcRenderer.invoke(`wb:${method}`, input)]));

contextBridge.exposeInMainWorld('workbench', {
  methods,
  onEvent(listener: (event: unknown) => void): () => void {
    const wrapped = (_event: IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(EVENT_CHANNEL, wrapped);
    return () => ipcRenderer.removeListener(EVENT_CHANNEL, wrapped);
  },
  pickPath(request: PickPathRequest): Promise<unknown> {
    return ipcRenderer.invoke(PICK_PATH_CHANNEL, request);
  },
});
