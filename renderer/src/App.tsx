/**
 * The app frame: navigation, the connection banner (serve mode), and the
 * page for the current route.
 */
import { useEffect } from 'react';
import { useCall, useConnectionStatus } from './api/hooks';
import { ComparePage } from './pages/ComparePage';
import { EnvironmentPage } from './pages/EnvironmentPage';
import { NewRunPage } from './pages/NewRunPage';
import { RunDetailPage } from './pages/RunDetailPage';
import { RunsPage } from './pages/RunsPage';
import { SettingsPage } from './pages/SettingsPage';
import { extraPages } from './pages/extraPages';
import { useRoute } from './router';
import { formatBytes } from '../../main/common/format';

const NAV = [
  { path: 'new', label: 'New run' },
  { path: 'runs', label: 'Runs' },
  ...extraPages.map((page) => ({ path: page.path, label: page.label })),
  { path: 'environment', label: 'Environment' },
  { path: 'settings', label: 'Settings' },
];

export function App() {
  const route = useRoute();
  const status = useConnectionStatus();
  const info = useCall('app.info', {});
  // After a refused or lost connection comes back (a new token pasted, a restart), the frame's own data is fetched again.
  const reloadInfo = info.reload;
  useEffect(() => {
    if (status === 'open') reloadInfo();
  }, [status, reloadInfo]);
  const section = route.path[0] ?? 'runs';
  let page;
  if (section === 'runs' && route.path[1] && !/^[1-9]\d*$/.test(route.path[1])) {
    page = <NotFound what={`"${route.path[1]}" is not a run number.`} />;
  } else if (section === 'runs' && route.path[1]) {
    const line = route.query.get('line');
    page = <RunDetailPage key={route.path[1]} runId={Number(route.path[1])} {...(line ? { focusLineId: Number(line) } : {})} />;
  } else if (section === 'new') page = <NewRunPage />;
  else if (section === 'compare') page = <ComparePage route={route} />;
  else if (section === 'environment') page = <EnvironmentPage />;
  else if (section === 'settings') page = <SettingsPage />;
  else {
    const extra = extraPages.find((candidate) => candidate.path === section);
    page = extra ? <extra.component route={route} /> : section === 'runs' ? <RunsPage /> : <NotFound what={`There is no page "${section}".`} />;
  }
  return (
    <div className="app">
      <nav className="sidebar">
        <div className="brand">
          <span className="logo">◆</span> Convert Workbench
        </div>
        <ul>
          {NAV.map((item) => (
            <li key={item.path}>
              <a href={`#/${item.path}`} className={section === item.path ? 'active' : ''} data-testid={`nav-${item.path}`}>
                {item.label}
              </a>
            </li>
          ))}
        </ul>
        {info.data ? (
          <div className="host-box" title={info.data.dataDir}>
            <div>{info.data.mode === 'serve' ? `serve mode${info.data.remote ? ' (remote)' : ''}` : 'desktop'}</div>
            <div className="muted">{info.data.host.hostname}</div>
            <div className="muted">{formatBytes(info.data.host.totalMemBytes)} RAM · {info.data.host.cpuCount} CPUs</div>
          </div>
        ) : null}
      </nav>
      <main className="content">
        {status === 'unauthorized' ? (
          // Nothing else: every page would show what a refused request looks like ("No runs yet"), which is not the state of the server.
          <div className="banner error" role="alert" data-testid="unauthorized">
            <p>
              <strong>The workbench server refused this tab’s token</strong>: the link is wrong, or the server was restarted (each start makes a new token).
            </p>
            <p>
              To go on: in the terminal where <code>workbench serve</code> (or <code>npm run serve</code>) runs, find the line <code>Convert Workbench is serving at http://…#token=…</code>,
              copy that whole URL and paste it into this tab’s address bar. This tab picks up the new token and keeps it while it is open; nothing is lost.
            </p>
          </div>
        ) : (
          <>
            {status === 'closed' || status === 'connecting' ? <div className="banner" role="status">Connecting to the workbench server…</div> : null}
            {page}
          </>
        )}
      </main>
    </div>
  );
}

/** A mistyped or stale link: say so, rather than showing another page as if it were the one asked for. */
function NotFound({ what }: { what: string }) {
  return (
    <div className="page" data-testid="not-found">
      <header className="page-header">
        <h1>Not found</h1>
      </header>
      <p>
        {what} <a href="#/runs">Go to the runs</a>.
      </p>
    </div>
  );
}
