/**
 * Serve mode's picker: a small folder browser over the engine host's file
 * system (files.list), where the browser's own file dialog would show the
 * wrong machine. Only what the serving user can read is listed; refusals
 * (unreadable, missing, `..`) are shown as the server words them.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { DirectoryListing, FileEntry } from '../../../main/common/api/files';
import { ApiError } from '../api/client';
import { useApi } from '../api/hooks';
import { ErrorBox } from './common';
import { EntryIcon } from './PathIcons';
import { basenameOf, dirnameOf, formatSize, joinPath } from './pathText';
import './PathField.css';

export interface FolderBrowserProps {
  /** What is picked: the current folder, an existing file, or a new file name in a folder. */
  kind: 'folder' | 'file' | 'save';
  title: string;
  /** Where to open: the field's value; falls back to its folder, then home. */
  start: string;
  onPick: (path: string) => void;
  onClose: () => void;
}

export function FolderBrowser({ kind, title, start, onPick, onClose }: FolderBrowserProps) {
  const api = useApi();
  const [listing, setListing] = useState<DirectoryListing | null>(null);
  const [address, setAddress] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [showHidden, setShowHidden] = useState(false);
  const [selected, setSelected] = useState<FileEntry | null>(null);
  const [fileName, setFileName] = useState(kind === 'save' ? basenameOf(start) : '');
  const [loading, setLoading] = useState(false);
  const dialogRef = useRef<HTMLDivElement>(null);

  const open = useCallback(
    async (target: string, hidden: boolean): Promise<boolean> => {
      setLoading(true);
      try {
        const result = await api.call('files.list', { path: target, showHidden: hidden, include: 'all' });
        setListing(result);
        setAddress(result.path);
        setSelected(null);
        setError(null);
        return true;
      } catch (err) {
        setError(err instanceof ApiError ? err : new ApiError('internal', String(err)));
        return false;
      } finally {
        setLoading(false);
      }
    },
    [api],
  );

  useEffect(() => {
    // Open at the value when it is a folder, else at its folder, else at home.
    const candidates = [start, dirnameOf(start), ''].filter((c, i, all) => all.indexOf(c) === i && (c === '' || /^([A-Za-z]:)?[\\/]|^~/.test(c)));
    void (async () => {
      for (const candidate of candidates) {
        if (await open(candidate, false)) return;
      }
    })();
    dialogRef.current?.focus();
    // Only on mount: later navigation is the user's.
  }, []);

  const enter = (entry: FileEntry) => {
    if (entry.type === 'dir') void open(entry.path, showHidden);
    else if (kind !== 'folder') {
      setSelected(entry);
      if (kind === 'save') setFileName(entry.name);
    }
  };

  const choose = () => {
    if (!listing) return;
    if (kind === 'folder') onPick(listing.path);
    else if (kind === 'file' && selected) onPick(selected.path);
    else if (kind === 'save' && fileName.trim()) onPick(joinPath(listing.path, fileName.trim()));
  };

  const canChoose = !!listing && (kind === 'folder' || (kind === 'file' ? !!selected : fileName.trim().length > 0));
  const chooseLabel = kind === 'folder' ? `Select “${listing ? basenameOf(listing.path) || listing.path : ''}”` : kind === 'file' ? 'Select file' : 'Save here';

  return (
    <div className="fb-backdrop" onMouseDown={(event) => event.target === event.currentTarget && onClose()}>
      <div
        className="fb-dialog"
        role="dialog"
        aria-modal="true"
        aria-label={title}
        tabIndex={-1}
        ref={dialogRef}
        data-testid="folder-browser"
        onKeyDown={(event) => {
          if (event.key === 'Escape') {
            event.stopPropagation();
            onClose();
          }
        }}
      >
        <header className="fb-header">
          <strong>{title}</strong>
          <span className="muted">on the machine running the workbench</span>
        </header>
        <form
          className="fb-address"
          onSubmit={(event) => {
            event.preventDefault();
            void open(address, showHidden);
          }}
        >
          <button type="button" className="secondary" disabled={!listing?.parent} onClick={() => listing?.parent && void open(listing.parent, showHidden)} data-testid="fb-up" title="Parent folder">
            ↑ Up
          </button>
          <button type="button" className="secondary" onClick={() => void open(listing?.home ?? '', showHidden)} data-testid="fb-home">
            Home
          </button>
          <input type="text" className="path-input" spellCheck={false} value={address} onChange={(event) => setAddress(event.target.value)} aria-label="Folder path" data-testid="fb-path" />
          <button type="submit" className="secondary" data-testid="fb-go">
            Go
          </button>
          <label className="fb-hidden">
            <input
              type="checkbox"
              checked={showHidden}
              onChange={(event) => {
                setShowHidden(event.target.checked);
                if (listing) void open(listing.path, event.target.checked);
              }}
              data-testid="fb-hidden"
            />
            hidden
          </label>
        </form>
        {error ? (
          <div data-testid="fb-error" data-code={error.code}>
            <ErrorBox error={error} title="Cannot open that folder" />
          </div>
        ) : null}
        <div className="fb-list" role="listbox" aria-label="Folder contents" aria-busy={loading} data-testid="fb-list" data-path={listing?.path ?? ''}>
          {listing && listing.entries.length === 0 ? <p className="muted fb-empty">This folder is empty{showHidden ? '' : ' (hidden entries are not shown)'}.</p> : null}
          {listing?.entries.map((entry) => {
            const disabled = entry.type === 'file' && kind === 'folder';
            return (
              <button
                type="button"
                key={entry.path}
                role="option"
                aria-selected={selected?.path === entry.path}
                className={`fb-entry fb-${entry.type}${selected?.path === entry.path ? ' selected' : ''}${entry.hidden ? ' hidden-entry' : ''}`}
                disabled={disabled}
                onClick={() => enter(entry)}
                onDoubleClick={() => entry.type === 'file' && kind === 'file' && onPick(entry.path)}
                data-testid="fb-entry"
                data-name={entry.name}
                data-type={entry.type}
              >
                <EntryIcon type={entry.type} />
                <span className="fb-name">{entry.name}</span>
                <span className="fb-size muted">{formatSize(entry.size)}</span>
              </button>
            );
          })}
          {listing?.truncated ? <p className="muted fb-empty">Only the first {listing.entries.length} entries are shown: type a path above to go further.</p> : null}
        </div>
        <footer className="fb-footer">
          {kind === 'save' ? (
            <input type="text" className="path-input fb-filename" value={fileName} onChange={(event) => setFileName(event.target.value)} aria-label="File name" placeholder="file name" data-testid="fb-filename" />
          ) : (
            <span className="muted fb-current" data-testid="fb-current">
              {kind === 'file' ? (selected?.path ?? 'Choose a file') : listing?.path}
            </span>
          )}
          <button type="button" className="secondary" onClick={onClose} data-testid="fb-cancel">
            Cancel
          </button>
          <button type="button" disabled={!canChoose} onClick={choose} data-testid="fb-select">
            {chooseLabel}
          </button>
        </footer>
      </div>
    </div>
  );
}
