/**
 * Small inline icons for the path field and folder browser (emoji depend on
 * fonts the host may lack, as headless Linux Chromium does).
 */
export function EntryIcon({ type }: { type: 'dir' | 'file' | 'recent' }) {
  return (
    <svg className={`path-icon path-icon-${type}`} width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
      {type === 'dir' ? <path d="M1.5 3.5h4.2l1.4 1.5h7.4v7.5h-13z" fill="#f4c04e" stroke="#c9962a" strokeWidth="1" /> : null}
      {type === 'file' ? <path d="M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3" fill="#fff" stroke="#98a2b3" strokeWidth="1" /> : null}
      {type === 'recent' ? (
        <>
          <circle cx="8" cy="8" r="6.2" fill="none" stroke="#667085" strokeWidth="1.3" />
          <path d="M8 4.5V8l2.4 1.6" fill="none" stroke="#667085" strokeWidth="1.3" strokeLinecap="round" />
        </>
      ) : null}
    </svg>
  );
}
