/**
 * Environment: what can run on this host, per capability (native conversion,
 * merge and packaging; the behaviour check's reference; the Python conversion
 * routes), the host the engine runs on (this machine, or the remote host in
 * serve mode), where its data lives, and the doctor's checks (Python, pinned
 * packages, disk, RAM) with what fixes each.
 * There is one set-up action (route, and whether to start from scratch);
 * it runs as a recorded run whose progress is followed live here, and a
 * failure is shown once, in its own box, not again as the doctor's
 * "not set up" problems it implies.
 */
import { useState } from 'react';
import { formatBytes } from '../../../main/common/format';
import type { DoctorFix, DoctorReport } from '../../../main/common/env';
import type { StageRecord } from '../../../main/common/runs';
import { PythonRoute } from '../../../main/common/stages/convert';
import { useAction, useApi, useCall, useEvents } from '../api/hooks';
import { ErrorBox, ProgressBar, StatusBadge } from '../components/common';
import { navigate } from '../router';

/** A bare vertical list (the stylesheet styles lists only in the sidebar). */
const LIST = { listStyle: 'none', padding: 0, margin: 0, display: 'flex', flexDirection: 'column', gap: 8 } as const;

const ROUTE_HELP: Record<PythonRoute, string> = {
  example: 'AI Edge Torch 0.7 example builders → .tflite (the route the field report used for Qwen2.5).',
  export_hf: 'LiteRT Torch 0.10 export_hf → .litertlm bundle; any causal LM transformers loads, lightweight conversion available.',
};

function HostCard() {
  const info = useCall('app.info', {});
  if (info.error) return <ErrorBox error={info.error} />;
  if (!info.data) return <div className="muted">Loading…</div>;
  const { host } = info.data;
  return (
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
  );
}

/** Doctor problems that only restate that the environment is not (fully) set up: a failed setup's own box already says why. */
const ENV_STATE_PROBLEMS = new Set(['no_env', 'env_unfinished', 'python_doctor_failed']);
/** Problems the Python routes' capability row already states, with the same fix. */
const ROUTES_STATE_PROBLEMS = new Set(['no_env', 'env_unfinished']);

/** Follows one bootstrap run's stage through engine events. */
function BootstrapProgress({ runId, onFinished }: { runId: number; onFinished: (status: string) => void }) {
  const [stage, setStage] = useState<StageRecord | null>(null);
  const [lastLine, setLastLine] = useState('');
  useEvents((event) => {
    if (event.type === 'stage' && event.stage.runId === runId) {
      setStage(event.stage);
      if (event.stage.finishedAt !== null) onFinished(event.stage.status);
    } else if (event.type === 'logs' && event.runId === runId && event.lines.length > 0) {
      setLastLine(event.lines[event.lines.length - 1]?.text ?? '');
    }
  });
  return (
    <div className="card" data-testid="bootstrap-progress">
      <div className="stage-head">
        <strong>Setting up the environment</strong>
        {stage ? <StatusBadge status={stage.status} /> : <span className="muted">starting…</span>}
        <a href={`#/runs/${runId}`}>Run {runId}: full log</a>
      </div>
      <div className="stage-progress">
        <ProgressBar value={stage?.progress ?? null} label="environment setup" />
        <span className="muted">{stage?.phase ?? ''}</span>
      </div>
      {lastLine && !stage?.error ? <div className="stage-message mono muted">{lastLine}</div> : null}
      {stage?.error ? <ErrorBox error={{ code: stage.error.code, message: stage.error.message, ...(stage.error.hint ? { hint: stage.error.hint } : {}) }} title="Setup failed" /> : null}
    </div>
  );
}

/** What fixes a problem: Settings has its own page; setting up the environment is the one set-up action below the list. */
function FixHint({ fix }: { fix: DoctorFix }) {
  if (fix.action === 'openSettings') {
    return (
      <button type="button" className="secondary" onClick={() => navigate('/settings')}>
        {fix.label}
      </button>
    );
  }
  if (fix.action === 'bootstrap' || fix.action === 'rebuild') {
    return (
      <span className="muted" data-testid="fix-setup-hint">
        Fix: {fix.action === 'rebuild' ? 'set up again from scratch' : 'set up the environment'} with the button below, or in a terminal:
      </span>
    );
  }
  return <span className="muted">{fix.label}</span>;
}

function Problems({ problems }: { problems: DoctorReport['problems'] }) {
  if (problems.length === 0) return null;
  return (
    <ul style={LIST} data-testid="doctor-problems">
      {problems.map((p) => (
        <li key={p.id} className={p.severity === 'error' ? 'error-box' : 'banner'} data-problem={p.id}>
          <p>{p.message}</p>
          <div className="actions">
            <FixHint fix={p.fix} />
            {p.fix.command ? <code className="mono">{p.fix.command}</code> : null}
            {p.fix.command ? (
              <button type="button" className="secondary" onClick={() => void navigator.clipboard?.writeText(p.fix.command ?? '')}>
                Copy
              </button>
            ) : null}
          </div>
        </li>
      ))}
    </ul>
  );
}

/** What can run, one row per capability: ready, or what is missing and the one action that fixes it. */
function Capabilities({ report }: { report: DoctorReport }) {
  return (
    <ul style={LIST} data-testid="capabilities" aria-label="What can run on this host">
      {report.capabilities.map((c) => (
        <li key={c.id} data-capability={c.id} data-ready={c.ready ? 'true' : 'false'} className="capability">
          <span className={`badge ${c.ready ? 'badge-succeeded' : 'badge-failed'}`}>{c.ready ? 'ready' : 'not ready'}</span> <strong>{c.label}</strong>
          <div className={c.ready ? 'muted' : ''}>{c.detail}</div>
          {c.fix ? (
            <div className="actions">
              <FixHint fix={c.fix} />
              {c.fix.command ? <code className="mono">{c.fix.command}</code> : null}
            </div>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

function Packages({ report }: { report: DoctorReport }) {
  if (!report.routes) return <p className="muted">No usable Python, so installed packages cannot be listed.</p>;
  return (
    <div style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(420px, 1fr))', gap: 16 }}>
      {PythonRoute.options.map((route) => (
        <div key={route}>
          <h3>
            {route} {report.routes![route].ready ? <span className="badge badge-succeeded">ready</span> : <span className="badge badge-failed">not ready</span>}
          </h3>
          <p className="help">{ROUTE_HELP[route]}</p>
          <table className="runs-table">
            <thead>
              <tr><th>package</th><th>pinned</th><th>installed</th></tr>
            </thead>
            <tbody>
              {report.routes![route].packages.map((p) => (
                <tr key={p.name} className={p.ok ? '' : 'danger-text'}>
                  <td className="mono">{p.name}</td>
                  <td className="mono">{p.pinned}</td>
                  <td className="mono">{p.installed ?? 'missing'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </div>
  );
}

/** The one set-up action: which route, and whether to delete what is there first (what the doctor suggests is preselected). */
function SetupAction({ report, pending, onStart }: { report: DoctorReport; pending: boolean; onStart: (route: PythonRoute, rebuild: boolean) => void }) {
  const suggested = report.problems.map((p) => p.fix).find((fix) => fix.action === 'bootstrap' || fix.action === 'rebuild');
  const [route, setRoute] = useState<PythonRoute>(suggested?.route ?? report.venv.route ?? 'example');
  const [rebuild, setRebuild] = useState(suggested?.action === 'rebuild');
  const ready = report.routes?.[route]?.ready === true;
  return (
    <div className="actions" data-testid="setup">
      <label>
        Route{' '}
        <select value={route} onChange={(event) => setRoute(event.target.value as PythonRoute)} data-testid="bootstrap-route">
          {PythonRoute.options.map((option) => (
            <option key={option} value={option}>
              {option}
            </option>
          ))}
        </select>
      </label>
      <label className="check">
        <input type="checkbox" checked={rebuild} onChange={(event) => setRebuild(event.target.checked)} data-testid="bootstrap-rebuild" />
        Start from scratch (delete the existing environment first)
      </label>
      <button type="button" onClick={() => onStart(route, rebuild)} disabled={pending} data-testid="bootstrap-start">
        {ready && !rebuild ? 'Check and update the Python environment' : 'Set up the Python environment'}
      </button>
      <span className="help">{ROUTE_HELP[route]}</span>
    </div>
  );
}

function DoctorCard() {
  const api = useApi();
  // "Check again" asks the server to probe every interpreter anew (a package installed in a terminal shows at once).
  const [recheck, setRecheck] = useState(false);
  const doctor = useCall('env.doctor', recheck ? { fresh: true } : {}, 'doctor');
  const [runId, setRunId] = useState<number | null>(null);
  const [setupFailed, setSetupFailed] = useState(false);
  const start = useAction(async (chosen: PythonRoute, rebuild: boolean) => {
    setSetupFailed(false);
    const { id } = await api.call('env.bootstrap', { route: chosen, rebuild });
    setRunId(id);
  });
  const report = doctor.data;
  // "Not set up" is said once, by the Python routes' capability with its fix (and not at all after a failed setup's own box).
  const problems = (report?.problems ?? []).filter((p) => !ROUTES_STATE_PROBLEMS.has(p.id) && !(setupFailed && ENV_STATE_PROBLEMS.has(p.id)));
  return (
    <section className="card" data-testid="doctor">
      <div className="page-header">
        <h2>What can run here</h2>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setRecheck(true);
            doctor.reload();
          }}
          disabled={doctor.loading}
        >
          {doctor.loading ? 'Checking…' : 'Check again'}
        </button>
      </div>
      {doctor.error ? <ErrorBox error={doctor.error} title="The environment could not be checked" /> : null}
      {runId !== null ? (
        <BootstrapProgress
          runId={runId}
          onFinished={(status) => {
            setSetupFailed(status !== 'succeeded');
            doctor.reload();
          }}
        />
      ) : null}
      {start.error ? <ErrorBox error={start.error} title="Could not start the setup" /> : null}
      {report ? (
        <>
          <Capabilities report={report} />
          {problems.length === 0 ? <p data-testid="doctor-ok">No other problems found.</p> : <Problems problems={problems} />}
          <SetupAction
            // A new suggestion from the doctor (e.g. "start from scratch" after a failed setup) preselects again.
            key={report.problems.map((p) => `${p.fix.action}:${p.fix.route}`).join()}
            report={report}
            pending={start.pending}
            onStart={(r, rebuild) => void start.run(r, rebuild)}
          />
          <h3>Python</h3>
          <ul style={LIST}>
            {report.pythons.map((p) => (
              <li key={`${p.source}:${p.path}`} className={p.usable ? '' : 'warn-text'}>
                <span className="badge">{p.source}</span> <span className="mono">{p.path}</span> {p.version ?? ''} {p.problem ? `— ${p.problem}` : ''}
              </li>
            ))}
          </ul>
          <p className="muted">
            The Python routes run with: <span className="mono">{report.stagePython ?? 'no usable Python'}</span>. Environment: <span className="mono">{report.venv.path}</span>{' '}
            {report.venv.exists ? `(${report.venv.route ?? 'setup unfinished'})` : '(not set up)'}
            {report.uv ? ` · uv found at ${report.uv}` : ''}
          </p>
          <h3>Packages: installed vs pinned</h3>
          <Packages report={report} />
          <h3>Resources</h3>
          <section className="summary-grid">
            {report.disk.map((d) => (
              <div key={d.label} className="wide">
                <span className="k">Free disk ({d.label})</span>
                <span className="v">{d.freeBytes === null ? 'unknown' : `${formatBytes(d.freeBytes)} of ${formatBytes(d.totalBytes ?? 0)}`} <span className="mono muted">{d.path}</span></span>
              </div>
            ))}
            <div><span className="k">RAM</span><span className="v">{formatBytes(report.memory.totalBytes)} ({formatBytes(report.memory.availableBytes)} available)</span></div>
            <div><span className="k">CPU</span><span className="v">{report.cpu.cores} × {report.cpu.model}</span></div>
            <div><span className="k">Runtime</span><span className="v">Node {report.runtime.node}{report.runtime.electron ? `, Electron ${report.runtime.electron}` : ''}</span></div>
          </section>
        </>
      ) : doctor.loading ? (
        <p className="muted">Checking Python and packages…</p>
      ) : null}
    </section>
  );
}

export function EnvironmentPage() {
  return (
    <div className="page" data-testid="environment-page">
      <header className="page-header">
        <h1>Environment</h1>
      </header>
      <DoctorCard />
      <HostCard />
    </div>
  );
}
