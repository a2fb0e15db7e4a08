"""The LiteRT-LM Python API runner (python-env/runners/litert_lm_chat.py)
against a fake `litert_lm` with the real package's names and call shapes:
the engine is created on the CPU backend with the context, greedy is
TOP_P k = 1, raw uses the Session API without templating, the max-tokens cap
cancels the generation, one JSON object is printed, and a missing package
or a failing engine is one clear error."""
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

from tests.helpers import REPO

RUNNERS = os.path.join(REPO, "python-env", "runners")
FAKE = os.path.join(REPO, "test", "fixtures", "fake_litert_lm")
if RUNNERS not in sys.path:
  sys.path.insert(0, RUNNERS)

import litert_lm_chat  # noqa: E402


class LiteRtLmChatTest(unittest.TestCase):
  def setUp(self):
    self.dir = tempfile.mkdtemp()
    self.bundle = os.path.join(self.dir, "model.litertlm")
    open(self.bundle, "wb").write(b"LITERTLM")
    self.record = os.path.join(self.dir, "calls.json")
    os.environ["FAKE_LITERT_LM_RECORD"] = self.record
    self.addCleanup(os.environ.pop, "FAKE_LITERT_LM_RECORD", None)

  def run_runner(self, args, fake=True):
    saved = list(sys.path)
    sys.modules.pop("litert_lm", None)
    if fake:
      sys.path.insert(0, FAKE)
    else:
      sys.path[:] = [p for p in sys.path if "fake_litert_lm" not in p]
    out = io.StringIO()
    try:
      with contextlib.redirect_stdout(out):
        code = litert_lm_chat.main(args)
    finally:
      sys.path[:] = saved
      sys.modules.pop("litert_lm", None)
    return code, json.loads(out.getvalue())

  def calls(self):
    return json.load(open(self.record))

  def test_conversation_greedy_with_cap(self):
    code, result = self.run_runner(["--bundle", self.bundle, "--prompt", "Capital of France?", "--greedy", "--max-tokens", "7", "--context", "1024"])
    self.assertEqual(code, 0)
    self.assertEqual(result["text"], "Paris is the capital.Paris is")
    self.assertEqual(result["stopReason"], "max-tokens")
    self.assertEqual(result["tokens"], 7)
    calls = self.calls()
    self.assertEqual(calls[0], {"call": "Engine", "model_path": self.bundle, "backend": "cpu", "max_num_tokens": 1024})
    self.assertEqual(calls[1]["sampler"], {"top_k": 1, "top_p": 1.0, "temperature": 1.0, "seed": None})
    self.assertEqual(calls[-1], {"call": "cancel_process"})

  def test_raw_uses_the_session_api_without_templating(self):
    code, result = self.run_runner(["--bundle", self.bundle, "--prompt", "<|im_start|>user", "--raw", "--max-tokens", "3"])
    self.assertEqual(code, 0)
    self.assertEqual(result["text"], "Paris is the")
    calls = self.calls()
    self.assertIn({"call": "create_session", "apply_prompt_template": False}, calls)
    self.assertIn({"call": "run_prefill", "texts": ["<|im_start|>user"]}, calls)

  def test_clear_errors(self):
    code, result = self.run_runner(["--bundle", os.path.join(self.dir, "missing.litertlm"), "--prompt", "x"])
    self.assertEqual(code, 1)
    self.assertEqual(result["error"]["code"], "engine_error")
    self.assertIn("missing.litertlm", result["error"]["message"])
    code, result = self.run_runner(["--bundle", self.bundle, "--prompt", "x"], fake=False)
    self.assertEqual(code, 1)
    self.assertEqual(result["error"]["code"], "missing_package")
    self.assertIn("pip install litert-lm", result["error"]["hint"])


if __name__ == "__main__":
  unittest.main()
