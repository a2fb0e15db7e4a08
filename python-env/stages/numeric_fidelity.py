"""Numeric fidelity: does the converted .tflite compute what the HF model computes?

A sub-step of the verify stage (main/stages/verify.ts writes the parameter
file and runs this script with the stage Python). For a few prompts rendered
with the model's own chat template it

1. generates a short greedy continuation with the Hugging Face model
   (transformers, float32), the reference;
2. teacher-forces the same tokens through the .tflite (ai-edge-litert
   Interpreter: the prefill_<N> signature for the prompt, then decode one
   token at a time, carrying the KV cache) and through the HF model;
3. compares the next-token distributions position by position: top-1
   agreement, KL(HF || tflite), the largest absolute logit difference;
4. lets the .tflite generate greedily on its own and prints both
   generations side by side.

Speaks the stage protocol through protocol.py (JSON lines on stdout). Missing
packages become one `missing_package` error naming the package and the fix
(run the environment bootstrap), never a bare traceback.

Parameters (JSON file given with --params):
  modelDir        the HF model folder (merged model: weights, tokenizer, chat template)
  tflitePath      the .tflite (the verify stage extracts it from a .litertlm)
  outDir          where numeric-fidelity.json is written
  prompts         optional list of conversations ([{role, content}, ...])
  maxNewTokens    tokens generated and compared per prompt (default 24)
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from protocol import StageFailure, out, read_params, redirect_foreign_stdout, run_stage  # noqa: E402

BOOTSTRAP_HINT = (
    "Set up the Python environment (Environment page in the app, or the bootstrap in python-env/bootstrap.py), "
    "which installs transformers, torch and ai-edge-litert; or choose a Python that has them in Settings."
)

# (import name, PyPI name) the numeric check needs, in the order they are reported.
REQUIRED = [("numpy", "numpy"), ("torch", "torch"), ("transformers", "transformers"), ("ai_edge_litert", "ai-edge-litert")]

DEFAULT_PROMPTS: List[List[Dict[str, str]]] = [
    [{"role": "user", "content": "Will it rain in Lyon tomorrow?"}],
    [{"role": "system", "content": "You answer in one short sentence."}, {"role": "user", "content": "What is the capital of Australia?"}],
    [
        {"role": "user", "content": "Name a prime number."},
        {"role": "assistant", "content": "7 is a prime number."},
        {"role": "user", "content": "And one larger than 100?"},
    ],
]


def missing_packages(required: Sequence[Tuple[str, str]] = REQUIRED) -> List[str]:
  """PyPI names of the required packages that cannot be imported (checked without importing them)."""
  return [pypi for name, pypi in required if importlib.util.find_spec(name) is None]


def require_packages(required: Sequence[Tuple[str, str]] = REQUIRED) -> None:
  missing = missing_packages(required)
  if missing:
    raise StageFailure(
        "missing_package",
        f"The numeric check needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed in {sys.executable}.",
        BOOTSTRAP_HINT,
    )


# ---------------------------------------------------------------------------
# Metric math (numpy only; unit-tested without any model)


def log_softmax(logits):
  import numpy as np

  x = np.asarray(logits, dtype=np.float64)
  shifted = x - x.max(axis=-1, keepdims=True)
  return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def compare_logits(reference, candidate) -> Dict[str, Any]:
  """Per-position comparison of two [positions, vocab] logit arrays.

  Returns top-1 agreement (fraction of positions whose argmax matches), the
  KL divergence KL(reference || candidate) per position and its mean, and the
  largest absolute logit difference. Vocabularies are compared on their
  common prefix (HF pads the embedding table beyond the tokenizer's size).
  """
  import numpy as np

  ref = np.asarray(reference, dtype=np.float64)
  cand = np.asarray(candidate, dtype=np.float64)
  if ref.ndim != 2 or cand.ndim != 2 or ref.shape[0] != cand.shape[0]:
    raise ValueError(f"expected two [positions, vocab] arrays with the same positions, got {ref.shape} and {cand.shape}")
  vocab = min(ref.shape[1], cand.shape[1])
  ref = ref[:, :vocab]
  cand = cand[:, :vocab]
  log_p = log_softmax(ref)
  log_q = log_softmax(cand)
  kl = (np.exp(log_p) * (log_p - log_q)).sum(axis=-1)
  agree = ref.argmax(axis=-1) == cand.argmax(axis=-1)
  return {
      "positions": int(ref.shape[0]),
      "top1_agreement": float(agree.mean()) if agree.size else 1.0,
      "kl_per_position": [float(v) for v in kl],
      "kl_mean": float(kl.mean()) if kl.size else 0.0,
      "max_abs_logit_diff": float(np.abs(ref - cand).max()) if ref.size else 0.0,
      "first_disagreement": int(np.argmin(agree)) if not agree.all() else None,
  }


def aggregate(per_prompt: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
  """Position-weighted totals over prompts."""
  positions = sum(p["positions"] for p in per_prompt)
  if positions == 0:
    return {"positions": 0, "top1_agreement": 1.0, "kl_mean": 0.0, "max_abs_logit_diff": 0.0}
  return {
      "positions": positions,
      "top1_agreement": sum(p["top1_agreement"] * p["positions"] for p in per_prompt) / positions,
      "kl_mean": sum(p["kl_mean"] * p["positions"] for p in per_prompt) / positions,
      "max_abs_logit_diff": max(p["max_abs_logit_diff"] for p in per_prompt),
  }


# ---------------------------------------------------------------------------
# The .tflite side: AI Edge Torch / litert-torch LLM exports


class TfliteLm:
  """Runs an exported LLM through its prefill_<N> and decode signatures, carrying the KV cache."""

  def __init__(self, path: str):
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    self.np = np
    self.interpreter = Interpreter(model_path=path)
    signatures = self.interpreter.get_signature_list()
    self.prefill_keys = sorted(
        (int(k.split("_", 1)[1]), k) for k in signatures if k.startswith("prefill_") and k.split("_", 1)[1].isdigit()
    )
    if "decode" not in signatures or not self.prefill_keys:
      raise StageFailure(
          "unsupported_tflite",
          f"{os.path.basename(path)} has signatures {sorted(signatures)}; the numeric check needs prefill_<N> and decode (an AI Edge Torch LLM export).",
      )
    self.decode = self.interpreter.get_signature_runner("decode")
    self.kv_specs = {
        name: (detail["shape"], detail["dtype"])
        for name, detail in self.decode.get_input_details().items()
        if name.startswith("kv_cache_")
    }

  def fresh_cache(self) -> Dict[str, Any]:
    return {name: self.np.zeros(shape, dtype=dtype) for name, (shape, dtype) in self.kv_specs.items()}

  @staticmethod
  def _split(outputs: Dict[str, Any]) -> Tuple[Dict[str, Any], Optional[Any]]:
    cache = {name: value for name, value in outputs.items() if name.startswith("kv_cache_")}
    logits = outputs.get("logits")
    return cache, logits

  def prefill(self, tokens: Sequence[int]) -> Dict[str, Any]:
    """Fills the cache with `tokens` (positions 0..len-1) using the smallest prefill signature that fits."""
    np = self.np
    fitting = [k for n, k in self.prefill_keys if n >= len(tokens)]
    if not fitting:
      raise StageFailure(
          "prompt_too_long",
          f"The prompt has {len(tokens)} tokens, more than the largest prefill signature ({self.prefill_keys[-1][0]}).",
      )
    key = fitting[0]
    length = int(key.split("_", 1)[1])
    runner = self.interpreter.get_signature_runner(key)
    padded = np.zeros((1, length), dtype=np.int32)
    padded[0, : len(tokens)] = tokens
    # Padding positions write past the prompt; decode overwrites them position by position before they are attended to.
    cache, _ = self._split(runner(tokens=padded, input_pos=np.arange(length, dtype=np.int32), **self.fresh_cache()))
    return cache

  def step(self, cache: Dict[str, Any], token: int, position: int) -> Tuple[Dict[str, Any], Any]:
    np = self.np
    outputs = self.decode(tokens=np.array([[token]], dtype=np.int32), input_pos=np.array([position], dtype=np.int32), **cache)
    new_cache, logits = self._split(outputs)
    if logits is None:
      raise StageFailure("unsupported_tflite", "The decode signature returns no 'logits' output.")
    return new_cache, np.asarray(logits, dtype=np.float64).reshape(-1)

  def teacher_forced(self, prompt: Sequence[int], continuation: Sequence[int]):
    """Logits predicting continuation[0..], given the prompt and the true previous tokens."""
    cache = self.prefill(prompt[:-1])
    rows = []
    token, position = prompt[-1], len(prompt) - 1
    for nxt in list(continuation):
      cache, logits = self.step(cache, token, position)
      rows.append(logits)
      token, position = nxt, position + 1
    return self.np.stack(rows)

  def greedy(self, prompt: Sequence[int], max_new_tokens: int, stop_ids: Sequence[int]) -> List[int]:
    cache = self.prefill(prompt[:-1])
    token, position, generated = prompt[-1], len(prompt) - 1, []
    for _ in range(max_new_tokens):
      cache, logits = self.step(cache, token, position)
      token, position = int(logits.argmax()), position + 1
      generated.append(token)
      if token in stop_ids:
        break
    return generated


# ---------------------------------------------------------------------------


def run(params: Dict[str, Any]) -> None:
  for key in ("modelDir", "tflitePath", "outDir"):
    if not isinstance(params.get(key), str) or not params[key]:
      raise StageFailure("bad_params", f"The parameter {key} is missing.")
  if not os.path.isdir(params["modelDir"]):
    raise StageFailure("file_not_found", f"The model folder {params['modelDir']} does not exist.")
  if not os.path.isfile(params["tflitePath"]):
    raise StageFailure("file_not_found", f"The model {params['tflitePath']} does not exist.")
  require_packages()
  max_new = int(params.get("maxNewTokens") or 24)
  prompts = params.get("prompts") or DEFAULT_PROMPTS

  out.progress(0.02, "load", "Loading the Hugging Face model (float32) and the .tflite")
  with redirect_foreign_stdout():
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(params["modelDir"])
    model = AutoModelForCausalLM.from_pretrained(params["modelDir"], torch_dtype=torch.float32)
    model.eval()
    tflite = TfliteLm(params["tflitePath"])
  eos = model.generation_config.eos_token_id
  stop_ids = [eos] if isinstance(eos, int) else list(eos or [])

  per_prompt = []
  started = time.time()
  for index, messages in enumerate(prompts):
    out.progress(0.1 + 0.85 * index / len(prompts), "compare", f"Prompt {index + 1} of {len(prompts)}")
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    prompt = tokenizer(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
      generated = model.generate(
          torch.tensor([prompt]), max_new_tokens=max_new, do_sample=False, num_beams=1, pad_token_id=stop_ids[0] if stop_ids else None
      )[0, len(prompt):].tolist()
      if not generated:
        continue
      full = torch.tensor([prompt + generated])
      hf_logits = model(full).logits[0, len(prompt) - 1 : len(prompt) - 1 + len(generated)].double().numpy()
    tfl_logits = tflite.teacher_forced(prompt, generated)
    metrics = compare_logits(hf_logits, tfl_logits)
    tfl_generated = tflite.greedy(prompt, max_new, stop_ids)
    entry = {
        "messages": messages,
        **{k: v for k, v in metrics.items() if k != "kl_per_position"},
        "kl_per_position": metrics["kl_per_position"],
        "hf_generation": tokenizer.decode(generated, skip_special_tokens=True),
        "tflite_generation": tokenizer.decode(tfl_generated, skip_special_tokens=True),
        "generations_match": tfl_generated == generated,
    }
    per_prompt.append(entry)
    out.log("info", f"Prompt {index + 1}: top-1 agreement {metrics['top1_agreement']:.3f}, mean KL {metrics['kl_mean']:.4f}, max |logit diff| {metrics['max_abs_logit_diff']:.3f}")
    out.log("info", f"  HF:     {entry['hf_generation']!r}")
    out.log("info", f"  tflite: {entry['tflite_generation']!r}")

  totals = aggregate(per_prompt)
  out.metric("numeric.top1_agreement", totals["top1_agreement"])
  out.metric("numeric.kl_mean", totals["kl_mean"])
  out.metric("numeric.max_abs_logit_diff", totals["max_abs_logit_diff"])
  os.makedirs(params["outDir"], exist_ok=True)
  report_path = os.path.join(params["outDir"], "numeric-fidelity.json")
  summary = {"totals": totals, "prompts": per_prompt, "maxNewTokens": max_new, "seconds": round(time.time() - started, 1)}
  with open(report_path, "w", encoding="utf-8") as handle:
    json.dump(summary, handle, indent=2)
  out.artifact("numeric-report", report_path)
  out.progress(1.0, "done")
  out.result({"numeric": {"totals": totals, "prompts": [{k: v for k, v in p.items() if k != "kl_per_position"} for p in per_prompt]}})


def main(argv: Optional[List[str]] = None) -> int:
  return run_stage(lambda: run(read_params(argv)))


if __name__ == "__main__":
  sys.exit(main())
