"""Reference answers of the source model in PyTorch, for the behaviour check.

A sub-step of the evaluate stage (main/stages/evaluate.ts renders each prompt
with the model's own chat template, tokenizes it, writes the parameter file
and runs this script with the stage Python). For each prompt it generates the
greedy continuation the source model gives, stopping on the model's stop ids,
and writes the logits of every generated position (the last prompt token's,
then each generated token's but the last) as raw little-endian float32, so
the stage can compare the .tflite against them position by position.

Backends, in order:
  - transformers (AutoModelForCausalLM, float32) when it is installed;
  - else the project's own plain-PyTorch forward (python-env/reference/plain_lm.py)
    for the families the native converter supports (Qwen2/2.5, Qwen3, Llama 3),
    so it runs on Debian's python3-torch without any PyPI package.

Parameters (JSON file given with --params):
  modelDir        the HF model folder
  prompts         list of token-id lists (the rendered prompts)
  maxNewTokens    cap on generated tokens per prompt
  stopIds         token ids that end an answer (EOS ids and the end-of-turn token)
  outDir          where logits-<i>.f32 (and window-<i>.f32) are written
  backend         optional: "transformers" or "plain" to force one
  windows         optional: token-id lists (corpus windows, main/core/corpus). Each is
                  run in ONE forward pass over the whole window (causal mask, positions
                  0..n-1, no cache), and the logits of positions 0..n-2 (each predicting
                  the next token of the window) are written to window-<i>.f32, raw
                  little-endian float32 [n-1, vocab]. Result: windows [{logitsPath, rows, vocab}].
  dtype           optional, plain backend only: "float64" (default) or "float32"
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from typing import Any, Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reference"))

from protocol import StageFailure, out, read_params, redirect_foreign_stdout, run_stage  # noqa: E402


def _require_torch():
  if importlib.util.find_spec("torch") is None:
    raise StageFailure("missing_package", "PyTorch (torch) is not installed in the stage Python, so the source model cannot be run.", "Install torch in the environment (Debian: apt install python3-torch), or set up the environment on the Environment page.")
  # The workbench finds torch without importing it (main/core/env/python.ts): a torch that is
  # installed but does not import is said here, in one sentence, not as a traceback.
  try:
    import torch  # noqa: F401
  except Exception as exc:  # ImportError, OSError from a missing shared library, ...
    raise StageFailure("missing_package", f"PyTorch (torch) is installed in the stage Python ({sys.executable}) but does not import: {type(exc).__name__}: {exc}", "Reinstall torch in that environment (Debian: apt install --reinstall python3-torch), or choose another Python in Settings.")
  return torch


class _TransformersBackend:
  name = "transformers"

  def __init__(self, model_dir: str):
    import torch
    from transformers import AutoModelForCausalLM

    self.torch = torch
    self.model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)
    self.model.eval()

  def greedy(self, prompt: List[int], max_new: int, stop_ids):
    torch = self.torch
    tokens, rows = [], []
    with torch.no_grad():
      ids = torch.tensor([prompt])
      past = None
      for _ in range(max_new):
        outp = self.model(input_ids=ids, past_key_values=past, use_cache=True)
        past = outp.past_key_values
        row = outp.logits[0, -1].to(torch.float32)
        token = int(torch.argmax(row))
        rows.append(row)
        tokens.append(token)
        if token in stop_ids:
          break
        ids = torch.tensor([[token]])
    return tokens, rows

  def window_logits(self, ids: List[int]):
    torch = self.torch
    with torch.no_grad():
      return self.model(input_ids=torch.tensor([ids])).logits[0, :-1].to(torch.float32)


class _PlainBackend:
  name = "plain_lm"

  def __init__(self, model_dir: str, dtype: str = "float64"):
    import torch
    from plain_lm import PlainLM

    self.torch = torch
    try:
      self.lm = PlainLM(model_dir, dtype=torch.float32 if dtype == "float32" else torch.float64)
    except ValueError as error:
      raise StageFailure("unsupported_model", f"{error}; install transformers in the stage Python for other architectures.")

  def greedy(self, prompt: List[int], max_new: int, stop_ids):
    tokens, logits = self.lm.greedy(prompt, max_new, stop_ids=tuple(stop_ids))
    return tokens, [logits[i] for i in range(len(tokens))]

  def window_logits(self, ids: List[int]):
    return self.lm.logits(list(ids))[:-1].to(self.torch.float32)


def run(params: Dict[str, Any]) -> None:
  torch = _require_torch()
  model_dir = params["modelDir"]
  prompts: List[List[int]] = params["prompts"]
  max_new = int(params.get("maxNewTokens", 64))
  stop_ids = [int(i) for i in params.get("stopIds", [])]
  out_dir = params["outDir"]
  os.makedirs(out_dir, exist_ok=True)
  wanted = params.get("backend")
  has_transformers = importlib.util.find_spec("transformers") is not None
  started = time.time()
  out.progress(0.0, "load", "Loading the source model")
  with redirect_foreign_stdout():
    if wanted == "transformers" or (wanted is None and has_transformers):
      backend = _TransformersBackend(model_dir)
    else:
      backend = _PlainBackend(model_dir, str(params.get("dtype", "float64")))
  out.log("info", f"Reference backend: {backend.name} (torch {torch.__version__}).")
  answers = []
  for i, prompt in enumerate(prompts):
    out.progress(i / max(1, len(prompts)), "generate", f"Prompt {i + 1} of {len(prompts)}")
    with redirect_foreign_stdout():
      tokens, rows = backend.greedy(list(prompt), max_new, stop_ids)
    path = os.path.join(out_dir, f"logits-{i}.f32")
    with open(path, "wb") as f:
      if rows:
        f.write(torch.stack(rows).to(torch.float32).contiguous().numpy().tobytes())
    stopped = bool(tokens) and tokens[-1] in stop_ids
    answers.append({"tokens": tokens, "stopped": stopped, "stopId": tokens[-1] if stopped else None, "logitsPath": path, "vocab": int(rows[0].shape[-1]) if rows else 0})
  out.metric("reference.seconds", time.time() - started, "s")
  windows_out = []
  windows: List[List[int]] = params.get("windows") or []
  window_started = time.time()
  for i, ids in enumerate(windows):
    out.progress(i / max(1, len(windows)), "corpus", f"Corpus window {i + 1} of {len(windows)} ({len(ids)} tokens, one forward pass)")
    if len(ids) < 2:
      raise StageFailure("bad_params", f"Corpus window {i} has {len(ids)} token(s); a window needs at least 2.")
    with redirect_foreign_stdout():
      rows = backend.window_logits(list(ids))
    path = os.path.join(out_dir, f"window-{i}.f32")
    with open(path, "wb") as f:
      f.write(rows.contiguous().numpy().tobytes())
    windows_out.append({"logitsPath": path, "rows": int(rows.shape[0]), "vocab": int(rows.shape[-1])})
  window_seconds = time.time() - window_started
  if windows:
    out.metric("reference.window_seconds", window_seconds, "s")
  out.progress(1.0, "done")
  out.result({"backend": backend.name, "answers": answers, "windows": windows_out, "windowSeconds": window_seconds})


def main(argv=None) -> int:
  return run_stage(lambda: run(read_params(argv)))


if __name__ == "__main__":
  sys.exit(main())
