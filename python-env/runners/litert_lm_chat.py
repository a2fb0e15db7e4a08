"""Runs a bundle with LiteRT-LM's Python API (`pip install litert-lm`), the
native engine: what to use when a bundle does not fit the 4 GiB wasm32 heap
of the engine the workbench runs in-process (`@litert-lm/core`), e.g. a
Qwen2.5-1.5B-class int8 model with a 4096-token KV cache.

Same question and answer as `workbench chat --json`, for the same CPU
backend: one generation with the bundle's own metadata (Conversation API),
or the text as is (`--raw`: the Session API with prompt templating off),
greedy as TOP_P with k = 1 on request. Prints exactly one JSON object on
stdout: text, stopReason ("stop-token" or "max-tokens"), tokens (chunks
received), seconds, timeToFirstTokenSeconds, decodeChunksPerSecond, engine.

  python3 litert_lm_chat.py --bundle FILE --prompt TEXT [--raw] [--greedy]
      [--max-tokens N] [--context N] [--temperature T] [--top-p P] [--top-k K]

Written against the API of google-ai-edge/LiteRT-LM python/litert_lm
(Engine, create_conversation, send_message_async, create_session,
run_prefill, run_decode_async, SamplerConfig, Backend).
"""
from __future__ import annotations

import argparse
import json
import sys
import time


def _fail(code: str, message: str, hint: str | None = None) -> int:
  print(json.dumps({"error": {"code": code, "message": message, **({"hint": hint} if hint else {})}}))
  return 1


def _texts(chunk) -> str:
  """Text of a Conversation chunk ({"content": [{"type": "text", "text": ...}]}) or a Session chunk (.texts)."""
  if isinstance(chunk, dict):
    content = chunk.get("content", [])
    if isinstance(content, str):
      return content
    return "".join(item.get("text", "") for item in content if item.get("type") == "text")
  texts = getattr(chunk, "texts", None)
  return texts[0] if texts else ""


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--bundle", required=True)
  ap.add_argument("--prompt", required=True)
  ap.add_argument("--raw", action="store_true")
  ap.add_argument("--greedy", action="store_true")
  ap.add_argument("--max-tokens", type=int, default=256)
  ap.add_argument("--context", type=int, default=None)
  ap.add_argument("--temperature", type=float, default=None)
  ap.add_argument("--top-p", type=float, default=None)
  ap.add_argument("--top-k", type=int, default=None)
  args = ap.parse_args(argv)
  if args.max_tokens < 1:
    return _fail("usage", "--max-tokens must be at least 1.")
  try:
    import litert_lm
  except ImportError:
    return _fail("missing_package", "The litert_lm Python package is not installed in this Python.", "pip install litert-lm (the native LiteRT-LM engine), then run this again.")

  sampler = None
  if args.greedy:
    sampler = litert_lm.SamplerConfig(top_k=1, top_p=1.0, temperature=1.0)
  elif args.temperature is not None or args.top_p is not None or args.top_k is not None:
    sampler = litert_lm.SamplerConfig(top_k=args.top_k, top_p=args.top_p, temperature=args.temperature)

  started = time.time()
  first = None
  pieces = []
  stop_reason = "stop-token"
  try:
    with litert_lm.Engine(args.bundle, backend=litert_lm.Backend.CPU, max_num_tokens=args.context) as engine:
      loaded = time.time()
      if args.raw:
        runner_cm = engine.create_session(apply_prompt_template=False, sampler_config=sampler)
      else:
        runner_cm = engine.create_conversation(sampler_config=sampler)
      with runner_cm as runner:
        if args.raw:
          runner.run_prefill([args.prompt])
          stream = runner.run_decode_async()
        else:
          stream = runner.send_message_async(args.prompt)
        for chunk in stream:
          text = _texts(chunk)
          if not text:
            continue
          first = first or time.time()
          pieces.append(text)
          if len(pieces) >= args.max_tokens:
            stop_reason = "max-tokens"
            if hasattr(runner, "cancel_process"):
              runner.cancel_process()
            for _ in stream:
              pass
            break
  except Exception as error:  # the native engine reports load and decode failures as exceptions
    return _fail("engine_error", f"LiteRT-LM could not run {args.bundle}: {error}")
  ended = time.time()
  decode_seconds = ended - (first or ended)
  print(json.dumps({
      "text": "".join(pieces),
      "stopReason": stop_reason,
      "tokens": len(pieces),
      "loadSeconds": round(loaded - started, 3),
      "seconds": round(ended - started, 3),
      "timeToFirstTokenSeconds": round(first - loaded, 3) if first else None,
      "decodeChunksPerSecond": round(len(pieces) / decode_seconds, 2) if decode_seconds > 0 else None,
      "engine": f"litert_lm {getattr(litert_lm, '__version__', '(version unknown)')} (native, CPU)",
  }))
  return 0


if __name__ == "__main__":
  sys.exit(main())
