"""Bootstrap: argument handling, requirement parsing, failure explanations, python choice."""
import argparse
import json
import os
import sys
import tempfile
import unittest

from tests.helpers import captured, events
import bootstrap
from protocol import StageFailure


class BootstrapUnitTest(unittest.TestCase):

  def test_requirement_files_pin_exact_versions(self):
    for route in bootstrap.ROUTES:
      lines = bootstrap.requirement_lines(route)
      self.assertTrue(lines)
      for line in lines:
        self.assertRegex(line, r"^[A-Za-z0-9._\-\[\]]+==\S+( ; .+)?$", line)
    self.assertIn("ai-edge-torch==0.7.1", bootstrap.requirement_lines("example"))
    self.assertIn("litert-torch==0.10.0", bootstrap.requirement_lines("export_hf"))

  def test_params_file(self):
    with tempfile.TemporaryDirectory() as tmp:
      path = os.path.join(tmp, "p.json")
      with open(path, "w") as handle:
        json.dump({"route": "export_hf", "rebuild": True, "pythonPath": "/usr/bin/python3", "dataDir": tmp}, handle)
      args = bootstrap.parse_args(["--params", path])
      self.assertEqual((args.route, args.rebuild, args.python, args.data_dir), ("export_hf", True, "/usr/bin/python3", tmp))
      with open(path, "w") as handle:
        handle.write("{")
      with self.assertRaises(StageFailure):
        bootstrap.parse_args(["--params", path])

  def test_unknown_route(self):
    args = bootstrap.parse_args(["--data-dir", "/tmp/x", "--route", "onnx"])
    emitter, _ = captured()
    with self.assertRaises(StageFailure) as ctx:
      bootstrap.bootstrap(args, emitter)
    self.assertEqual(ctx.exception.code, "bad_params")

  def test_failure_explanations(self):
    cases = {
        "ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device": "out_of_disk",
        "WARNING: Retrying ... NewConnectionError('Failed to establish a new connection')": "index_unreachable",
        "ERROR: ResolutionImpossible: for help visit": "pins_conflict",
        "ERROR: No matching distribution found for litert-torch==0.10.0": "package_unavailable",
        "something else": "install_failed",
    }
    for output, code in cases.items():
      failure = bootstrap.explain_pip_failure(output, "pip install")
      self.assertEqual(failure.code, code, output)
      self.assertTrue(failure.hint)

  def test_unreachable_index_is_detected(self):
    self.assertIsNotNone(bootstrap.unreachable_index("http://127.0.0.1:9/simple", 1))
    self.assertIsNone(bootstrap.unreachable_index("file:///opt/index", 1))

  def test_requested_python_that_does_not_exist(self):
    emitter, _ = captured()
    with self.assertRaises(StageFailure) as ctx:
      bootstrap.choose_python("/nonexistent/python3", emitter, None)
    self.assertEqual(ctx.exception.code, "python_unsuitable")
    self.assertIn("3.10", ctx.exception.message)

  def test_current_python_is_accepted(self):
    emitter, stream = captured()
    if sys.version_info[:2] < (3, 10):
      self.skipTest("this interpreter is older than 3.10")
    self.assertEqual(bootstrap.choose_python(sys.executable, emitter, None), sys.executable)
    self.assertIn("Using Python", events(stream)[0]["text"])

  def test_broken_env_needs_rebuild(self):
    with tempfile.TemporaryDirectory() as tmp:
      os.makedirs(os.path.join(tmp, "python", "venv", "bin"))
      args = bootstrap.parse_args(["--data-dir", tmp, "--route", "example", "--no-uv"])
      emitter, _ = captured()
      with self.assertRaises(StageFailure) as ctx:
        bootstrap.bootstrap(args, emitter)
      self.assertEqual(ctx.exception.code, "env_broken")
      self.assertIn("Rebuild", ctx.exception.hint)

  def test_progress_from_pip_lines(self):
    emitter, stream = captured()
    progress = bootstrap.InstallProgress(emitter, 0.2, 0.9, 4)
    for line in ("Collecting torch", "noise", "Downloading torch.whl", "Installing collected packages: torch"):
      progress(line)
    fractions = [e["fraction"] for e in events(stream)]
    self.assertEqual(len(fractions), 3)
    self.assertEqual(fractions, sorted(fractions))
    self.assertLess(fractions[-1], 0.9)


if __name__ == "__main__":
  unittest.main()
