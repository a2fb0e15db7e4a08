/**
 * A run's log: every line, virtualised so 100k+ lines scroll smoothly (only
 * the visible rows exist in the DOM), with level filter, search, follow-tail,
 * line wrapping and copy. Lines arrive in pages from the history, then live
 * from events. Unwrapped rows have one fixed height (cheapest to scroll); a
 * long line shows in full on hover, with "wrap", or by clicking it, when rows
 * are measured as they render.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { LogLine } from '../../../main/common/runs';
import type { LogLevel } from '../../../main/common/stageProtocol';
import { formatTimestamp } from '../../../main/common/format';
import { useApi, useEvents } from '../api/hooks';

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];
const ROW_HEIGHT = 20;
const PAGE = 20_000;

export function LogViewer({ runId, focusLineId, live }: { runId: number; focusLineId?: number; live: boolean }) {
  const api = useApi();
  const [lines, setLines] = useState<LogLine[]>([]);
  const [loadedAll, setLoadedAll] = useState(false);
  const [levels, setLevels] = useState<Set<LogLevel>>(new Set(LEVELS));
  const [search, setSearch] = useState('');
  const [follow, setFollow] = useState(live);
  const [copied, setCopied] = useState(false);
  const [wrap, setWrap] = useState(false);
  /** Lines opened by a click: shown wrapped in full even when wrapping is off. */
  const [opened, setOpened] = useState<Set<number>>(new Set());
  const lastId = useRef(0);
  const parentRef = useRef<HTMLDivElement>(null);

  // Load history in pages; live events append after the last id we hold.
  useEffect(() => {
    let cancelled = false;
    setLines([]);
    setLoadedAll(false);
    lastId.current = 0;
    (async () => {
      for (;;) {
        const { lines: page } = await api.call('runs.logs', { id: runId, afterId: lastId.current, limit: PAGE });
        if (cancelled) return;
        if (page.length > 0) {
          lastId.current = page[page.length - 1]!.id;
          setLines((prev) => prev.concat(page));
        }
        if (page.length < PAGE) break;
      }
      setLoadedAll(true);
    })().catch(() => setLoadedAll(true));
    return () => {
      cancelled = true;
    };
  }, [api, runId]);

  useEvents((event) => {
    if (event.type !== 'logs' || event.runId !== runId) return;
    const fresh = event.lines.filter((line) => line.id > lastId.current);
    if (fresh.length === 0) return;
    lastId.current = fresh[fresh.length - 1]!.id;
    setLines((prev) => prev.concat(fresh));
  });

  const needle = search.trim().toLowerCase();
  const visible = useMemo(
    () => lines.filter((line) => levels.has(line.level) && (needle === '' || line.text.toLowerCase().includes(needle))),
    [lines, levels, needle],
  );

  const virtualizer = useVirtualizer({
    count: visible.length,
    getScrollElement: () => parentRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 40,
    getItemKey: (index) => visible[index]!.id,
  });
  // Heights measured for one wrapping mode are wrong for the other.
  useEffect(() => virtualizer.measure(), [wrap, virtualizer]);

  const toggleOpened = (id: number) => setOpened((prev) => toggled(prev, id));

  useEffect(() => {
    if (follow && visible.length > 0) virtualizer.scrollToIndex(visible.length - 1, { align: 'end' });
  }, [follow, visible.length, virtualizer]);

  // Jump to a line found by the log search on the Runs page.
  useEffect(() => {
    if (focusLineId === undefined || !loadedAll) return;
    const index = visible.findIndex((line) => line.id === focusLineId);
    if (index >= 0) {
      setFollow(false);
      virtualizer.scrollToIndex(index, { align: 'center' });
    }
  }, [focusLineId, loadedAll, visible, virtualizer]);

  const onScroll = useCallback(() => {
    const el = parentRef.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < ROW_HEIGHT * 2;
    if (!atBottom && follow) setFollow(false);
  }, [follow]);

  const copy = async () => {
    const text = visible.map((line) => `${formatTimestamp(line.ts)} ${line.level.toUpperCase().padEnd(5)} ${line.text}`).join('\n');
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const area = document.createElement('textarea');
      area.value = text;
      document.body.appendChild(area);
      area.select();
      document.execCommand('copy');
      area.remove();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  };

  const toggleLevel = (level: LogLevel) => setLevels((prev) => toggled(prev, level));

  return (
    <div className="log-viewer" data-testid="log-viewer">
      <div className="log-toolbar">
        <input
          type="search"
          placeholder="Filter lines…"
          value={search}
          onChange={(event) => setSearch(event.target.value)}
          aria-label="Filter log lines"
          data-testid="log-filter"
        />
        <div className="level-toggles" role="group" aria-label="Levels">
          {LEVELS.map((level) => (
            <label key={level} className={`level-toggle level-${level}`}>
              <input type="checkbox" checked={levels.has(level)} onChange={() => toggleLevel(level)} />
              {level}
            </label>
          ))}
        </div>
        <label className="follow-toggle">
          <input type="checkbox" checked={wrap} onChange={(event) => setWrap(event.target.checked)} data-testid="log-wrap" />
          wrap
        </label>
        <label className="follow-toggle">
          <input type="checkbox" checked={follow} onChange={(event) => setFollow(event.target.checked)} data-testid="log-follow" />
          follow
        </label>
        <button type="button" onClick={() => void copy()} className="secondary">
          {copied ? 'Copied' : `Copy ${visible.length === lines.length ? 'all' : 'shown'}`}
        </button>
        <span className="muted log-count" data-testid="log-count">
          {visible.length.toLocaleString()} / {lines.length.toLocaleString()} lines{loadedAll ? '' : ' (loading…)'}
        </span>
      </div>
      <div className="log-scroll" ref={parentRef} onScroll={onScroll}>
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((item) => {
            const line = visible[item.index]!;
            const wrapped = wrap || opened.has(line.id);
            return (
              <div
                key={line.id}
                ref={virtualizer.measureElement}
                data-index={item.index}
                className={`log-line level-${line.level}${line.id === focusLineId ? ' focused' : ''}${wrapped ? ' wrapped' : ''}`}
                style={{ transform: `translateY(${item.start}px)`, ...(wrapped ? {} : { height: ROW_HEIGHT }) }}
                data-line-id={line.id}
                onClick={() => {
                  // A click that ends a text selection is not a request to open the line.
                  if (!wrap && !window.getSelection()?.toString()) toggleOpened(line.id);
                }}
              >
                <span className="log-ts">{formatTimestamp(line.ts).slice(11)}</span>
                <span className="log-level">{line.level}</span>
                <span className="log-text" title={wrapped ? undefined : line.text}>
                  {needle ? <MatchText text={line.text} needle={needle} /> : line.text}
                </span>
              </div>
            );
          })}
        </div>
        {lines.length === 0 && loadedAll ? <div className="empty">No log lines.</div> : null}
      </div>
    </div>
  );
}

/** A copy of the set with `item` removed if it was there, added if not. */
function toggled<T>(set: Set<T>, item: T): Set<T> {
  const next = new Set(set);
  if (next.has(item)) next.delete(item);
  else next.add(item);
  return next;
}

function MatchText({ text, needle }: { text: string; needle: string }) {
  const lower = text.toLowerCase();
  const parts = [];
  let from = 0;
  let key = 0;
  for (;;) {
    const at = lower.indexOf(needle, from);
    if (at < 0) break;
    parts.push(text.slice(from, at), <mark key={key++}>{text.slice(at, at + needle.length)}</mark>);
    from = at + needle.length;
  }
  parts.push(text.slice(from));
  return <>{parts}</>;
}
