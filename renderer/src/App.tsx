/**
 * The app frame: navigation, the connection banner (serve mode), and the
 * page for the current route.
 */
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
            This link’s token is wrong or out of date, so the workbench server refused it. Open the URL that <code>workbench serve</code> printed when it started (it ends with{' '}
            <code>#token=…</code>); each start prints a new one, so after a restart use the new URL.
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
