"""The writing side of the stage protocol for Python stages.

Every Python stage (convert, bootstrap, numeric fidelity, ...) prints one JSON
object per line on stdout, exactly the shapes declared in
main/common/stageProtocol.ts and described in docs/stage-protocol.md. The runner
parses those lines; anything else a library prints on stdout would be kept as
plain log text, so stages route third-party chatter to stderr (see
`redirect_foreign_stdout`).

Standard library only: this module must import on any Python >= 3.8 so that a
stage can report "package X is missing" before it imports anything heavy.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import threading
import traceback
from typing import Any, Callable, Dict, Iterator, Optional, TextIO

LOG_LEVELS = ("debug", "info", "warn", "error")
# Mirrors the zod limits in stageProtocol.ts so an event is never rejected there.
_MAX_PHASE = 200
_MAX_MESSAGE = 2000
_MAX_CODE = 100
_MAX_METRIC_NAME = 200
_MAX_UNIT = 40
_MAX_KIND = 100


class StageFailure(Exception):
  """An expected failure: becomes one `error` event with a stable code and hint."""

  def __init__(self, code: str, message: str, hint: Optional[str] = None):
    super().__init__(message)
    self.code = code
    self.message = message
    self.hint = hint


class Emitter:
  """Writes protocol events to a text stream (stdout by default), thread-safe."""

  def __init__(self, stream: Optional[TextIO] = None):
    self._stream = stream
    self._lock = threading.Lock()

  @property
  def stream(self) -> TextIO:
    return self._stream if self._stream is not None else sys.stdout

  def emit(self, event: Dict[str, Any]) -> None:
    line = json.dumps(event, ensure_ascii=False, allow_nan=False, default=str)
    with self._lock:
      self.stream.write(line + "\n")
      self.stream.flush()

  def progress(
      self,
      fraction: Optional[float],
      phase: Optional[str] = None,
      message: Optional[str] = None,
  ) -> None:
    event: Dict[str, Any] = {"type": "progress"}
    event["fraction"] = None if fraction is None else min(1.0, max(0.0, float(fraction)))
    if phase:
      event["phase"] = phase[:_MAX_PHASE]
    if message:
      event["message"] = message[:_MAX_MESSAGE]
    self.emit(event)

  def log(self, level: str, text: str) -> None:
    self.emit({"type": "log", "level": level if level in LOG_LEVELS else "info", "text": str(text)})

  def metric(self, name: str, value: float, unit: Optional[str] = None) -> None:
    event: Dict[str, Any] = {"type": "metric", "name": name[:_MAX_METRIC_NAME], "value": float(value)}
    if unit:
      event["unit"] = unit[:_MAX_UNIT]
    self.emit(event)

  def artifact(self, kind: str, path: str) -> None:
    self.emit({"type": "artifact", "kind": kind[:_MAX_KIND], "path": os.fspath(path)})

  def result(self, data: Dict[str, Any]) -> None:
    self.emit({"type": "result", "data": data})

  def error(self, code: str, message: str, hint: Optional[str] = None) -> None:
    event: Dict[str, Any] = {"type": "error", "code": code[:_MAX_CODE], "message": message}
    if hint:
      event["hint"] = hint
    self.emit(event)


out = Emitter()


def read_params(argv: Optional[list] = None) -> Dict[str, Any]:
  """Reads `--params <file>` (a JSON object) or raises StageFailure('bad_params')."""
  args = list(sys.argv[1:] if argv is None else argv)
  if "--params" not in args or args.index("--params") + 1 >= len(args):
    raise StageFailure("bad_params", "The stage was started without --params <file>.")
  path = args[args.index("--params") + 1]
  try:
    with open(path, "r", encoding="utf-8") as handle:
      data = json.load(handle)
  except (OSError, ValueError) as exc:
    raise StageFailure("bad_params", f"Cannot read the parameter file {path}: {exc}") from exc
  if not isinstance(data, dict):
    raise StageFailure("bad_params", f"The parameter file {path} must hold a JSON object.")
  return data


class _LineForwarder(io.TextIOBase):
  """A text stream that turns every complete line written to it into a log event."""

  def __init__(self, emitter: Emitter, level: str):
    super().__init__()
    self._emitter = emitter
    self._level = level
    self._pending = ""

  def writable(self) -> bool:
    return True

  def write(self, text: str) -> int:
    self._pending += text
    while True:
      # Progress bars redraw with '\r': treat it as a line end so they show up.
      cut = min((i for i in (self._pending.find("\n"), self._pending.find("\r")) if i >= 0), default=-1)
      if cut < 0:
        break
      line, self._pending = self._pending[:cut], self._pending[cut + 1:]
      if line.strip():
        self._emitter.log(self._level, line)
    return len(text)

  def flush(self) -> None:
    if self._pending.strip():
      self._emitter.log(self._level, self._pending)
    self._pending = ""


@contextlib.contextmanager
def redirect_foreign_stdout(emitter: Emitter = out, level: str = "info") -> Iterator[None]:
  """While active, text printed by libraries becomes `log` events, never raw stdout.

  The emitter keeps writing to the real stdout captured before the redirect.
  """
  real = sys.stdout
  if emitter._stream is None:
    emitter._stream = real
  forwarder = _LineForwarder(emitter, level)
  sys.stdout = forwarder  # type: ignore[assignment]
  try:
    yield
  finally:
    forwarder.flush()
    sys.stdout = real


def run_stage(body: Callable[[], None], emitter: Emitter = out, translate: Optional[Callable[[BaseException], Optional[StageFailure]]] = None) -> int:
  """Runs a stage body and returns the process exit code.

  A StageFailure becomes one `error` event. Anything else goes through
  `translate` (the stage's own error translation) and, failing that, becomes an
  `internal` error whose message is one sentence; the traceback follows as a
  debug log line so it is kept but never the only thing the user sees.
  """
  try:
    body()
    return 0
  except StageFailure as failure:
    emitter.error(failure.code, failure.message, failure.hint)
    return 1
  except KeyboardInterrupt:
    emitter.error("cancelled", "The stage was interrupted.")
    return 130
  except BaseException as exc:  # pylint: disable=broad-except
    failure = translate(exc) if translate else None
    if failure is None:
      failure = StageFailure(
          "internal",
          f"The stage stopped on an unexpected {type(exc).__name__}: {exc}",
          "The full Python traceback is in the stage log (debug level).",
      )
    emitter.error(failure.code, failure.message, failure.hint)
    emitter.log("debug", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return 1
