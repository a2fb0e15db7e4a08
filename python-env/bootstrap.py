"""Creates or repairs the workbench's Python environment for one conversion route.

Runs as a stage of kind `bootstrap` (so the install is recorded like any run)
and speaks the stage protocol (python-env/stages/protocol.py). The virtual
environment lives in `<dataDir>/python/venv`; `uv` is used when it is on PATH
(fast, can also provide a Python), else `python -m venv` + pip. Every line pip
or uv prints becomes a log event; failures end in one `error` event that says
what to do.

Idempotent: a marker file in the venv records the route and the hash of the
requirements it was built from; re-running with nothing changed only verifies
the imports. A different route, changed pins or `--rebuild` recreate the venv.

Usage (normally via the runner):
  python bootstrap.py --params params.json
  python bootstrap.py --data-dir DIR --route example|export_hf [--rebuild] [--python PATH]
      [--index-url URL] [--extra-index-url URL|none] [--pip-timeout S] [--pip-retries N] [--no-uv]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "stages"))
from protocol import Emitter, StageFailure, out, run_stage  # noqa: E402

ROUTES = ("example", "export_hf")
MIN_PYTHON = (3, 10)
NEWEST_TESTED = (3, 13)
MARKER = "workbench-env.json"
FREEZE = "workbench-freeze.txt"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# What the converter imports first on each route: the post-install check.
IMPORT_CHECK = {
    "example": ["torch", "safetensors", "ai_edge_quantizer", "ai_edge_torch.generative.utilities.converter"],
    "export_hf": ["torch", "safetensors", "transformers", "ai_edge_quantizer", "litert_torch.generative.export_hf.export"],
}

GET_PYTHON = {
    "linux": "Debian/Ubuntu: sudo apt install python3.11 python3.11-venv; Fedora: sudo dnf install python3.11; or install uv and run: uv python install 3.11",
    "darwin": "brew install python@3.11, or the installer from python.org, or install uv and run: uv python install 3.11",
    "win32": "winget install Python.Python.3.11, or the installer from python.org, or install uv and run: uv python install 3.11",
}


def requirements_path(route: str) -> str:
  return os.path.join(HERE, f"requirements-{route}.txt")


def venv_dir(data_dir: str) -> str:
  return os.path.join(data_dir, "python", "venv")


def venv_python(venv: str) -> str:
  if sys.platform == "win32":
    return os.path.join(venv, "Scripts", "python.exe")
  return os.path.join(venv, "bin", "python")


def get_python_hint() -> str:
  return GET_PYTHON.get(sys.platform, GET_PYTHON["linux"])


def python_version(executable: str) -> Optional[Tuple[int, int, int]]:
  try:
    text = subprocess.run(
        [executable, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout.strip()
    major, minor, micro = (int(x) for x in text.split("."))
    return (major, minor, micro)
  except (OSError, subprocess.SubprocessError, ValueError):
    return None


def choose_python(requested: Optional[str], emitter: Emitter, uv: Optional[str]) -> Optional[str]:
  """The interpreter the venv is made from; None means 'let uv provide one'."""
  candidates: List[str] = []
  if requested:
    candidates.append(requested)
  else:
    candidates.append(sys.executable)
    for name in ("python3.12", "python3.11", "python3.13", "python3.10", "python3", "python"):
      found = shutil.which(name)
      if found and found not in candidates:
        candidates.append(found)
  rejected = []
  for candidate in candidates:
    version = python_version(candidate)
    if version is None:
      rejected.append(f"{candidate} (does not run)")
      continue
    if version[:2] < MIN_PYTHON:
      rejected.append(f"{candidate} ({'.'.join(map(str, version))}, too old)")
      continue
    if version[:2] > NEWEST_TESTED:
      emitter.log("warn", f"{candidate} is Python {'.'.join(map(str, version))}; the converter is published for 3.10-3.13 and wheels may be missing.")
    emitter.log("info", f"Using Python {'.'.join(map(str, version))} at {candidate}")
    return candidate
  if requested:
    raise StageFailure(
        "python_unsuitable",
        f"The Python chosen in Settings cannot be used: {'; '.join(rejected)}. The converter needs Python 3.10 or newer.",
        f"Pick another interpreter in Settings, or install one — {get_python_hint()}.",
    )
  if uv:
    emitter.log("info", "No Python >= 3.10 found; uv will provide Python 3.11.")
    return None
  raise StageFailure(
      "python_not_found",
      f"No Python 3.10 or newer was found (checked: {'; '.join(rejected) or 'none on PATH'}).",
      f"Install Python 3.11 — {get_python_hint()} — then run the environment setup again.",
  )


def sha256_file(path: str) -> str:
  with open(path, "rb") as handle:
    return hashlib.sha256(handle.read()).hexdigest()


def read_marker(venv: str) -> Optional[Dict[str, object]]:
  try:
    with open(os.path.join(venv, MARKER), "r", encoding="utf-8") as handle:
      data = json.load(handle)
    return data if isinstance(data, dict) else None
  except (OSError, ValueError):
    return None


def requirement_lines(route: str) -> List[str]:
  """Requirement specifiers of a route's file (comments and index options dropped)."""
  lines = []
  with open(requirements_path(route), "r", encoding="utf-8") as handle:
    for line in handle:
      line = line.split("#", 1)[0].strip()
      if line and not line.startswith("-"):
        lines.append(line)
  return lines


# pip/uv output that explains a failure, most specific first.
PIP_FAILURES = [
    (re.compile(r"No space left on device", re.I), "out_of_disk", "The disk filled up while installing packages.", "Free disk space in the data folder (the environment needs about 6 GB), then run the setup again."),
    (re.compile(r"(NewConnectionError|Connection refused|Failed to establish|Temporary failure in name resolution|Name or service not known|Max retries exceeded|Network is unreachable|timed out|ConnectTimeout|dns error|error sending request|Could not connect)", re.I),
     "index_unreachable", "The package index could not be reached, so nothing was installed.",
     "Check the internet connection or proxy (HTTPS_PROXY, PIP_INDEX_URL / UV_INDEX_URL), then run the setup again."),
    (re.compile(r"(ResolutionImpossible|conflicting dependencies|No solution found|unsatisfiable)", re.I),
     "pins_conflict", "The pinned packages could not be installed together.",
     "Report this with the stage log; meanwhile try the other conversion route."),
    (re.compile(r"(No matching distribution found|Could not find a version|not found in the package registry|no version of)", re.I),
     "package_unavailable", "A pinned package has no build for this platform or Python version.",
     "Use Python 3.10-3.12 on Linux x86-64 or macOS arm64 (the converter's published platforms), then run the setup again."),
]


def explain_pip_failure(output: str, command: str) -> StageFailure:
  for pattern, code, message, hint in PIP_FAILURES:
    if pattern.search(output):
      return StageFailure(code, message, hint)
  return StageFailure("install_failed", f"{command} failed; the stage log holds its output.", "Read the last log lines, fix the cause, then run the setup again (use Rebuild if the environment is damaged).")


def stream(command: List[str], emitter: Emitter, on_line=None, env: Optional[Dict[str, str]] = None) -> Tuple[int, str]:
  """Runs a command, turning each output line into a log event; returns (code, tail)."""
  emitter.log("info", "$ " + " ".join(command))
  try:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, env=env, errors="replace")
  except OSError as exc:
    return 127, str(exc)
  tail: List[str] = []
  assert process.stdout is not None
  for raw in process.stdout:
    line = raw.rstrip()
    if not line:
      continue
    emitter.log("error" if line.startswith("ERROR") or line.startswith("error:") else "info", line)
    tail.append(line)
    del tail[:-200]
    if on_line:
      on_line(line)
  return process.wait(), "\n".join(tail)


class InstallProgress:
  """Maps pip/uv output lines to a fraction between `start` and `end`."""

  STEP = re.compile(r"^(Collecting|Downloading|Using cached|Building wheel|Installing collected|Successfully installed|\s*\+ |Resolved|Prepared|Installed)")

  def __init__(self, emitter: Emitter, start: float, end: float, expected_steps: int):
    self.emitter, self.start, self.end = emitter, start, end
    self.expected = max(1, expected_steps)
    self.seen = 0

  def __call__(self, line: str) -> None:
    if self.STEP.match(line):
      self.seen += 1
      fraction = self.start + (self.end - self.start) * min(0.98, self.seen / self.expected)
      self.emitter.progress(fraction, "install packages", line[:200])


def create_venv(venv: str, python: Optional[str], uv: Optional[str], emitter: Emitter) -> None:
  emitter.progress(0.08, "create environment", venv)
  os.makedirs(os.path.dirname(venv), exist_ok=True)
  if uv:
    command = [uv, "venv", "--seed", venv, "--python", python or "3.11"]
  else:
    command = [python or sys.executable, "-m", "venv", venv]
  code, output = stream(command, emitter)
  if code != 0:
    if "ensurepip" in output:
      raise StageFailure(
          "venv_unavailable",
          "This Python cannot create virtual environments (its venv/ensurepip module is missing).",
          "On Debian/Ubuntu install it: sudo apt install python3-venv (or python3.11-venv), then run the setup again.",
      )
    raise StageFailure("venv_failed", f"Creating the virtual environment in {venv} failed.", "Read the log lines above; use Rebuild to start from an empty folder.")
  if not os.path.isfile(venv_python(venv)):
    raise StageFailure("venv_failed", f"The virtual environment in {venv} has no Python executable.", "Use Rebuild to recreate it.")


def install(venv: str, route: str, uv: Optional[str], args: argparse.Namespace, emitter: Emitter) -> None:
  requirements = requirements_path(route)
  python = venv_python(venv)
  indexes: List[str] = []
  if args.index_url:
    indexes += ["--index-url", args.index_url]
  extra = args.extra_index_url if args.extra_index_url is not None else TORCH_CPU_INDEX
  if extra and extra.lower() != "none":
    indexes += ["--extra-index-url", extra]
  if uv:
    # unsafe-best-match lets uv take torch's +cpu build from the extra index
    # while everything else comes from the main index (pip's behaviour).
    command = [uv, "pip", "install", "--python", python, "--index-strategy", "unsafe-best-match", *indexes, "-r", requirements]
    env = dict(os.environ, UV_HTTP_TIMEOUT=str(args.pip_timeout))
  else:
    command = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
               "--timeout", str(args.pip_timeout), "--retries", str(args.pip_retries), *indexes, "-r", requirements]
    env = dict(os.environ, PIP_NO_INPUT="1")
  steps = len(requirement_lines(route)) * 3
  code, output = stream(command, emitter, InstallProgress(emitter, 0.15, 0.90, steps), env)
  if code != 0:
    failure = explain_pip_failure(output, "uv pip install" if uv else "pip install")
    # pip reports an unreachable index only as "no matching distribution":
    # ask the index directly so the user is told the real cause.
    if failure.code in ("package_unavailable", "install_failed"):
      unreachable = unreachable_index(args.index_url or "https://pypi.org/simple/", args.pip_timeout)
      if unreachable:
        failure = StageFailure(
            "index_unreachable",
            f"The package index {args.index_url or 'https://pypi.org/simple/'} could not be reached ({unreachable}), so nothing was installed.",
            PIP_FAILURES[1][3],
        )
    raise failure


def unreachable_index(url: str, timeout: float) -> Optional[str]:
  """None when the index answers over HTTP (any status), else the reason."""
  import urllib.error
  import urllib.request

  if not url.startswith(("http://", "https://")):
    return None
  try:
    urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=max(1.0, timeout)).close()
    return None
  except urllib.error.HTTPError:
    return None
  except (urllib.error.URLError, OSError) as exc:
    return str(getattr(exc, "reason", exc))


def verify_imports(venv: str, route: str, emitter: Emitter) -> Tuple[bool, str]:
  emitter.progress(0.92, "verify", "importing the converter")
  probe = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
  try:
    result = subprocess.run([venv_python(venv), "-c", probe, *IMPORT_CHECK[route]], capture_output=True, text=True, timeout=600)
  except (OSError, subprocess.SubprocessError) as exc:
    return False, str(exc)
  lines = (result.stderr or result.stdout).strip().splitlines()
  return result.returncode == 0, lines[-1] if lines else ""


def freeze(venv: str) -> str:
  try:
    return subprocess.run([venv_python(venv), "-m", "pip", "freeze", "--all"], capture_output=True, text=True, timeout=120).stdout
  except (OSError, subprocess.SubprocessError):
    return ""


def remove_tree(path: str, emitter: Emitter) -> None:
  if os.path.lexists(path):
    emitter.log("info", f"Removing {path}")
    shutil.rmtree(path)


def bootstrap(args: argparse.Namespace, emitter: Emitter = out) -> Dict[str, object]:
  if args.route not in ROUTES:
    raise StageFailure("bad_params", f"Unknown route {args.route!r}; expected one of {', '.join(ROUTES)}.")
  if not args.data_dir:
    raise StageFailure("bad_params", "The data directory (--data-dir) is missing.")
  data_dir = os.path.abspath(args.data_dir)
  venv = venv_dir(data_dir)
  requirements = requirements_path(args.route)
  req_hash = sha256_file(requirements)
  uv = None if args.no_uv else shutil.which("uv")
  emitter.progress(0.02, "choose python", "uv found" if uv else "pip")

  marker = read_marker(venv)
  if os.path.lexists(venv) and not args.rebuild:
    if not os.path.isfile(venv_python(venv)) or python_version(venv_python(venv)) is None:
      raise StageFailure(
          "env_broken",
          f"The environment in {venv} is incomplete or damaged.",
          "Run the setup again with Rebuild (Environment page → Rebuild), which deletes and recreates it.",
      )
    if marker is None:
      emitter.log("info", "A previous setup did not finish; installing the pinned packages into the existing environment.")
    elif marker.get("route") == args.route and marker.get("requirementsSha256") == req_hash:
      ok, detail = verify_imports(venv, args.route, emitter)
      if ok:
        emitter.log("info", f"The {args.route} environment is already installed and up to date.")
        emitter.progress(1.0, "done", "already up to date")
        result = {"venv": venv, "python": venv_python(venv), "route": args.route, "changed": False}
        emitter.result(result)
        return result
      emitter.log("warn", f"The environment is installed but the converter does not import ({detail}); reinstalling the pinned packages.")
    else:
      emitter.log("info", f"The environment was built for {marker.get('route')} with other pins; recreating it for {args.route}.")
      args.rebuild = True
  if args.rebuild:
    remove_tree(venv, emitter)

  if not os.path.isfile(venv_python(venv)):
    python = choose_python(args.python, emitter, uv)
    create_venv(venv, python, uv, emitter)
  emitter.progress(0.15, "install packages", os.path.basename(requirements))
  install(venv, args.route, uv, args, emitter)
  ok, detail = verify_imports(venv, args.route, emitter)
  if not ok:
    raise StageFailure("verify_failed", f"The packages installed but the converter does not import: {detail}", "Use Rebuild to recreate the environment; if it persists, report it with the stage log.")
  frozen = freeze(venv)
  with open(os.path.join(venv, FREEZE), "w", encoding="utf-8") as handle:
    handle.write(frozen)
  marker = {
      "route": args.route,
      "requirements": os.path.basename(requirements),
      "requirementsSha256": req_hash,
      "python": venv_python(venv),
      "pythonVersion": ".".join(map(str, python_version(venv_python(venv)) or ())),
      "installer": "uv" if uv else "pip",
      "createdAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
  }
  with open(os.path.join(venv, MARKER), "w", encoding="utf-8") as handle:
    json.dump(marker, handle, indent=2)
  emitter.artifact("python-env", venv)
  emitter.progress(1.0, "done", f"{args.route} environment ready")
  result = {"venv": venv, "python": venv_python(venv), "route": args.route, "changed": True, "installer": marker["installer"]}
  emitter.result(result)
  return result


def parse_args(argv: List[str]) -> argparse.Namespace:
  parser = argparse.ArgumentParser(description="Create the Convert Workbench Python environment.")
  parser.add_argument("--params", help="JSON file with {route, rebuild, pythonPath, dataDir} (stage protocol)")
  parser.add_argument("--data-dir", dest="data_dir")
  parser.add_argument("--route", default=None)
  parser.add_argument("--rebuild", action="store_true")
  parser.add_argument("--python")
  parser.add_argument("--index-url", dest="index_url")
  parser.add_argument("--extra-index-url", dest="extra_index_url")
  parser.add_argument("--pip-timeout", dest="pip_timeout", type=float, default=60)
  parser.add_argument("--pip-retries", dest="pip_retries", type=int, default=5)
  parser.add_argument("--no-uv", dest="no_uv", action="store_true")
  args = parser.parse_args(argv)
  if args.params:
    try:
      with open(args.params, "r", encoding="utf-8") as handle:
        params = json.load(handle)
    except (OSError, ValueError) as exc:
      raise StageFailure("bad_params", f"Cannot read the parameter file {args.params}: {exc}") from exc
    if not isinstance(params, dict):
      raise StageFailure("bad_params", "The parameter file must hold a JSON object.")
    args.route = args.route or params.get("route")
    args.rebuild = args.rebuild or bool(params.get("rebuild", False))
    args.python = args.python or params.get("pythonPath")
    args.data_dir = args.data_dir or params.get("dataDir")
  args.route = args.route or "example"
  return args


def main(argv: Optional[List[str]] = None) -> int:
  def body() -> None:
    bootstrap(parse_args(list(sys.argv[1:] if argv is None else argv)))

  return run_stage(body, out)


if __name__ == "__main__":
  sys.exit(main())
