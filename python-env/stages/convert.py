"""Conversion stage: Hugging Face model folder -> .tflite (or .litertlm).

Runs the official converter in-process so every phase can be reported:

* route "example": the generative example builders of AI Edge Torch 0.7.x
  (`ai_edge_torch.generative.examples.<family>.<module>.build_*`) and
  `ai_edge_torch.generative.utilities.converter.convert_to_tflite`, i.e. exactly
  what `generative/examples/<family>/convert_to_tflite.py` does, with the model
  size chosen from config.json instead of the script's default (3b for Qwen).
  LiteRT Torch keeps the same layout under `litert_torch`, which is used when
  `ai_edge_torch` is absent.
* route "export_hf": `litert_torch.generative.export_hf.export.export`, the
  HF-folder exporter of LiteRT Torch 0.10.x, which can bundle a .litertlm.

Sources followed are listed in docs/conversion.md. Parameters arrive as JSON
(`--params file`, the validated ConvertParams of main/common/stages/convert.ts).
"""

from __future__ import annotations

import dataclasses
import datetime
import errno
import glob
import hashlib
import importlib
import importlib.util
import inspect
import json
import os
import shlex
import shutil
import struct
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protocol import Emitter, StageFailure, out, read_params, redirect_foreign_stdout, run_stage  # noqa: E402

ROUTES = ("example", "export_hf")
QUANTIZATIONS = (
    "none",
    "dynamic_int8",
    "weight_only_int8",
    "fp16",
    "dynamic_int4_block32",
    "dynamic_int4_block128",
)
# converter.create_quantize_suffix() in generative/utilities/converter.py.
QUANT_SUFFIX = {
    "none": "f32",
    "dynamic_int8": "q8",
    "weight_only_int8": "q8_wo",
    "fp16": "fp16",
    "dynamic_int4_block32": "q4_block32",
    "dynamic_int4_block128": "q4_block128",
}
# Recipe names of ai_edge_quantizer.recipe that export_hf looks up by name
# (export_lib.maybe_quantize_model: recipe_lib.__dict__[name]()). fp16 and
# int4 block-128 have no recipe of that name, so they are refused up front.
EXPORT_HF_RECIPE = {
    "none": None,
    "dynamic_int8": "dynamic_wi8_afp32",
    "weight_only_int8": "weight_only_wi8_afp32",
    "dynamic_int4_block32": "dynamic_wi4b32_afp32",
}
BOOTSTRAP_HINT = (
    "Run the environment bootstrap for the {route} route (Environment page, "
    "'Set up Python environment'), then start the conversion again."
)
REQUIRED_PACKAGES = {
    # route: [(import name, PyPI name)]
    "example": [("torch", "torch"), ("safetensors", "safetensors"), ("ai_edge_quantizer", "ai-edge-quantizer")],
    "export_hf": [
        ("torch", "torch"),
        ("safetensors", "safetensors"),
        ("transformers", "transformers"),
        ("ai_edge_quantizer", "ai-edge-quantizer"),
        ("litert_torch", "litert-torch"),
    ],
}


@dataclasses.dataclass(frozen=True)
class Builder:
  """One example builder of the converter and the HF shapes it hard-codes."""

  architectures: Tuple[str, ...]
  family: str  # examples/<family>/
  module: str  # examples/<family>/<module>.py
  function: str  # the build_* function
  script: str  # the example script a user would run by hand
  size_flag: Optional[str]  # value of --model_size, when the script has one
  label: str
  # hidden_size, num_hidden_layers, intermediate_size, num_attention_heads, num_key_value_heads
  shape: Tuple[int, int, int, int, int]


# From the get_*_config() functions of each example module (AI Edge Torch
# v0.7.1, unchanged in LiteRT Torch): a builder only fits a checkpoint with
# exactly these dimensions, so the size is matched, never defaulted.
BUILDERS: Tuple[Builder, ...] = (
    Builder(("Qwen2ForCausalLM",), "qwen", "qwen", "build_0_5b_model", "convert_to_tflite", "0.5b", "Qwen2.5 0.5B", (896, 24, 4864, 14, 2)),
    Builder(("Qwen2ForCausalLM",), "qwen", "qwen", "build_1_5b_model", "convert_to_tflite", "1.5b", "Qwen2.5 1.5B", (1536, 28, 8960, 12, 2)),
    Builder(("Qwen2ForCausalLM",), "qwen", "qwen", "build_3b_model", "convert_to_tflite", "3b", "Qwen2.5 3B", (2048, 36, 11008, 16, 2)),
    Builder(("Qwen3ForCausalLM",), "qwen", "qwen3", "build_0_6b_model", "convert_v3_to_tflite", "0.6b", "Qwen3 0.6B", (1024, 28, 3072, 16, 8)),
    Builder(("Qwen3ForCausalLM",), "qwen", "qwen3", "build_1_7b_model", "convert_v3_to_tflite", "1.7b", "Qwen3 1.7B", (2048, 28, 6144, 16, 8)),
    Builder(("Qwen3ForCausalLM",), "qwen", "qwen3", "build_4b_model", "convert_v3_to_tflite", "4b", "Qwen3 4B", (2560, 36, 9728, 32, 8)),
    Builder(("LlamaForCausalLM",), "llama", "llama", "build_1b_model", "convert_to_tflite", "1b", "Llama 3.2 1B", (2048, 16, 8192, 32, 8)),
    Builder(("LlamaForCausalLM",), "llama", "llama", "build_3b_model", "convert_to_tflite", "3b", "Llama 3.2 3B", (3072, 28, 8192, 24, 8)),
    Builder(("LlamaForCausalLM",), "tiny_llama", "tiny_llama", "build_model", "convert_to_tflite", None, "TinyLlama 1.1B", (2048, 22, 5632, 32, 4)),
    Builder(("GemmaForCausalLM",), "gemma", "gemma1", "build_2b_model", "convert_gemma1_to_tflite", None, "Gemma 2B", (2048, 18, 16384, 8, 1)),
    Builder(("Gemma2ForCausalLM",), "gemma", "gemma2", "build_2b_model", "convert_gemma2_to_tflite", None, "Gemma 2 2B", (2304, 26, 9216, 8, 4)),
    Builder(("Gemma3ForCausalLM",), "gemma3", "gemma3", "build_model_270m", "convert_gemma3_to_tflite", "270m", "Gemma 3 270M", (640, 18, 2048, 4, 1)),
    Builder(("Gemma3ForCausalLM",), "gemma3", "gemma3", "build_model_1b", "convert_gemma3_to_tflite", "1b", "Gemma 3 1B", (1152, 26, 6912, 4, 1)),
    Builder(("PhiForCausalLM",), "phi", "phi2", "build_model", "convert_to_tflite", None, "Phi-2", (2560, 32, 10240, 32, 32)),
    Builder(("Phi3ForCausalLM",), "phi", "phi3", "build_model", "convert_phi3_to_tflite", None, "Phi-3.5 mini", (3072, 32, 8192, 32, 32)),
    Builder(("Phi3ForCausalLM",), "phi", "phi4", "build_model", "convert_phi4_to_tflite", None, "Phi-4 mini", (3072, 32, 8192, 24, 8)),
)


@dataclasses.dataclass
class Options:
  model_dir: str
  out_dir: str
  route: str
  kv_cache_max_len: int
  prefill_seq_lens: List[int]
  quantize: str
  output_name_prefix: Optional[str]
  lightweight_conversion: bool
  mask_as_input: bool
  transpose_kv_cache: bool


def _int_list(value: Any, name: str) -> List[int]:
  if not isinstance(value, list) or not value:
    raise StageFailure("bad_params", f"{name} must be a non-empty list of whole numbers.")
  result = []
  for item in value:
    if isinstance(item, bool) or not isinstance(item, int) or item < 1:
      raise StageFailure("bad_params", f"{name} must hold whole numbers of at least 1 (got {item!r}).")
    result.append(item)
  return result


def parse_options(raw: Dict[str, Any]) -> Options:
  """Validates the parameter object (same rules as ConvertParams in TypeScript)."""

  def get(name: str, default: Any) -> Any:
    return raw.get(name, default)

  for required in ("modelDir", "outDir"):
    if not isinstance(raw.get(required), str) or not raw[required]:
      raise StageFailure("bad_params", f"The parameter {required} is missing.")
  route = get("route", "example")
  if route not in ROUTES:
    raise StageFailure("bad_params", f"Unknown route {route!r}; expected one of {', '.join(ROUTES)}.")
  quantize = get("quantize", "dynamic_int8")
  if quantize not in QUANTIZATIONS:
    raise StageFailure("bad_params", f"Unknown quantization {quantize!r}; expected one of {', '.join(QUANTIZATIONS)}.")
  kv = get("kvCacheMaxLen", 4096)
  if isinstance(kv, bool) or not isinstance(kv, int) or kv < 16:
    raise StageFailure("bad_params", f"kvCacheMaxLen must be a whole number of at least 16 (got {kv!r}).")
  prefill = sorted(set(_int_list(get("prefillSeqLens", [8, 64, 128, 256, 512, 1024]), "prefillSeqLens")))
  if max(prefill) > kv:
    raise StageFailure(
        "bad_params",
        f"The longest prefill length ({max(prefill)}) exceeds the context length ({kv}).",
        "Lower the prefill lengths or raise the context length.",
    )
  prefix = get("outputNamePrefix", None)
  if prefix is not None and (not isinstance(prefix, str) or not prefix or os.sep in prefix or "/" in prefix):
    raise StageFailure("bad_params", "outputNamePrefix must be a plain file name prefix without folders.")
  flags = {}
  for key in ("lightweightConversion", "maskAsInput", "transposeKvCache"):
    value = get(key, False)
    if not isinstance(value, bool):
      raise StageFailure("bad_params", f"{key} must be true or false.")
    flags[key] = value
  options = Options(
      model_dir=os.path.abspath(raw["modelDir"]),
      out_dir=os.path.abspath(raw["outDir"]),
      route=route,
      kv_cache_max_len=kv,
      prefill_seq_lens=prefill,
      quantize=quantize,
      output_name_prefix=prefix,
      lightweight_conversion=flags["lightweightConversion"],
      mask_as_input=flags["maskAsInput"],
      transpose_kv_cache=flags["transposeKvCache"],
  )
  check_route_options(options)
  return options


def check_route_options(options: Options) -> None:
  """Refuses choices the chosen route cannot honour instead of ignoring them."""
  if options.route == "example":
    if options.lightweight_conversion:
      raise StageFailure(
          "unsupported_option",
          "Lightweight conversion exists only on the export_hf route.",
          "Switch the route to export_hf, or turn lightweight conversion off.",
      )
  else:
    if options.quantize not in EXPORT_HF_RECIPE:
      raise StageFailure(
          "unsupported_option",
          f"The export_hf route has no quantization recipe matching {options.quantize}.",
          "Choose none, dynamic_int8, weight_only_int8 or dynamic_int4_block32, or use the example route.",
      )
    if options.mask_as_input or options.transpose_kv_cache:
      raise StageFailure(
          "unsupported_option",
          "Mask-as-input and transposed KV cache are options of the example route only.",
          "Turn them off, or switch the route to example.",
      )


# ---------------------------------------------------------------- model folder


def read_model_config(model_dir: str) -> Dict[str, Any]:
  if not os.path.isdir(model_dir):
    raise StageFailure("model_not_found", f"The model folder {model_dir} does not exist.", "Pick the folder that holds config.json.")
  path = os.path.join(model_dir, "config.json")
  try:
    with open(path, "r", encoding="utf-8") as handle:
      config = json.load(handle)
  except FileNotFoundError as exc:
    raise StageFailure(
        "missing_config",
        f"{model_dir} has no config.json, so it is not a Hugging Face model folder.",
        "Pick the folder that holds config.json and the *.safetensors files (for a LoRA run, the merged output).",
    ) from exc
  except ValueError as exc:
    raise StageFailure("bad_config", f"config.json in {model_dir} is not valid JSON: {exc}") from exc
  if not isinstance(config, dict):
    raise StageFailure("bad_config", f"config.json in {model_dir} is not a JSON object.")
  return config


def config_shape(config: Dict[str, Any]) -> Tuple[int, int, int, int, int]:
  text = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
  heads = text.get("num_attention_heads")
  return (
      text.get("hidden_size"),
      text.get("num_hidden_layers"),
      text.get("intermediate_size"),
      heads,
      text.get("num_key_value_heads", heads),
  )


def select_builder(config: Dict[str, Any]) -> Builder:
  """Finds the example builder whose hard-coded dimensions match config.json."""
  architectures = config.get("architectures") or []
  arch = architectures[0] if architectures else config.get("model_type", "unknown")
  shape = config_shape(config)
  candidates = [b for b in BUILDERS if arch in b.architectures]
  if not candidates:
    raise StageFailure(
        "unsupported_architecture",
        f"The example route has no builder for the architecture {arch}.",
        "Supported: Qwen2/Qwen2.5, Qwen3, Llama 3.2, TinyLlama, Gemma 1/2/3, Phi-2/3/4. Try the export_hf route, which loads any causal LM that transformers can.",
    )
  for builder in candidates:
    if tuple(builder.shape) == tuple(shape):
      return builder
  known = ", ".join(f"{b.label} (hidden {b.shape[0]}, {b.shape[1]} layers)" for b in candidates)
  raise StageFailure(
      "unsupported_model_size",
      f"This {arch} model (hidden size {shape[0]}, {shape[1]} layers, intermediate {shape[2]}, {shape[3]} heads, {shape[4]} KV heads) matches no example builder.",
      f"The example builders cover: {known}. Use the export_hf route for other sizes.",
  )


def safetensors_files(model_dir: str) -> List[str]:
  return sorted(glob.glob(os.path.join(model_dir, "*.safetensors")))


def read_safetensors_header(path: str) -> Dict[str, Any]:
  """Reads only the JSON header of a safetensors file (never the weights)."""
  size = os.path.getsize(path)
  with open(path, "rb") as handle:
    head = handle.read(8)
    if len(head) < 8:
      raise StageFailure("bad_checkpoint", f"{os.path.basename(path)} is too short to be a safetensors file.")
    (length,) = struct.unpack("<Q", head)
    if length > size - 8 or length > 100 * 1024 * 1024:
      raise StageFailure("bad_checkpoint", f"{os.path.basename(path)} has a header length ({length}) beyond the file; it is truncated or not safetensors.")
    try:
      header = json.loads(handle.read(length))
    except ValueError as exc:
      raise StageFailure("bad_checkpoint", f"{os.path.basename(path)} has an unreadable header: {exc}") from exc
  if not isinstance(header, dict):
    raise StageFailure("bad_checkpoint", f"{os.path.basename(path)} has a header that is not a JSON object.")
  return header


def check_checkpoint(model_dir: str) -> Dict[str, Any]:
  """Header-only checks: weights present, no leftover LoRA tensors. Returns a summary."""
  files = safetensors_files(model_dir)
  if not files:
    raise StageFailure(
        "missing_weights",
        f"{model_dir} holds no *.safetensors files.",
        "The converter loads safetensors checkpoints: save the model with safe_serialization=True (the merge stage does).",
    )
  lora_keys: List[str] = []
  tensors = 0
  for path in files:
    header = read_safetensors_header(path)
    for name in header:
      if name == "__metadata__":
        continue
      tensors += 1
      if "lora_" in name:
        lora_keys.append(name)
  if lora_keys:
    raise StageFailure(
        "unmerged_lora",
        f"The checkpoint still holds {len(lora_keys)} LoRA tensors (e.g. {lora_keys[0]}); the converter cannot map them.",
        "Merge the adapter into the base model first (add a merge stage before conversion) and convert the merged folder.",
    )
  return {"files": [os.path.basename(p) for p in files], "tensors": tensors}


def hash_inputs(model_dir: str, emitter: Emitter, start: float, end: float) -> Dict[str, str]:
  """sha256 of every file the converter reads (config, tokenizer, weights)."""
  names = sorted(
      n for n in os.listdir(model_dir)
      if os.path.isfile(os.path.join(model_dir, n)) and (n.endswith((".json", ".safetensors", ".model", ".txt", ".jinja")))
  )
  total = sum(os.path.getsize(os.path.join(model_dir, n)) for n in names) or 1
  done = 0
  digests: Dict[str, str] = {}
  for name in names:
    digest = hashlib.sha256()
    with open(os.path.join(model_dir, name), "rb") as handle:
      while True:
        chunk = handle.read(8 * 1024 * 1024)
        if not chunk:
          break
        digest.update(chunk)
        done += len(chunk)
        emitter.progress(start + (end - start) * done / total, "hash inputs", name)
    digests[name] = digest.hexdigest()
  return digests


def estimate_output_bytes(config: Dict[str, Any], checkpoint_bytes: int, quantize: str) -> int:
  """Rough .tflite size: the checkpoint scaled by bytes per weight after quantization."""
  dtype = str(config.get("torch_dtype", "bfloat16"))
  source = 4 if dtype in ("float32", "fp32") else 2
  target = {"none": 4, "fp16": 2, "dynamic_int8": 1, "weight_only_int8": 1}.get(quantize, 0.5)
  return int(checkpoint_bytes / source * target)


def check_disk(out_dir: str, needed: int) -> None:
  os.makedirs(out_dir, exist_ok=True)
  free = shutil.disk_usage(out_dir).free
  # The converter also writes temporary files next to the output: keep a margin.
  if free < needed * 1.5:
    raise StageFailure(
        "out_of_disk",
        f"{out_dir} has {free / 2**30:.1f} GiB free; the converted model needs about {needed * 1.5 / 2**30:.1f} GiB including temporary files.",
        "Free disk space or choose an output folder on a larger disk.",
    )


# ---------------------------------------------------------------- option mapping


def output_prefix(options: Options, builder: Optional[Builder]) -> str:
  if options.output_name_prefix:
    return options.output_name_prefix
  if builder is not None:
    return builder.module if builder.size_flag is None else f"{builder.module}_{builder.size_flag.replace('.', '_')}"
  return "model"


def example_output_name(options: Options, builder: Builder) -> str:
  # convert_to_tflite(): f'{output_name_prefix}_{quant_suffix}_ekv{kv_size}{lora_suffix}.tflite'
  return f"{output_prefix(options, builder)}_{QUANT_SUFFIX[options.quantize]}_ekv{options.kv_cache_max_len}.tflite"


def example_plan(options: Options, builder: Builder, package: str = "ai_edge_torch") -> Dict[str, Any]:
  """What the example route calls, with which names and values."""
  # get_mask_cache_size_from_flags(): 0 with mask_as_input, else kv_cache_max_len.
  mask_cache_size = 0 if options.mask_as_input else options.kv_cache_max_len
  prefix = output_prefix(options, builder)
  command = [
      "python", "-m", f"{package}.generative.examples.{builder.family}.{builder.script}",
      f"--checkpoint_path={options.model_dir}",
      f"--output_path={options.out_dir}",
      f"--output_name_prefix={prefix}",
      *[f"--prefill_seq_lens={n}" for n in options.prefill_seq_lens],
      f"--kv_cache_max_len={options.kv_cache_max_len}",
      f"--quantize={options.quantize}",
      f"--mask_as_input={'true' if options.mask_as_input else 'false'}",
      f"--transpose_kv_cache={'true' if options.transpose_kv_cache else 'false'}",
  ]
  if builder.size_flag is not None:
    command.insert(3, f"--model_size={builder.size_flag}")
  return {
      "route": "example",
      "package": package,
      "builder": {
          "module": f"{package}.generative.examples.{builder.family}.{builder.module}",
          "function": builder.function,
          "label": builder.label,
          "kwargs": {"checkpoint_path": options.model_dir, "custom_loader": None, "mask_cache_size": mask_cache_size},
      },
      "convert": {
          "module": f"{package}.generative.utilities.converter",
          "function": "convert_to_tflite",
          "kwargs": {
              "output_path": options.out_dir,
              "output_name_prefix": prefix,
              "prefill_seq_len": list(options.prefill_seq_lens),
              "kv_cache_max_len": options.kv_cache_max_len,
              "quantize": options.quantize,
          },
          "export_config": {
              "mask_as_input": options.mask_as_input,
              "kvcache_layout": "transposed" if options.transpose_kv_cache else "default",
              "decode_batch_size": 1,
          },
      },
      "output": os.path.join(options.out_dir, example_output_name(options, builder)),
      "signatures": [f"prefill_{n}" for n in options.prefill_seq_lens] + ["decode"],
      "equivalentCommand": shlex.join(command),
  }


def export_hf_plan(options: Options) -> Dict[str, Any]:
  """What the export_hf route calls: litert_torch.generative.export_hf.export.export(**kwargs)."""
  kwargs: Dict[str, Any] = {
      "model": options.model_dir,
      "output_dir": options.out_dir,
      "prefill_lengths": list(options.prefill_seq_lens),
      "cache_length": options.kv_cache_max_len,
      "quantization_recipe": EXPORT_HF_RECIPE[options.quantize],
      "bundle_litert_lm": True,
      "trust_remote_code": False,
  }
  if options.lightweight_conversion:
    kwargs["experimental_lightweight_conversion"] = True
  command = ["python", "-m", "litert_torch.generative.export_hf", f"--model={options.model_dir}", f"--output_dir={options.out_dir}"]
  command.append("--prefill_lengths=[" + ",".join(str(n) for n in options.prefill_seq_lens) + "]")
  command.append(f"--cache_length={options.kv_cache_max_len}")
  if kwargs["quantization_recipe"] is None:
    command.append("--quantization_recipe=None")
  else:
    command.append(f"--quantization_recipe={kwargs['quantization_recipe']}")
  command.append("--bundle_litert_lm=True")
  if options.lightweight_conversion:
    command.append("--experimental_lightweight_conversion=True")
  return {
      "route": "export_hf",
      "package": "litert_torch",
      "export": {"module": "litert_torch.generative.export_hf.export", "function": "export", "kwargs": kwargs},
      "signatures": [f"prefill_{n}" for n in options.prefill_seq_lens] + ["decode"],
      "equivalentCommand": shlex.join(command),
  }


def make_plan(options: Options, config: Dict[str, Any], package: str = "ai_edge_torch") -> Dict[str, Any]:
  if options.route == "example":
    return example_plan(options, select_builder(config), package)
  return export_hf_plan(options)


# ---------------------------------------------------------------- environment


def import_or_fail(name: str, pypi: str, route: str) -> Any:
  try:
    return importlib.import_module(name)
  except ImportError as exc:
    missing = getattr(exc, "name", None) or name
    raise StageFailure(
        "missing_package",
        f"The Python package {pypi} is not installed in {sys.executable} (import of {missing} failed).",
        BOOTSTRAP_HINT.format(route=route),
    ) from exc


def require_installed(name: str, pypi: str, route: str) -> None:
  """Presence check without importing (torch alone takes seconds to import)."""
  if importlib.util.find_spec(name) is None:
    raise StageFailure(
        "missing_package",
        f"The Python package {pypi} is not installed in {sys.executable}.",
        BOOTSTRAP_HINT.format(route=route),
    )


def example_package() -> str:
  """ai_edge_torch (0.7.x) when installed, else litert_torch (same module layout)."""
  for name in ("ai_edge_torch", "litert_torch"):
    if importlib.util.find_spec(name) is not None:
      return name
  raise StageFailure(
      "missing_package",
      f"Neither ai-edge-torch nor litert-torch is installed in {sys.executable}.",
      BOOTSTRAP_HINT.format(route="example"),
  )


def package_versions() -> Dict[str, Optional[str]]:
  try:
    from importlib import metadata
  except ImportError:  # pragma: no cover - Python < 3.8
    return {}
  names = [
      "ai-edge-torch", "ai-edge-torch-nightly", "litert-torch", "litert-torch-nightly", "torch", "ai-edge-quantizer",
      "ai-edge-litert", "ai-edge-tensorflow", "litert-converter", "litert-lm-builder", "transformers", "safetensors", "numpy",
  ]
  versions: Dict[str, Optional[str]] = {}
  for name in names:
    try:
      versions[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
      continue
  return versions


# ---------------------------------------------------------------- phases


class PhaseReporter:
  """Observes the converter's own calls (never changes them) to report phases.

  Each hook wraps a function of the converter or torch so the stage knows when
  loading, tracing, lowering, quantization and serialization start; a hook whose
  target does not exist in the installed version is simply skipped.
  """

  def __init__(self, emitter: Emitter, signatures: int):
    self.emitter = emitter
    self.signatures = max(1, signatures)
    self.traced = 0
    self._restore: List[Callable[[], None]] = []
    self.phase_seconds: Dict[str, float] = {}
    self._current: Optional[Tuple[str, float]] = None

  def enter(self, phase: str, fraction: float, message: Optional[str] = None) -> None:
    now = time.monotonic()
    if self._current is not None:
      name, since = self._current
      self.phase_seconds[name] = self.phase_seconds.get(name, 0.0) + now - since
    self._current = (phase, now)
    self.emitter.progress(fraction, phase, message)

  def finish(self, message: Optional[str] = None) -> None:
    self.enter("done", 1.0, message)
    self._current = None

  def hook(self, owner: Any, attr: str, before: Callable[[], None]) -> None:
    original = getattr(owner, attr, None) if owner is not None else None
    if original is None or not callable(original):
      return

    def wrapper(*args, **kwargs):
      before()
      return original(*args, **kwargs)

    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(owner, attr, wrapper)
    self._restore.append(lambda: setattr(owner, attr, original))

  def on_trace(self) -> None:
    self.traced += 1
    fraction = 0.30 + 0.30 * min(self.traced, self.signatures) / self.signatures
    self.enter("build/trace", fraction, f"torch.export of signature {min(self.traced, self.signatures)} of {self.signatures}")

  def install_common(self) -> None:
    # The converter imported torch already; importing it here would only cost time.
    if "torch" in sys.modules:
      self.hook(getattr(sys.modules["torch"], "export", None), "export", self.on_trace)
    try:
      from ai_edge_quantizer import quantizer as aeq  # noqa: WPS433
      self.hook(getattr(aeq, "Quantizer", None), "quantize", lambda: self.enter("quantize", 0.80, "ai-edge-quantizer"))
    except ImportError:
      pass

  def restore(self) -> None:
    while self._restore:
      self._restore.pop()()


def _optional_module(name: str) -> Any:
  try:
    return importlib.import_module(name)
  except ImportError:
    return None


# ---------------------------------------------------------------- routes


def run_example(options: Options, plan: Dict[str, Any], emitter: Emitter, reporter: PhaseReporter) -> Dict[str, Any]:
  package = plan["package"]
  converter = import_or_fail(plan["convert"]["module"], "ai-edge-torch", "example")
  builders = import_or_fail(plan["builder"]["module"], "ai-edge-torch", "example")
  export_config_lib = import_or_fail(f"{package}.generative.utilities.export_config", "ai-edge-torch", "example")
  kv_utils = import_or_fail(f"{package}.generative.layers.kv_cache", "ai-edge-torch", "example")
  build = getattr(builders, plan["builder"]["function"], None)
  if build is None:
    raise StageFailure(
        "converter_api_mismatch",
        f"{plan['builder']['module']} has no {plan['builder']['function']} in the installed version.",
        BOOTSTRAP_HINT.format(route="example"),
    )
  conversion = _optional_module(f"{package}._convert.conversion")
  lowertools = _optional_module(f"{package}.lowertools")
  model_module = _optional_module(f"{package}.model")
  reporter.install_common()
  reporter.hook(lowertools, "exported_programs_to_tflite", lambda: reporter.enter("lower", 0.62, "ExportedProgram -> TFLite flatbuffer"))
  if conversion is not None:
    reporter.hook(getattr(conversion, "lowertools", None), "exported_programs_to_tflite", lambda: reporter.enter("lower", 0.62, "ExportedProgram -> TFLite flatbuffer"))
  for cls_name in ("TfLiteModel", "LiteRTModel"):
    reporter.hook(getattr(model_module, cls_name, None), "export", lambda: reporter.enter("serialize", 0.92, "writing the .tflite file"))

  reporter.enter("load weights", 0.12, f"{plan['builder']['label']}: building the model and loading {options.model_dir}")
  model = build(**plan["builder"]["kwargs"])
  reporter.enter("build/trace", 0.30, "adding prefill and decode signatures")
  export_config = export_config_lib.ExportConfig()
  export_config.mask_as_input = options.mask_as_input
  if options.transpose_kv_cache:
    export_config.kvcache_layout = kv_utils.KV_LAYOUT_TRANSPOSED
  kwargs = dict(plan["convert"]["kwargs"])
  output = converter.convert_to_tflite(model, export_config=export_config, **kwargs)
  return {"output": output or plan["output"], "kind": "tflite"}


def run_export_hf(options: Options, plan: Dict[str, Any], emitter: Emitter, reporter: PhaseReporter) -> Dict[str, Any]:
  export_module = import_or_fail(plan["export"]["module"], "litert-torch", "export_hf")
  export_fn = getattr(export_module, "export", None)
  if export_fn is None:
    raise StageFailure("converter_api_mismatch", "litert_torch.generative.export_hf.export has no export() in the installed version.", BOOTSTRAP_HINT.format(route="export_hf"))
  kwargs = dict(plan["export"]["kwargs"])
  accepted = inspect.signature(export_fn).parameters
  takes_any = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in accepted.values())
  if options.lightweight_conversion and "experimental_lightweight_conversion" not in accepted:
    raise StageFailure(
        "unsupported_option",
        "The installed litert-torch has no lightweight conversion (experimental_lightweight_conversion).",
        "Turn lightweight conversion off, or rebuild the environment with the pinned litert-torch.",
    )
  if not takes_any:
    unknown = [k for k in kwargs if k not in accepted]
    if unknown:
      raise StageFailure(
          "converter_api_mismatch",
          f"The installed litert-torch export() does not accept {', '.join(unknown)}.",
          BOOTSTRAP_HINT.format(route="export_hf"),
      )
  export_lib = _optional_module("litert_torch.generative.export_hf.core.export_lib")
  builder_lib = _optional_module("litert_torch.generative.export_hf.core.litert_lm_builder")
  reporter.install_common()
  reporter.hook(export_lib, "load_model", lambda: reporter.enter("load weights", 0.12, "transformers: loading the model folder"))
  reporter.hook(export_lib, "export_text_prefill_decode_model", lambda: reporter.enter("build/trace", 0.30, "prefill and decode signatures"))
  reporter.hook(export_lib, "maybe_quantize_model", lambda: reporter.enter("quantize", 0.80, str(kwargs.get("quantization_recipe"))))
  reporter.hook(export_lib, "export_tokenizer", lambda: reporter.enter("serialize", 0.88, "tokenizer"))
  reporter.hook(builder_lib, "package_model", lambda: reporter.enter("serialize", 0.92, "packaging the .litertlm bundle"))
  started = time.time()
  reporter.enter("load weights", 0.10, "starting litert_torch export_hf")
  export_fn(**kwargs)
  produced = [
      p for p in glob.glob(os.path.join(options.out_dir, "**", "*.litertlm"), recursive=True)
      if os.path.getmtime(p) >= started - 1
  ]
  if not produced:
    raise StageFailure("no_output", f"export_hf finished but wrote no .litertlm under {options.out_dir}.", "See the stage log for the converter's messages.")
  output = max(produced, key=os.path.getmtime)
  if options.output_name_prefix:
    target = os.path.join(options.out_dir, f"{options.output_name_prefix}.litertlm")
    os.replace(output, target)
    output = target
  return {"output": output, "kind": "litertlm"}


def read_signatures(path: str) -> Optional[List[str]]:
  """Signature names from the written file when ai-edge-litert is present."""
  if not path.endswith(".tflite"):
    return None
  interpreter_mod = _optional_module("ai_edge_litert.interpreter")
  if interpreter_mod is None:
    return None
  try:
    interpreter = interpreter_mod.Interpreter(model_path=path)
    return sorted(interpreter.get_signature_list().keys())
  except Exception:  # pylint: disable=broad-except
    return None


# ---------------------------------------------------------------- errors


def translate_error(exc: BaseException, route: str = "example") -> Optional[StageFailure]:
  """Turns a converter exception into an error event with a hint, when recognised."""
  text = f"{type(exc).__name__}: {exc}"
  lower = text.lower()
  if isinstance(exc, MemoryError) or "out of memory" in lower or "cannot allocate memory" in lower:
    return StageFailure(
        "out_of_memory",
        "The conversion ran out of memory.",
        "Lower the context length (kv cache), use fewer prefill lengths, try lightweight conversion on export_hf, or use a host with more RAM (the memory estimate shows what this choice needs).",
    )
  if isinstance(exc, OSError) and getattr(exc, "errno", None) in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)) or "no space left on device" in lower:
    return StageFailure("out_of_disk", "The disk filled up while the converter was writing.", "Free disk space or choose an output folder on a larger disk, then run again.")
  if isinstance(exc, ImportError):
    missing = getattr(exc, "name", None) or str(exc)
    return StageFailure("missing_package", f"A Python package the converter needs is missing: {missing}.", BOOTSTRAP_HINT.format(route=route))
  if "lora_" in text and ("remaining tensor" in lower or "unexpected key" in lower or "failed to map" in lower):
    return StageFailure(
        "unmerged_lora",
        "The checkpoint still holds LoRA tensors the converter cannot map.",
        "Merge the adapter into the base model first and convert the merged folder.",
    )
  if "failed to map all tensor" in lower or "size mismatch" in lower or ("missing key" in lower and "state_dict" in lower):
    return StageFailure(
        "checkpoint_mismatch",
        "The checkpoint's tensors do not match the converter's model definition.",
        "Check that the model folder is the architecture and size shown in the intake step; a partially saved or differently sized checkpoint cannot be converted.",
    )
  if "does not recognize this architecture" in lower or "unrecognized configuration class" in lower or "model type" in lower and "not supported" in lower:
    return StageFailure("unsupported_architecture", "The converter does not support this model architecture.", "Check the supported architectures in the intake step.")
  if "invalid quantization recipe" in lower:
    return StageFailure("unsupported_option", "The installed quantizer does not know the requested recipe.", "Pick another quantization, or rebuild the environment with the pinned packages.")
  return None


# ---------------------------------------------------------------- main


def write_sidecar(path: str, data: Dict[str, Any]) -> None:
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as handle:
    json.dump(data, handle, indent=2, sort_keys=True)
    handle.write("\n")
  os.replace(tmp, path)


def convert(raw: Dict[str, Any], emitter: Emitter = out) -> Dict[str, Any]:
  options = parse_options(raw)
  emitter.progress(0.0, "check inputs", options.model_dir)
  config = read_model_config(options.model_dir)
  checkpoint = check_checkpoint(options.model_dir)
  # The environment is checked before anything slow, so a missing package fails at once.
  for module, pypi in REQUIRED_PACKAGES[options.route]:
    require_installed(module, pypi, options.route)
  package = example_package() if options.route == "example" else "litert_torch"
  plan = make_plan(options, config, package)
  emitter.log("info", f"Equivalent command: {plan['equivalentCommand']}")
  weights_bytes = sum(os.path.getsize(os.path.join(options.model_dir, f)) for f in checkpoint["files"])
  check_disk(options.out_dir, estimate_output_bytes(config, weights_bytes, options.quantize))
  hashes = hash_inputs(options.model_dir, emitter, 0.01, 0.10)
  reporter = PhaseReporter(emitter, len(options.prefill_seq_lens) + 1)
  started = time.time()
  try:
    with redirect_foreign_stdout(emitter):
      if options.route == "example":
        produced = run_example(options, plan, emitter, reporter)
      else:
        produced = run_export_hf(options, plan, emitter, reporter)
  finally:
    reporter.restore()
  output = produced["output"]
  if not os.path.isfile(output):
    raise StageFailure("no_output", f"The converter finished but {output} does not exist.", "See the stage log for the converter's messages.")
  reporter.enter("record", 0.97, "writing the sidecar")
  signatures = read_signatures(output)
  sidecar_path = os.path.splitext(output)[0] + ".convert.json"
  sidecar = {
      "schema": "convert-workbench/convert-sidecar@1",
      "createdAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
      "route": options.route,
      "options": dataclasses.asdict(options),
      "converterCall": {k: v for k, v in plan.items() if k not in ("equivalentCommand", "signatures")},
      "equivalentCommand": plan["equivalentCommand"],
      "signatures": signatures if signatures is not None else plan["signatures"],
      "signaturesSource": "file" if signatures is not None else "expected",
      "output": {"path": output, "kind": produced["kind"], "bytes": os.path.getsize(output)},
      "input": {"modelDir": options.model_dir, "architectures": config.get("architectures"), "sha256": hashes},
      "python": {"executable": sys.executable, "version": sys.version.split()[0]},
      "packages": package_versions(),
      "durationSeconds": round(time.time() - started, 3),
      "phaseSeconds": {k: round(v, 3) for k, v in reporter.phase_seconds.items()},
  }
  write_sidecar(sidecar_path, sidecar)
  # The stage's note once finished: what was written, not the last phase's progress.
  reporter.finish(f"Wrote {os.path.basename(output)} ({os.path.getsize(output) / 1024 ** 2:.1f} MiB) in {sidecar['durationSeconds']:.0f} s")
  emitter.metric("convert.output_bytes", os.path.getsize(output), "B")
  emitter.metric("convert.duration", sidecar["durationSeconds"], "s")
  emitter.artifact(produced["kind"], output)
  emitter.artifact("sidecar", sidecar_path)
  emitter.result({"output": output, "sidecar": sidecar_path, "route": options.route, "signatures": sidecar["signatures"], "equivalentCommand": plan["equivalentCommand"]})
  return sidecar


def main(argv: Optional[List[str]] = None) -> int:
  args = list(sys.argv[1:] if argv is None else argv)
  state: Dict[str, str] = {"route": "example"}

  def body() -> None:
    raw = read_params(args)
    state["route"] = str(raw.get("route", "example"))
    convert(raw, out)

  return run_stage(body, out, lambda exc: translate_error(exc, state["route"]))


if __name__ == "__main__":
  sys.exit(main())
