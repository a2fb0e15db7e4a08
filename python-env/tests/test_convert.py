"""Conversion stage: validation, size choice, option mapping, sidecar, error translation."""
import copy
import errno
import importlib
import json
import os
import sys
import tempfile
import unittest

from tests.helpers import FAKE_CONVERTER, FAKE_TORCH, QWEN_1_5B, captured, events, make_model, write_safetensors
import convert
from protocol import StageFailure


def params(model_dir, out_dir, **extra):
  base = {"modelDir": model_dir, "outDir": out_dir, "route": "example", "kvCacheMaxLen": 4096,
          "prefillSeqLens": [8, 64, 128, 256, 512, 1024], "quantize": "dynamic_int8"}
  base.update(extra)
  return base


class ValidationTest(unittest.TestCase):

  def check_code(self, raw, code):
    with self.assertRaises(StageFailure) as ctx:
      convert.parse_options(raw)
    self.assertEqual(ctx.exception.code, code, ctx.exception.message)
    return ctx.exception

  def test_defaults(self):
    options = convert.parse_options({"modelDir": "m", "outDir": "o"})
    self.assertEqual(options.route, "example")
    self.assertEqual(options.kv_cache_max_len, 4096)
    self.assertEqual(options.prefill_seq_lens, [8, 64, 128, 256, 512, 1024])
    self.assertEqual(options.quantize, "dynamic_int8")

  def test_bad_values(self):
    self.check_code({"outDir": "o"}, "bad_params")
    self.check_code(params("m", "o", route="tflite"), "bad_params")
    self.check_code(params("m", "o", quantize="int3"), "bad_params")
    self.check_code(params("m", "o", kvCacheMaxLen=8), "bad_params")
    self.check_code(params("m", "o", kvCacheMaxLen=True), "bad_params")
    self.check_code(params("m", "o", prefillSeqLens=[]), "bad_params")
    self.check_code(params("m", "o", prefillSeqLens=[0]), "bad_params")
    self.check_code(params("m", "o", outputNamePrefix="a/b"), "bad_params")
    failure = self.check_code(params("m", "o", kvCacheMaxLen=512, prefillSeqLens=[1024]), "bad_params")
    self.assertIn("1024", failure.message)

  def test_prefill_lengths_are_sorted_and_unique(self):
    self.assertEqual(convert.parse_options(params("m", "o", prefillSeqLens=[64, 8, 64])).prefill_seq_lens, [8, 64])

  def test_route_specific_options_are_refused_not_ignored(self):
    self.check_code(params("m", "o", lightweightConversion=True), "unsupported_option")
    self.check_code(params("m", "o", route="export_hf", quantize="fp16"), "unsupported_option")
    self.check_code(params("m", "o", route="export_hf", quantize="dynamic_int4_block128"), "unsupported_option")
    self.check_code(params("m", "o", route="export_hf", maskAsInput=True), "unsupported_option")
    self.check_code(params("m", "o", route="export_hf", transposeKvCache=True), "unsupported_option")


class BuilderChoiceTest(unittest.TestCase):

  def test_qwen_sizes_come_from_config_never_the_3b_default(self):
    self.assertEqual(convert.select_builder(QWEN_1_5B).function, "build_1_5b_model")
    small = dict(QWEN_1_5B, hidden_size=896, num_hidden_layers=24, intermediate_size=4864, num_attention_heads=14)
    self.assertEqual(convert.select_builder(small).size_flag, "0.5b")
    big = dict(QWEN_1_5B, hidden_size=2048, num_hidden_layers=36, intermediate_size=11008, num_attention_heads=16)
    self.assertEqual(convert.select_builder(big).size_flag, "3b")

  def test_unknown_qwen_size_is_refused(self):
    odd = dict(QWEN_1_5B, hidden_size=3584, num_hidden_layers=28, intermediate_size=18944, num_attention_heads=28, num_key_value_heads=4)
    with self.assertRaises(StageFailure) as ctx:
      convert.select_builder(odd)
    self.assertEqual(ctx.exception.code, "unsupported_model_size")
    self.assertIn("export_hf", ctx.exception.hint)

  def test_unsupported_architecture(self):
    with self.assertRaises(StageFailure) as ctx:
      convert.select_builder({"architectures": ["MistralForCausalLM"], "hidden_size": 4096})
    self.assertEqual(ctx.exception.code, "unsupported_architecture")

  def test_other_families(self):
    llama = {"architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "num_hidden_layers": 16, "intermediate_size": 8192, "num_attention_heads": 32, "num_key_value_heads": 8}
    self.assertEqual(convert.select_builder(llama).label, "Llama 3.2 1B")
    phi4 = {"architectures": ["Phi3ForCausalLM"], "hidden_size": 3072, "num_hidden_layers": 32, "intermediate_size": 8192, "num_attention_heads": 24, "num_key_value_heads": 8}
    self.assertEqual(convert.select_builder(phi4).module, "phi4")


class MappingTest(unittest.TestCase):

  def test_example_plan_names_and_values(self):
    options = convert.parse_options(params("/m", "/o", kvCacheMaxLen=2048, prefillSeqLens=[8, 128], quantize="weight_only_int8", maskAsInput=True, transposeKvCache=True, outputNamePrefix="ft"))
    plan = convert.make_plan(options, QWEN_1_5B)
    self.assertEqual(plan["builder"]["module"], "ai_edge_torch.generative.examples.qwen.qwen")
    self.assertEqual(plan["builder"]["function"], "build_1_5b_model")
    self.assertEqual(plan["builder"]["kwargs"], {"checkpoint_path": "/m", "custom_loader": None, "mask_cache_size": 0})
    self.assertEqual(plan["convert"]["kwargs"], {"output_path": "/o", "output_name_prefix": "ft", "prefill_seq_len": [8, 128], "kv_cache_max_len": 2048, "quantize": "weight_only_int8"})
    self.assertEqual(plan["convert"]["export_config"], {"mask_as_input": True, "kvcache_layout": "transposed", "decode_batch_size": 1})
    self.assertEqual(plan["output"], "/o/ft_q8_wo_ekv2048.tflite")
    self.assertEqual(plan["signatures"], ["prefill_8", "prefill_128", "decode"])
    self.assertEqual(
        plan["equivalentCommand"],
        "python -m ai_edge_torch.generative.examples.qwen.convert_to_tflite --model_size=1.5b --checkpoint_path=/m --output_path=/o "
        "--output_name_prefix=ft --prefill_seq_lens=8 --prefill_seq_lens=128 --kv_cache_max_len=2048 --quantize=weight_only_int8 "
        "--mask_as_input=true --transpose_kv_cache=true",
    )

  def test_mask_cache_size_follows_kv_without_mask_input(self):
    plan = convert.make_plan(convert.parse_options(params("/m", "/o", kvCacheMaxLen=1024)), QWEN_1_5B)
    self.assertEqual(plan["builder"]["kwargs"]["mask_cache_size"], 1024)
    self.assertEqual(plan["output"], "/o/qwen_1_5b_q8_ekv1024.tflite")

  def test_every_quantization_has_the_converter_suffix(self):
    for quantize, suffix in convert.QUANT_SUFFIX.items():
      plan = convert.make_plan(convert.parse_options(params("/m", "/o", quantize=quantize, outputNamePrefix="p")), QWEN_1_5B)
      self.assertEqual(os.path.basename(plan["output"]), f"p_{suffix}_ekv4096.tflite")

  def test_export_hf_plan(self):
    options = convert.parse_options(params("/m", "/o", route="export_hf", kvCacheMaxLen=4096, prefillSeqLens=[256], lightweightConversion=True))
    plan = convert.make_plan(options, QWEN_1_5B)
    self.assertEqual(plan["export"]["kwargs"], {
        "model": "/m", "output_dir": "/o", "prefill_lengths": [256], "cache_length": 4096,
        "quantization_recipe": "dynamic_wi8_afp32", "bundle_litert_lm": True, "trust_remote_code": False,
        "experimental_lightweight_conversion": True,
    })
    self.assertEqual(
        plan["equivalentCommand"],
        "python -m litert_torch.generative.export_hf --model=/m --output_dir=/o '--prefill_lengths=[256]' --cache_length=4096 "
        "--quantization_recipe=dynamic_wi8_afp32 --bundle_litert_lm=True --experimental_lightweight_conversion=True",
    )

  def test_export_hf_recipes(self):
    expected = {"none": None, "dynamic_int8": "dynamic_wi8_afp32", "weight_only_int8": "weight_only_wi8_afp32", "dynamic_int4_block32": "dynamic_wi4b32_afp32"}
    for quantize, recipe in expected.items():
      plan = convert.make_plan(convert.parse_options(params("/m", "/o", route="export_hf", quantize=quantize)), {})
      self.assertEqual(plan["export"]["kwargs"]["quantization_recipe"], recipe)


class CheckpointTest(unittest.TestCase):

  def setUp(self):
    self.tmp = tempfile.TemporaryDirectory()
    self.addCleanup(self.tmp.cleanup)

  def test_leftover_lora_tensors_are_found_from_headers(self):
    folder = make_model(os.path.join(self.tmp.name, "m"), tensors={
        "model.embed_tokens.weight": ("BF16", [4, 2]),
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": ("F32", [2, 2]),
    })
    with self.assertRaises(StageFailure) as ctx:
      convert.check_checkpoint(folder)
    self.assertEqual(ctx.exception.code, "unmerged_lora")
    self.assertIn("Merge", ctx.exception.hint)

  def test_truncated_header(self):
    folder = make_model(os.path.join(self.tmp.name, "m"))
    path = os.path.join(folder, "model.safetensors")
    with open(path, "r+b") as handle:
      handle.truncate(20)
    with self.assertRaises(StageFailure) as ctx:
      convert.check_checkpoint(folder)
    self.assertEqual(ctx.exception.code, "bad_checkpoint")

  def test_missing_weights_and_config(self):
    folder = os.path.join(self.tmp.name, "empty")
    os.makedirs(folder)
    with self.assertRaises(StageFailure) as ctx:
      convert.check_checkpoint(folder)
    self.assertEqual(ctx.exception.code, "missing_weights")
    with self.assertRaises(StageFailure) as ctx:
      convert.read_model_config(folder)
    self.assertEqual(ctx.exception.code, "missing_config")
    with self.assertRaises(StageFailure) as ctx:
      convert.read_model_config(os.path.join(self.tmp.name, "nope"))
    self.assertEqual(ctx.exception.code, "model_not_found")

  def test_disk_check(self):
    convert.check_disk(self.tmp.name, 1)
    with self.assertRaises(StageFailure) as ctx:
      convert.check_disk(os.path.join(self.tmp.name, "new"), 1 << 60)
    self.assertEqual(ctx.exception.code, "out_of_disk")
    self.assertIn("GiB free", ctx.exception.message)

  def test_output_estimate(self):
    self.assertEqual(convert.estimate_output_bytes({"torch_dtype": "bfloat16"}, 3_000, "dynamic_int8"), 1_500)
    self.assertEqual(convert.estimate_output_bytes({"torch_dtype": "float32"}, 4_000, "none"), 4_000)


class ErrorTranslationTest(unittest.TestCase):

  def code(self, exc, route="example"):
    failure = convert.translate_error(exc, route)
    return None if failure is None else failure.code

  def test_known_errors(self):
    self.assertEqual(self.code(MemoryError()), "out_of_memory")
    self.assertEqual(self.code(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 123 bytes. Error code 12 (Cannot allocate memory)")), "out_of_memory")
    self.assertEqual(self.code(OSError(errno.ENOSPC, "No space left on device")), "out_of_disk")
    self.assertEqual(self.code(ValueError("Failed to map all tensor. Remaining tensor are: ['x.lora_A.weight']")), "unmerged_lora")
    self.assertEqual(self.code(ValueError("Failed to map all tensor. Remaining tensor are: ['x.weight']")), "checkpoint_mismatch")
    self.assertEqual(self.code(RuntimeError("Error(s) in loading state_dict for Decoder: size mismatch for a")), "checkpoint_mismatch")
    missing = ModuleNotFoundError("No module named 'jax'", name="jax")
    failure = convert.translate_error(missing, "export_hf")
    self.assertEqual(failure.code, "missing_package")
    self.assertIn("jax", failure.message)
    self.assertIn("bootstrap", failure.hint)
    self.assertIn("export_hf", failure.hint)
    self.assertEqual(self.code(KeyError("Invalid quantization recipe: x")), "unsupported_option")

  def test_unknown_errors_are_left_to_the_generic_handler(self):
    self.assertIsNone(self.code(ZeroDivisionError("x")))

  def test_every_known_error_has_a_hint(self):
    for exc in (MemoryError(), OSError(errno.ENOSPC, "x"), ImportError("x"), ValueError("Failed to map all tensor lora_")):
      self.assertTrue(convert.translate_error(exc).hint)


def has_module(name):
  try:
    importlib.import_module(name)
    return True
  except ImportError:
    return False


class FakeConverterRunTest(unittest.TestCase):
  """Runs convert() in-process against the fake converter packages."""

  def setUp(self):
    self.tmp = tempfile.TemporaryDirectory()
    self.addCleanup(self.tmp.cleanup)
    self.record = os.path.join(self.tmp.name, "record.jsonl")
    os.environ["FAKE_CONVERTER_RECORD"] = self.record
    self.addCleanup(os.environ.pop, "FAKE_CONVERTER_RECORD", None)
    self.saved_path = list(sys.path)
    self.saved_modules = set(sys.modules)
    sys.path.insert(0, FAKE_CONVERTER)
    if not has_module("torch"):
      sys.path.insert(0, FAKE_TORCH)

    def restore():
      sys.path[:] = self.saved_path
      for name in set(sys.modules) - self.saved_modules:
        if name.split(".")[0] in ("ai_edge_torch", "litert_torch", "ai_edge_quantizer", "safetensors", "transformers", "_fake"):
          del sys.modules[name]

    self.addCleanup(restore)
    self.model = make_model(os.path.join(self.tmp.name, "model"))
    self.out = os.path.join(self.tmp.name, "out")

  def calls(self):
    with open(self.record) as handle:
      return [json.loads(line) for line in handle]

  def test_example_route_sidecar(self):
    emitter, stream = captured()
    sidecar = convert.convert(params(self.model, self.out, kvCacheMaxLen=1024, prefillSeqLens=[8, 64]), emitter)
    output = os.path.join(self.out, "qwen_1_5b_q8_ekv1024.tflite")
    self.assertTrue(os.path.isfile(output))
    with open(os.path.join(self.out, "qwen_1_5b_q8_ekv1024.convert.json")) as handle:
      on_disk = json.load(handle)
    self.assertEqual(on_disk["route"], "example")
    self.assertEqual(on_disk["options"]["kv_cache_max_len"], 1024)
    self.assertEqual(on_disk["signatures"], ["prefill_8", "prefill_64", "decode"])
    self.assertEqual(set(on_disk["input"]["sha256"]), {"config.json", "model.safetensors"})
    self.assertEqual(len(on_disk["input"]["sha256"]["config.json"]), 64)
    self.assertEqual(on_disk["output"]["path"], output)
    self.assertIn("--model_size=1.5b", on_disk["equivalentCommand"])
    self.assertEqual(on_disk["converterCall"]["builder"]["function"], "build_1_5b_model")
    self.assertIn("python", on_disk)
    self.assertIsInstance(on_disk["packages"], dict)
    self.assertEqual(sidecar["output"]["bytes"], os.path.getsize(output))
    phases = [e.get("phase") for e in events(stream) if e["type"] == "progress"]
    for phase in ("hash inputs", "load weights", "build/trace", "lower", "quantize", "serialize", "done"):
      self.assertIn(phase, phases)
    kinds = [e["kind"] for e in events(stream) if e["type"] == "artifact"]
    self.assertEqual(kinds, ["tflite", "sidecar"])
    calls = [c["call"] for c in self.calls()]
    self.assertEqual(calls[0], "examples.qwen.qwen.build_1_5b_model")

  def test_export_hf_route(self):
    emitter, stream = captured()
    convert.convert(params(self.model, self.out, route="export_hf", quantize="none", prefillSeqLens=[32]), emitter)
    export_call = next(c for c in self.calls() if c["call"] == "export_hf.export")
    self.assertEqual(export_call["kwargs"]["quantization_recipe"], None)
    self.assertEqual(export_call["kwargs"]["prefill_lengths"], [32])
    self.assertTrue(export_call["kwargs"]["bundle_litert_lm"])
    result = [e for e in events(stream) if e["type"] == "result"][0]["data"]
    self.assertTrue(result["output"].endswith("model.litertlm"))

  def test_converter_error_is_translated_in_main(self):
    os.environ["FAKE_CONVERTER_FAIL"] = "lora"
    self.addCleanup(os.environ.pop, "FAKE_CONVERTER_FAIL", None)
    path = os.path.join(self.tmp.name, "p.json")
    with open(path, "w") as handle:
      json.dump(params(self.model, self.out), handle)
    emitter, stream = captured()
    saved = convert.out
    convert.out = emitter
    try:
      code = convert.main(["--params", path])
    finally:
      convert.out = saved
    self.assertEqual(code, 1)
    error = [e for e in events(stream) if e["type"] == "error"][0]
    self.assertEqual(error["code"], "unmerged_lora")


class RealConverterTest(unittest.TestCase):
  """Only where the real converter is installed (never on the CI machine)."""

  @unittest.skipUnless(has_module("ai_edge_torch") and "fake" not in (getattr(importlib.util.find_spec("ai_edge_torch"), "origin", "") or ""), "ai-edge-torch is not installed here (PyPI unreachable); the fake converter tests cover the call mapping")
  def test_real_builder_names_exist(self):
    for builder in convert.BUILDERS:
      module = importlib.import_module(f"ai_edge_torch.generative.examples.{builder.family}.{builder.module}")
      self.assertTrue(hasattr(module, builder.function), builder)


if __name__ == "__main__":
  unittest.main()
