/**
 * Small building blocks every page uses: status badges, progress bars, error
 * boxes, highlighted search snippets, labelled fields.
 */
import { Children, cloneElement, isValidElement, useId, type ReactNode } from 'react';
import { STATUS_LABELS } from '../../../main/common/format';
import { HIGHLIGHT_END, HIGHLIGHT_START } from '../../../main/common/runs';
import type { ApiError } from '../api/client';

export function StatusBadge({ status, selftest }: { status: string; selftest?: boolean }) {
  return (
    <span className="status-wrap">
      <span className={`badge badge-${status}`} data-status={status}>
        {STATUS_LABELS[status] ?? status}
      </span>
      {selftest ? <span className="badge badge-selftest">self-test</span> : null}
    </span>
  );
}

export function ProgressBar({ value, label }: { value: number | null; label?: string }) {
  const pct = value === null ? null : Math.round(value * 100);
  return (
    <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct ?? undefined} aria-label={label}>
      <div className={`progress-fill${pct === null ? ' indeterminate' : ''}`} style={pct === null ? undefined : { width: `${pct}%` }} />
    </div>
  );
}

/**
 * An error in words: the title (what could not be done) or, without one, the
 * message itself as the headline. The code is a detail for reports and
 * searches, never the headline.
 */
export function ErrorBox({ error, title }: { error: Pick<ApiError, 'message' | 'code'> & { hint?: string }; title?: string }) {
  return (
    <div className="error-box" role="alert" data-code={error.code}>
      <strong>{title ?? error.message}</strong>
      {title ? <p>{error.message}</p> : null}
      {error.hint ? <p className="hint">{error.hint}</p> : null}
      <span className="muted error-code">Error code: {error.code}</span>
    </div>
  );
}

/** Renders a snippet with \u0002…\u0003 match markers as <mark>. */
export function Highlighted({ text }: { text: string }) {
  const parts: ReactNode[] = [];
  let rest = text;
  let key = 0;
  while (rest.length > 0) {
    const start = rest.indexOf(HIGHLIGHT_START);
    if (start < 0) {
      parts.push(rest);
      break;
    }
    const end = rest.indexOf(HIGHLIGHT_END, start);
    parts.push(rest.slice(0, start));
    parts.push(<mark key={key++}>{rest.slice(start + 1, end < 0 ? undefined : end)}</mark>);
    rest = end < 0 ? '' : rest.slice(end + 1);
  }
  return <>{parts}</>;
}

const CONTROLS = new Set(['input', 'select', 'textarea']);

/**
 * A labelled input; `error` (one sentence) marks the field invalid and says
 * why under it. The label is bound to its control: to `htmlFor` when given
 * (a composite control names its input), else to the child input, select or
 * textarea, which gets an id when it has none.
 */
export function Field({ label, help, children, htmlFor, error }: { label: string; help?: ReactNode; children: ReactNode; htmlFor?: string; error?: string | undefined }) {
  const generated = useId();
  let forId = htmlFor;
  let bound = false;
  // The first input, select or textarea among the direct children is the one the label names.
  const control = forId
    ? children
    : Children.map(children, (child) => {
        if (bound || !isValidElement<{ id?: string }>(child) || typeof child.type !== 'string' || !CONTROLS.has(child.type)) return child;
        bound = true;
        forId = child.props.id ?? generated;
        return child.props.id ? child : cloneElement(child, { id: forId });
      });
  return (
    <div className={error ? 'field invalid' : 'field'}>
      <label htmlFor={forId}>{label}</label>
      {control}
      {error ? (
        <div className="field-error" role="alert">
          {error}
        </div>
      ) : null}
      {help ? <div className="help">{help}</div> : null}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** A stage's warnings under its summary panel. */
export function WarningList({ warnings }: { warnings: string[] }) {
  if (warnings.length === 0) return null;
  return (
    <ul style={{ margin: '10px 0 0', paddingLeft: 18 }}>
      {warnings.map((w) => (
        <li key={w} className="warn-text">
          {w}
        </li>
      ))}
    </ul>
  );
}
