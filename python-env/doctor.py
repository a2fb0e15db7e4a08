"""Reports what a Python interpreter has for the workbench, as one JSON object.

Called by the Node doctor (main/core/env/doctor.ts) with each interpreter it
finds: the interpreter's version, and for every route the pinned packages
(from python-env/requirements-<route>.txt) next to the installed versions.
Reads package metadata only — imports nothing heavy, so it answers in well
under a second even when torch is installed. Standard library only.

Usage: python doctor.py            (JSON on stdout)
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROUTES = ("example", "export_hf")
_SPEC = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;]+)\s*(?:;\s*(.+))?$")


def marker_applies(marker: Optional[str]) -> bool:
  """Evaluates the two marker forms our requirement files use (sys_platform ==)."""
  if not marker:
    return True
  for alternative in marker.split(" or "):
    match = re.match(r'^\s*sys_platform\s*==\s*"([^"]+)"\s*$', alternative)
    if match is None:
      return True  # unknown marker form: keep the line rather than hide a pin
    if match.group(1) == sys.platform:
      return True
  return False


def pins(route: str) -> List[Dict[str, str]]:
  result = []
  with open(os.path.join(HERE, f"requirements-{route}.txt"), "r", encoding="utf-8") as handle:
    for line in handle:
      line = line.split("#", 1)[0].strip()
      if not line or line.startswith("-"):
        continue
      match = _SPEC.match(line)
      if match and marker_applies(match.group(4)):
        result.append({"name": match.group(1), "pinned": match.group(3)})
  return result


def normalize(name: str) -> str:
  return re.sub(r"[-_.]+", "-", name).lower()


def installed_versions() -> Dict[str, str]:
  from importlib import metadata

  versions: Dict[str, str] = {}
  for dist in metadata.distributions():
    name = dist.metadata.get("Name") if dist.metadata else None
    if name:
      versions[normalize(name)] = dist.version
  return versions


def same_version(pinned: str, installed: Optional[str]) -> bool:
  if installed is None:
    return False
  # torch 2.9.0+cpu satisfies a pin of 2.9.0 and vice versa (local build tag).
  return installed == pinned or installed.split("+")[0] == pinned.split("+")[0]


def report() -> Dict[str, object]:
  installed = installed_versions()
  routes = {}
  for route in ROUTES:
    rows = []
    for pin in pins(route):
      have = installed.get(normalize(pin["name"]))
      rows.append({"name": pin["name"], "pinned": pin["pinned"], "installed": have, "ok": same_version(pin["pinned"], have)})
    routes[route] = {"packages": rows, "ready": all(r["ok"] for r in rows)}
  marker = None
  marker_path = os.path.join(sys.prefix, "workbench-env.json")
  if os.path.isfile(marker_path):
    try:
      with open(marker_path, "r", encoding="utf-8") as handle:
        marker = json.load(handle)
    except (OSError, ValueError):
      marker = None
  return {
      "executable": sys.executable,
      "version": "%d.%d.%d" % sys.version_info[:3],
      "implementation": platform.python_implementation(),
      "prefix": sys.prefix,
      "isVenv": sys.prefix != getattr(sys, "base_prefix", sys.prefix),
      "workbenchEnv": marker,
      "routes": routes,
  }


if __name__ == "__main__":
  json.dump(report(), sys.stdout)
  sys.stdout.write("\n")
