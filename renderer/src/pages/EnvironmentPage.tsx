/**
 * Environment: the host the engine runs on (this machine, or the remote host
 * in serve mode) and where its data lives.
 */
import { formatBytes } from '../../../main/common/format';
import { useCall } from '../api/hooks';
import { ErrorBox } from '../components/common';

export function EnvironmentPage() {
  const info = useCall('app.info', {});
  if (info.error) return <div className="page"><ErrorBox error={info.error} /></div>;
  if (!info.data) return <div className="page muted">Loading…</div>;
  const { host } = info.data;
  return (
    <div className="page" data-testid="environment-page">
      <header className="page-header">
        <h1>Environment</h1>
      </header>
      <section className="card">
        <h2>Host</h2>
        <section className="summary-grid">
          <div><span className="k">Machine</span><span className="v">{host.hostname}</span></div>
          <div><span className="k">System</span><span className="v">{host.platform} {host.release} ({host.arch})</span></div>
          <div><span className="k">CPU</span><span className="v">{host.cpuCount} × {host.cpuModel}</span></div>
          <div><span className="k">RAM</span><span className="v">{formatBytes(host.totalMemBytes)} total, {formatBytes(info.data.availableMemBytes)} available</span></div>
          <div><span className="k">Node</span><span className="v">{host.nodeVersion}</span></div>
          <div><span className="k">App</span><span className="v">{info.data.appVersion} ({info.data.mode === 'electron' ? 'desktop' : 'serve mode'})</span></div>
          <div className="wide"><span className="k">Data directory</span><span className="v mono">{info.data.dataDir}</span></div>
          <div className="wide"><span className="k">History database</span><span className="v mono">{info.data.databaseFile}</span></div>
        </section>
      </section>
    </div>
  );
}
