"""A plain-PyTorch forward pass of Gemma 3 text models (Gemma3ForCausalLM,
model_type gemma3_text, and the text tower of Gemma3ForConditionalGeneration),
written from transformers' modeling_gemma3.py and masking_utils.py, reading a
Hugging Face folder without transformers or safetensors packages.

Why it exists: the independent reference the native converter's Gemma 3
graphs are checked against. Computed in float64 by default. It reuses
plain_lm.py's checkpoint reader, greedy loop, RoPE and quantization
emulations (fp16, weight_only_int8, dynamic_int8, dynamic_int4_block32/128)
by import.

What it follows from transformers:
  - embedding × sqrt(hidden_size), the multiplier cast to a dtype first
    (transformers casts it to the weight dtype; --embed-scale-dtype picks
    float32 — what a float32 run uses and what the converter bakes in — or
    bfloat16, what a bf16 run of transformers multiplies by);
  - Gemma3RMSNorm: x * rsqrt(mean(x^2) + eps) * (1 + w);
  - per block: input norm, attention (q/k per-head norm before RoPE, scores
    * query_pre_attn_scalar**-0.5), post-attention norm, residual;
    pre-feedforward norm, GELU-tanh gated MLP, post-feedforward norm, residual;
  - layer_types (or sliding_window_pattern, default 6): sliding layers see
    kv_idx > q_idx - sliding_window (the last `sliding_window` positions,
    itself included) and use rope_local_base_freq; full layers use
    rope_theta with rope_scaling (linear: inv_freq / factor);
  - tied lm_head unless tie_word_embeddings is false.

Command line (same as plain_lm.py):
  python3 plain_gemma3.py --model DIR --prompt 1,2,3 --steps 8 [--emulate MODE]
      [--force 4,5,6] [--logits-out FILE] [--embed-scale-dtype float32|bfloat16]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plain_lm import INT4_BLOCKS, PlainLM, load_weights, quantize_activations_asymmetric, quantize_blocks_int4, quantize_rows_int8  # noqa: E402

ARCHITECTURES = ("Gemma3ForCausalLM", "Gemma3ForConditionalGeneration")
PREFIXES = ("model.", "model.language_model.", "language_model.model.")


def _inv_freq(head_dim: int, theta: float, scaling) -> torch.Tensor:
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(torch.float32) / head_dim))
    if scaling:
        kind = scaling.get("rope_type") or scaling.get("type")
        if kind == "linear":
            inv = inv / scaling["factor"]
        elif kind not in (None, "default"):
            raise ValueError(f"rope type {kind!r} is not implemented in this reference")
    return inv


class PlainGemma3(PlainLM):
    def __init__(self, model_dir: str, emulate: str = "none", dtype: torch.dtype = torch.float64, embed_scale_dtype: torch.dtype = torch.float32):
        with open(os.path.join(model_dir, "config.json")) as f:
            top = json.load(f)
        arch = (top.get("architectures") or [None])[0]
        if arch not in ARCHITECTURES:
            raise ValueError(f"config.json architectures {arch!r} is not Gemma 3")
        c = dict(top["text_config"]) if arch == "Gemma3ForConditionalGeneration" else top
        if arch == "Gemma3ForConditionalGeneration" and "tie_word_embeddings" not in c:
            c["tie_word_embeddings"] = top.get("tie_word_embeddings", True)
        self.family = "gemma3"
        self.c = c
        self.emulate = emulate
        self.dtype = dtype
        self.hidden = c["hidden_size"]
        self.layers = c["num_hidden_layers"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads", self.heads)
        self.head_dim = c.get("head_dim") or 256
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.scaling = c.get("query_pre_attn_scalar", 256) ** -0.5
        self.window = c.get("sliding_window", 4096)
        pattern = c.get("sliding_window_pattern", 6)
        self.layer_types = c.get("layer_types") or [
            "sliding_attention" if bool((i + 1) % pattern) else "full_attention" for i in range(self.layers)
        ]
        params = c.get("rope_parameters")
        if isinstance(params, dict) and ("full_attention" in params or "sliding_attention" in params):
            full = params.get("full_attention", {})
            local = params.get("sliding_attention", {})
            self.inv_global = _inv_freq(self.head_dim, full.get("rope_theta", 1_000_000.0), full)
            self.inv_local = _inv_freq(self.head_dim, local.get("rope_theta", 10_000.0), local)
        else:
            self.inv_global = _inv_freq(self.head_dim, c.get("rope_theta", 1_000_000.0), c.get("rope_scaling"))
            self.inv_local = _inv_freq(self.head_dim, c.get("rope_local_base_freq", 10_000.0), None)
        self.inv_freq = self.inv_global
        raw = load_weights(model_dir)
        prefix = next((p for p in PREFIXES if f"{p}embed_tokens.weight" in raw), "model.")
        text = {}
        for name, t in raw.items():
            if name.startswith(prefix):
                text["model." + name[len(prefix):]] = t
            elif name in ("lm_head.weight", "language_model.lm_head.weight"):
                text["lm_head.weight"] = t
        for name in [n for n, t in text.items() if t.dim() == 2]:
            if emulate in ("dynamic_int8", "weight_only_int8"):
                text[name] = quantize_rows_int8(text[name])
            elif emulate in INT4_BLOCKS:
                text[name] = quantize_blocks_int4(text[name], INT4_BLOCKS[emulate])
            elif emulate == "fp16":
                text[name] = text[name].to(torch.float16).to(torch.float32)
        self.w = {n: t.to(dtype) for n, t in text.items()}
        tied = c.get("tie_word_embeddings", True)
        self.lm_head = self.w["model.embed_tokens.weight"] if tied else self.w["lm_head.weight"]
        # transformers: embed_scale (a float32 tensor) .to(weight dtype); see the module docstring.
        self.embed_scale = torch.tensor(self.hidden**0.5, dtype=torch.float32).to(embed_scale_dtype).to(dtype)

    def _norm(self, x, weight):
        var = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(var + self.eps) * (1.0 + weight)

    @torch.no_grad()
    def logits(self, ids: list[int], last_only: bool = False) -> torch.Tensor:
        t = len(ids)
        pos = torch.arange(t)
        x = self.w["model.embed_tokens.weight"][torch.tensor(ids)] * self.embed_scale
        q_idx, kv_idx = pos[:, None], pos[None, :]
        causal = kv_idx <= q_idx
        sliding = causal & (kv_idx > q_idx - self.window)
        neg = torch.tensor(float("-inf"), dtype=self.dtype)
        zero = torch.tensor(0.0, dtype=self.dtype)
        masks = {"full_attention": torch.where(causal, zero, neg), "sliding_attention": torch.where(sliding, zero, neg)}
        rep = self.heads // self.kv_heads
        for i in range(self.layers):
            p = f"model.layers.{i}"
            kind = self.layer_types[i]
            inv = self.inv_local if kind == "sliding_attention" else self.inv_global
            h = self._norm(x, self.w[f"{p}.input_layernorm.weight"])
            q = self._linear(h, f"{p}.self_attn.q_proj").view(t, self.heads, self.head_dim)
            k = self._linear(h, f"{p}.self_attn.k_proj").view(t, self.kv_heads, self.head_dim)
            v = self._linear(h, f"{p}.self_attn.v_proj").view(t, self.kv_heads, self.head_dim)
            q = self._norm(q, self.w[f"{p}.self_attn.q_norm.weight"])
            k = self._norm(k, self.w[f"{p}.self_attn.k_norm.weight"])
            q, k = self._rope(q, pos, inv), self._rope(k, pos, inv)
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
            scores = torch.einsum("thd,shd->hts", q, k) * self.scaling + masks[kind]
            probs = torch.softmax(scores, dim=-1)
            ctx = torch.einsum("hts,shd->thd", probs, v).reshape(t, self.heads * self.head_dim)
            attn = self._linear(ctx, f"{p}.self_attn.o_proj")
            x = x + self._norm(attn, self.w[f"{p}.post_attention_layernorm.weight"])
            h = self._norm(x, self.w[f"{p}.pre_feedforward_layernorm.weight"])
            gate = torch.nn.functional.gelu(self._linear(h, f"{p}.mlp.gate_proj"), approximate="tanh")
            mlp = self._linear(gate * self._linear(h, f"{p}.mlp.up_proj"), f"{p}.mlp.down_proj")
            x = x + self._norm(mlp, self.w[f"{p}.post_feedforward_layernorm.weight"])
        x = self._norm(x, self.w["model.norm.weight"])
        if last_only:
            # Greedy needs the last position only: the vocabulary projection dominates a small model's cost,
            # and every step here is per row (the norm, the activation quantization), so the row is the same.
            x = x[-1:]
        if self._dynamic():
            x = quantize_activations_asymmetric(x)
        return x @ self.lm_head.T


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt", required=True, help="comma-separated token ids")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--emulate", default="none", choices=["none", "fp16", "weight_only_int8", "dynamic_int8", *INT4_BLOCKS])
    ap.add_argument("--force", default="", help="comma-separated tokens to feed instead of the greedy ones")
    ap.add_argument("--stop", default="", help="comma-separated stop token ids")
    ap.add_argument("--logits-out", default="")
    ap.add_argument("--embed-scale-dtype", default="float32", choices=["float32", "bfloat16"])
    args = ap.parse_args(argv)
    parse = lambda s: [int(v) for v in s.split(",") if v.strip()]
    lm = PlainGemma3(args.model, emulate=args.emulate, embed_scale_dtype=getattr(torch, args.embed_scale_dtype))
    tokens, logits = lm.greedy(parse(args.prompt), args.steps, stop_ids=parse(args.stop), force=parse(args.force) or None)
    if args.logits_out:
        with open(args.logits_out, "wb") as f:
            f.write(logits.to(torch.float32).contiguous().numpy().tobytes())
    json.dump({"tokens": tokens, "steps": len(tokens), "vocab": int(logits.shape[-1]) if len(tokens) else 0, "family": lm.family}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
