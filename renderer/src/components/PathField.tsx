/**
 * A path input for files and folders on the machine that runs the engine
 * (the remote host in serve mode). Typing completes against that machine
 * (files.complete); Browse opens the native dialog in the desktop app and a
 * server-side folder browser in serve mode. Fields for model and adapter
 * folders offer the recently used ones (kept in the history database).
 */
import { useEffect, useId, useRef, useState } from 'react';
import type { PathCompletions, RecentKind } from '../../../main/common/api/files';
import { ApiError } from '../api/client';
import { useApi } from '../api/hooks';
import { Field } from './common';
import { FolderBrowser } from './FolderBrowser';
import { EntryIcon } from './PathIcons';
import { separatorOf } from './pathText';
import './PathField.css';

export interface PathFieldProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  kind: 'file' | 'folder';
  /** The file is written, not read: may not exist yet (a save dialog). */
  save?: boolean;
  /** Remember picked folders and offer them again. */
  recent?: RecentKind;
  help?: string;
  placeholder?: string;
  testId?: string;
  /** Folders of this role are not offered (the base-model field leaves out adapter folders, and the other way round). */
  excludeRole?: 'adapter' | 'model';
  /** Told when the input gains or loses focus (a page holds back "does not exist" while a path is being typed). */
  onFocusChange?: (focused: boolean) => void;
}

interface Suggestion {
  path: string;
  type: 'dir' | 'file';
  recent: boolean;
}

/** The desktop app's preload adds this; serve mode has no such function. */
type NativePicker = (request: { kind: 'folder' | 'file' | 'save'; title?: string; defaultPath?: string }) => Promise<{ ok: true; value: { path: string | null } } | { ok: false; error: { message: string } }>;

function nativePicker(): NativePicker | null {
  const preload = (window as unknown as { workbench?: { pickPath?: NativePicker } }).workbench;
  return preload?.pickPath ?? null;
}

const COMPLETE_DELAY_MS = 120;

export function PathField({ label, value, onChange, kind, save, recent, help, placeholder, testId, excludeRole, onFocusChange }: PathFieldProps) {
  const id = useId();
  const listId = `${id}-suggestions`;
  const api = useApi();
  const [focused, setFocused] = useState(false);
  const [recents, setRecents] = useState<string[]>([]);
  const [completions, setCompletions] = useState<PathCompletions['suggestions']>([]);
  const [note, setNote] = useState<string | null>(null);
  const [active, setActive] = useState(-1);
  const [browsing, setBrowsing] = useState(false);
  const [dismissed, setDismissed] = useState(false);
  const lastRemembered = useRef<string | null>(null);
  const pickKind = save ? 'save' : kind;
  const include = kind === 'folder' ? 'dirs' : 'all';

  useEffect(() => {
    if (!recent) return;
    let live = true;
    api.call('files.recent', { kind: recent }).then(
      (result) => live && setRecents(result.paths),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [api, recent]);

  useEffect(() => {
    if (!focused || value === '') {
      setCompletions([]);
      setNote(null);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      api.call('files.complete', { partial: value, include, limit: 50, ...(excludeRole ? { excludeRole } : {}) }).then(
        (result) => {
          if (!live) return;
          setCompletions(result.suggestions.filter((s) => s.path !== value));
          setNote(null);
        },
        (error: unknown) => {
          if (!live) return;
          setCompletions([]);
          setNote(error instanceof ApiError ? error.message : String(error));
        },
      );
    }, COMPLETE_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [api, focused, value, include, excludeRole]);

  const remember = (path: string) => {
    if (!recent || !path || lastRemembered.current === path) return;
    lastRemembered.current = path;
    api.call('files.remember', { kind: recent, path }).then(
      (result) => setRecents(result.paths),
      // Not an existing folder (yet): nothing to remember, and nothing to report.
      () => undefined,
    );
  };

  const matchingRecents = recents.filter((r) => r !== value && (value === '' || r.startsWith(value)));
  const suggestions: Suggestion[] = [
    ...matchingRecents.map((path) => ({ path, type: 'dir' as const, recent: true })),
    ...completions.filter((c) => !matchingRecents.includes(c.path)).map((c) => ({ ...c, recent: false })),
  ];
  const open = focused && !dismissed && suggestions.length > 0;

  const accept = (suggestion: Suggestion, keepGoing: boolean) => {
    if (keepGoing && suggestion.type === 'dir') {
      // Into a folder (ArrowRight): keep completing inside it.
      onChange(`${suggestion.path}${separatorOf(suggestion.path)}`);
    } else {
      onChange(suggestion.path);
      setDismissed(true);
      remember(suggestion.path);
    }
    setActive(-1);
  };

  const browse = async () => {
    const picker = nativePicker();
    if (!picker) {
      setBrowsing(true);
      return;
    }
    const result = await picker({ kind: pickKind, title: label, ...(value || placeholder ? { defaultPath: value || placeholder } : {}) });
    if (result.ok && result.value.path) {
      onChange(result.value.path);
      remember(result.value.path);
    } else if (!result.ok) setNote(result.error.message);
  };

  return (
    <Field label={label} help={help} htmlFor={id}>
      <div className="path-field">
        <div className="path-row">
          <input
            id={id}
            className="path-input"
            type="text"
            spellCheck={false}
            autoComplete="off"
            role="combobox"
            aria-expanded={open}
            aria-controls={listId}
            aria-autocomplete="list"
            value={value}
            placeholder={placeholder ?? (kind === 'folder' ? '/path/to/folder' : '/path/to/file')}
            onChange={(event) => {
              setDismissed(false);
              setActive(-1);
              onChange(event.target.value);
            }}
            onFocus={() => {
              setFocused(true);
              setDismissed(false);
              onFocusChange?.(true);
            }}
            onBlur={() => {
              setFocused(false);
              onFocusChange?.(false);
              setActive(-1);
              remember(value);
            }}
            onKeyDown={(event) => {
              if (!open) return;
              if (event.key === 'ArrowDown') {
                event.preventDefault();
                setActive((i) => Math.min(suggestions.length - 1, i + 1));
              } else if (event.key === 'ArrowUp') {
                event.preventDefault();
                setActive((i) => Math.max(-1, i - 1));
              } else if (event.key === 'Enter' && active >= 0) {
                // Only an explicit choice fills the field: Enter on the highlighted suggestion (or a click). Tab and
                // blur move on and leave the field as typed, so an optional field tabbed through stays empty.
                event.preventDefault();
                accept(suggestions[active]!, false);
              } else if (event.key === 'ArrowRight' && active >= 0 && suggestions[active]!.type === 'dir') {
                // Into the highlighted folder, to keep completing inside it.
                event.preventDefault();
                accept(suggestions[active]!, true);
              } else if (event.key === 'Escape') {
                setDismissed(true);
              }
            }}
            data-testid={testId}
          />
          <button type="button" className="secondary" onClick={() => void browse()} data-testid={testId ? `${testId}-browse` : undefined}>
            Browse…
          </button>
        </div>
        {open ? (
          <ul className="path-suggestions" id={listId} role="listbox" data-testid={testId ? `${testId}-suggestions` : undefined}>
            {suggestions.map((s, index) => (
              <li
                key={`${s.recent ? 'r' : 'c'}:${s.path}`}
                role="option"
                aria-selected={index === active}
                className={index === active ? 'active' : undefined}
                // mousedown, not click: the input's blur would close the list first.
                onMouseDown={(event) => {
                  event.preventDefault();
                  accept(s, false);
                }}
                data-testid="path-suggestion"
                data-path={s.path}
                data-recent={s.recent ? 'yes' : 'no'}
              >
                <EntryIcon type={s.recent ? 'recent' : s.type} />
                <span>{s.path}</span>
              </li>
            ))}
          </ul>
        ) : null}
        {note && focused ? <div className="path-note" data-testid={testId ? `${testId}-note` : undefined}>{note}</div> : null}
      </div>
      {browsing ? (
        <FolderBrowser
          kind={pickKind}
          title={label}
          // An empty field opens where its default would go (the placeholder), else at home.
          start={value || placeholder || ''}
          onClose={() => setBrowsing(false)}
          onPick={(path) => {
            setBrowsing(false);
            onChange(path);
            remember(path);
          }}
        />
      ) : null}
    </Field>
  );
}
