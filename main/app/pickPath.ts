/**
 * The native file/folder dialog's options for a picker request, as a pure
 * function (tested without Electron): folders may be created from the
 * dialog, files must exist, save targets may not.
 */
import type { PickPathRequest } from '../common/api/files.js';

export interface NativeDialogPlan {
  dialog: 'open' | 'save';
  options: {
    title: string;
    defaultPath?: string;
    properties: string[];
  };
}

const DEFAULT_TITLES: Record<PickPathRequest['kind'], string> = {
  folder: 'Choose a folder',
  file: 'Choose a file',
  save: 'Save as',
};

export function nativeDialogPlan(request: PickPathRequest): NativeDialogPlan {
  const base = { title: request.title ?? DEFAULT_TITLES[request.kind], ...(request.defaultPath ? { defaultPath: request.defaultPath } : {}) };
  switch (request.kind) {
    case 'folder':
      return { dialog: 'open', options: { ...base, properties: ['openDirectory', 'createDirectory', 'dontAddToRecent'] } };
    case 'file':
      return { dialog: 'open', options: { ...base, properties: ['openFile', 'dontAddToRecent'] } };
    case 'save':
      return { dialog: 'save', options: { ...base, properties: ['createDirectory', 'showOverwriteConfirmation', 'dontAddToRecent'] } };
  }
}
