"""The numeric fidelity stage: metric math on hand-checked arrays, the
missing-package error as a real child process, and (when transformers and
ai-edge-litert are installed) nothing else is faked: the model-loading parts
skip with their reason."""
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

from tests.helpers import PYTHON_ENV, captured, events
from protocol import run_stage

import numeric_fidelity as nf

HAS_NUMPY = importlib.util.find_spec("numpy") is not None
SCRIPT = os.path.join(PYTHON_ENV, "stages", "numeric_fidelity.py")


@unittest.skipUnless(HAS_NUMPY, "numpy is not installed in this Python")
class MetricTest(unittest.TestCase):

  def test_identical_logits_agree_fully(self):
    logits = [[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]
    m = nf.compare_logits(logits, logits)
    self.assertEqual(m["positions"], 2)
    self.assertEqual(m["top1_agreement"], 1.0)
    self.assertAlmostEqual(m["kl_mean"], 0.0, places=12)
    self.assertEqual(m["max_abs_logit_diff"], 0.0)
    self.assertIsNone(m["first_disagreement"])

  def test_kl_matches_a_hand_computation(self):
    # P = softmax([0, ln 3]) = (1/4, 3/4); Q = softmax([0, 0]) = (1/2, 1/2).
    m = nf.compare_logits([[0.0, math.log(3)]], [[0.0, 0.0]])
    expected = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    self.assertAlmostEqual(m["kl_mean"], expected, places=12)
    self.assertAlmostEqual(m["max_abs_logit_diff"], math.log(3), places=12)

  def test_a_constant_shift_changes_logits_but_not_the_distribution(self):
    m = nf.compare_logits([[1.0, 2.0, 4.0]], [[11.0, 12.0, 14.0]])
    self.assertAlmostEqual(m["kl_mean"], 0.0, places=12)
    self.assertEqual(m["top1_agreement"], 1.0)
    self.assertAlmostEqual(m["max_abs_logit_diff"], 10.0)

  def test_top1_agreement_counts_matching_argmax_positions(self):
    ref = [[3, 1, 0], [0, 3, 1], [1, 0, 3], [3, 0, 0]]
    cand = [[3, 1, 0], [3, 0, 1], [1, 0, 3], [0, 0, 3]]
    m = nf.compare_logits(ref, cand)
    self.assertEqual(m["top1_agreement"], 0.5)
    self.assertEqual(m["first_disagreement"], 1)
    self.assertGreater(m["kl_per_position"][1], 0)
    self.assertAlmostEqual(m["kl_per_position"][0], 0.0, places=12)

  def test_padded_vocabularies_compare_on_the_common_prefix(self):
    # HF pads the embedding table (151936) beyond the tokenizer (151665): extra columns are ignored.
    m = nf.compare_logits([[0.0, 1.0, 9.0]], [[0.0, 1.0]])
    self.assertEqual(m["top1_agreement"], 1.0)
    self.assertAlmostEqual(m["kl_mean"], 0.0, places=12)

  def test_mismatched_positions_are_refused(self):
    with self.assertRaises(ValueError):
      nf.compare_logits([[0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]])

  def test_aggregate_weights_by_positions(self):
    totals = nf.aggregate([
        {"positions": 3, "top1_agreement": 1.0, "kl_mean": 0.0, "max_abs_logit_diff": 0.5},
        {"positions": 1, "top1_agreement": 0.0, "kl_mean": 0.4, "max_abs_logit_diff": 2.0},
    ])
    self.assertEqual(totals["positions"], 4)
    self.assertAlmostEqual(totals["top1_agreement"], 0.75)
    self.assertAlmostEqual(totals["kl_mean"], 0.1)
    self.assertEqual(totals["max_abs_logit_diff"], 2.0)


class MissingPackagesTest(unittest.TestCase):

  def test_missing_packages_are_named_with_the_fix(self):
    emitter, stream = captured()
    required = [("json", "json"), ("no_such_module_xyz", "no-such-package")]
    code = run_stage(lambda: nf.require_packages(required), emitter)
    self.assertEqual(code, 1)
    [event] = events(stream)
    self.assertEqual(event["type"], "error")
    self.assertEqual(event["code"], "missing_package")
    self.assertIn("no-such-package", event["message"])
    self.assertNotIn("json,", event["message"])
    self.assertIn("bootstrap", event["hint"])

  @unittest.skipIf(not nf.missing_packages(), "every package of the numeric check is installed here")
  def test_the_script_reports_missing_packages_as_one_error_event(self):
    with tempfile.TemporaryDirectory() as tmp:
      model = os.path.join(tmp, "model")
      os.makedirs(model)
      tflite = os.path.join(tmp, "model.tflite")
      with open(tflite, "wb") as handle:
        handle.write(b"\0" * 16)
      params = os.path.join(tmp, "params.json")
      with open(params, "w", encoding="utf-8") as handle:
        json.dump({"modelDir": model, "tflitePath": tflite, "outDir": tmp}, handle)
      done = subprocess.run([sys.executable, SCRIPT, "--params", params], capture_output=True, text=True, timeout=60, check=False)
    self.assertEqual(done.returncode, 1, done.stderr)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    self.assertEqual([e["type"] for e in lines], ["error"])
    self.assertEqual(lines[0]["code"], "missing_package")
    for pypi in nf.missing_packages():
      self.assertIn(pypi, lines[0]["message"])
    self.assertNotIn("Traceback", done.stdout + done.stderr)

  def test_bad_params_are_reported_before_any_import(self):
    with tempfile.TemporaryDirectory() as tmp:
      params = os.path.join(tmp, "params.json")
      with open(params, "w", encoding="utf-8") as handle:
        json.dump({"modelDir": os.path.join(tmp, "missing"), "tflitePath": "x.tflite", "outDir": tmp}, handle)
      done = subprocess.run([sys.executable, SCRIPT, "--params", params], capture_output=True, text=True, timeout=60, check=False)
    event = json.loads(done.stdout.strip().splitlines()[-1])
    self.assertEqual((event["type"], event["code"]), ("error", "file_not_found"))


@unittest.skipIf(nf.missing_packages(), f"the model comparison needs {', '.join(nf.missing_packages())} (not installed in this Python)")
class ModelComparisonTest(unittest.TestCase):

  def test_tflite_wrapper_refuses_a_model_without_llm_signatures(self):
    # Needs a real converted .tflite; only the refusal path can run without one.
    fixture = os.path.join(os.path.dirname(os.path.dirname(PYTHON_ENV)), "shared", "fixtures", "tflite", "dummy_embedding_cpu_model.tflite")
    if not os.path.exists(fixture):
      self.skipTest("the shared tflite fixture is not beside the repository")
    with self.assertRaises(nf.StageFailure) as caught:
      nf.TfliteLm(fixture)
    self.assertEqual(caught.exception.code, "unsupported_tflite")


if __name__ == "__main__":
  unittest.main()
