#!/usr/bin/env python3
"""Make the reference fixtures under tests/fixtures/ with Hugging Face transformers.

Each fixture NAME gets tests/fixtures/NAME/ with
  hf/                   a checkpoint as users have it (config.json + safetensors, DeepSeek tensor names)
  prompts.txt           3 prompts (token ids, comma-separated), lengths 5, 13, 29
  expected_ids.txt      greedy continuation, 10 tokens per prompt
  expected_logits.bin   float32 LE, [3 prompts][10 steps][vocab]; row k = logits choosing generated token k
  README.md             what the fixture is and how it was made

Setup (no GPU needed):  python -m venv VENV && VENV/bin/pip install -r tools/requirements-fixtures.txt
Run:                    python tools/make_fixtures.py [--out tests/fixtures] [--only NAME]

The tool is deterministic (fixed seeds, one CPU thread). Besides running transformers it checks it:
  * the attention softmax scale, the YaRN frequencies and the RoPE pair layout against the formulas of
    DeepSeek's own inference code,
  * the whole forward pass against a small independent implementation of DeepSeek's semantics
    (`official_forward` below), from the checkpoint tensors,
  * that reloading the written checkpoint (transformers' from_pretrained for bf16, our own FP8
    dequantization for FP8) reproduces the stored logits bit for bit,
  * that no greedy pick or routing decision is a near tie (so a correct runtime cannot flip it).
"""

import argparse
import copy
import json
import math
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as F
import safetensors
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModelForCausalLM, DeepseekV2Config, DeepseekV3Config

PROMPT_LENS = (5, 13, 29)
N_GEN = 10
WEIGHT_STD = 0.08
NORM_STD = 0.1
BIAS_STD = 0.05
FP8_MAX = 448.0
BLOCK = 128
# Guard bands: a correct float32 runtime differs from this reference by ~1e-6 relative, far below these.
MIN_ARGMAX_GAP = 1e-3  # top-1 minus top-2 logit, in units of std(logits)
MIN_ROUTE_GAP = 2e-5  # gap between the last chosen and first rejected expert / group score

YARN_V3 = dict(type="yarn", factor=4, original_max_position_embeddings=64, beta_fast=32, beta_slow=1,
               mscale=1.0, mscale_all_dim=1.0)
YARN_V2 = dict(type="yarn", factor=40, original_max_position_embeddings=64, beta_fast=32, beta_slow=1,
               mscale=0.707, mscale_all_dim=0.707)

# Configs as DeepSeek writes them (original key names). Transformers reads them; save_pretrained then
# writes its own keys and we add the originals back (see write_config).
V3_TINY = dict(
    architectures=["DeepseekV3ForCausalLM"], model_type="deepseek_v3",
    vocab_size=1000, hidden_size=128, num_hidden_layers=3, first_k_dense_replace=1, moe_layer_freq=1,
    num_attention_heads=4, num_key_value_heads=4, q_lora_rank=96, kv_lora_rank=64,
    qk_nope_head_dim=32, qk_rope_head_dim=16, v_head_dim=32,
    intermediate_size=256, moe_intermediate_size=64, n_routed_experts=16, n_shared_experts=1,
    num_experts_per_tok=4, n_group=4, topk_group=2, topk_method="noaux_tc", scoring_func="sigmoid",
    norm_topk_prob=True, routed_scaling_factor=2.5, hidden_act="silu", rms_norm_eps=1e-6,
    rope_theta=10000, max_position_embeddings=256, rope_scaling=YARN_V3, tie_word_embeddings=False,
    num_nextn_predict_layers=1, attention_bias=False, bos_token_id=0, eos_token_id=1,
    torch_dtype="bfloat16",
)
V3_FP8 = dict(
    V3_TINY, hidden_size=200, q_lora_rank=136, kv_lora_rank=144, v_head_dim=40,
    intermediate_size=328, moe_intermediate_size=72, num_hidden_layers=2, num_nextn_predict_layers=0,
    quantization_config=dict(activation_scheme="dynamic", fmt="e4m3", quant_method="fp8",
                             weight_block_size=[BLOCK, BLOCK]),
)
V2_LITE = dict(
    architectures=["DeepseekV2ForCausalLM"], model_type="deepseek_v2",
    vocab_size=1000, hidden_size=128, num_hidden_layers=3, first_k_dense_replace=1, moe_layer_freq=1,
    num_attention_heads=4, num_key_value_heads=4, q_lora_rank=None, kv_lora_rank=64,
    qk_nope_head_dim=32, qk_rope_head_dim=16, v_head_dim=32,
    intermediate_size=256, moe_intermediate_size=64, n_routed_experts=16, n_shared_experts=2,
    num_experts_per_tok=4, n_group=1, topk_group=1, topk_method="greedy", scoring_func="softmax",
    norm_topk_prob=False, routed_scaling_factor=1.0, hidden_act="silu", rms_norm_eps=1e-6,
    rope_theta=10000, max_position_embeddings=2560, rope_scaling=YARN_V2, tie_word_embeddings=False,
    attention_bias=False, bos_token_id=0, eos_token_id=1, torch_dtype="bfloat16",
)
V2_GROUP = dict(V2_LITE, topk_method="group_limited_greedy", n_group=4, topk_group=2,
                routed_scaling_factor=2.0, q_lora_rank=96, num_experts_per_tok=4)
V3_H16 = dict(V3_TINY, num_attention_heads=16, num_key_value_heads=16, kv_lora_rank=256, qk_rope_head_dim=64,
              num_hidden_layers=2, num_nextn_predict_layers=0)
V3_H16_R32 = dict(V3_H16, qk_rope_head_dim=32)

FIXTURES = {
    "tiny": dict(cfg=V3_TINY, seed=1001, mtp=True, fp8=False, shards=True,
                 what="DeepseekV3ForCausalLM (V3 family): MLA with low-rank q, YaRN (factor 4), "
                      "sigmoid router with e_score_correction_bias (noaux_tc, 4 groups / keep 2, "
                      "top-4 of 16, normalized, x2.5), 1 shared expert, 1 dense + 2 MoE layers, "
                      "untied lm_head, sharded checkpoint (3 files + index) with an MTP layer "
                      "(model.layers.3.*) in its own shard, which transformers ignores."),
    "tiny_fp8": dict(cfg=V3_FP8, seed=1032, mtp=False, fp8=True, shards=False,
                     what="DeepseekV3ForCausalLM in DeepSeek-V3's FP8 checkpoint format: every decoder "
                          "Linear weight is float8_e4m3fn with a float32 weight_scale_inv per 128x128 block; "
                          "dimensions (hidden 200, q_lora 136, kv_lora 144 -> kv_a rows 160, kv_b rows 288, "
                          "intermediate 328, moe_intermediate 72) give full and partial blocks. "
                          "embed_tokens, lm_head, norms, router weight stay bf16; e_score_correction_bias "
                          "is float32. 1 dense + 1 MoE layer, no MTP."),
    "v2_lite": dict(cfg=V2_LITE, seed=1003, mtp=False, fp8=False, shards=False,
                    what="DeepseekV2ForCausalLM, V2-Lite style: plain q_proj (q_lora_rank null), MLA kv, "
                         "YaRN factor 40 with mscale = mscale_all_dim = 0.707, softmax router, greedy "
                         "top-4 of 16, not normalized, x1.0, 2 shared experts, 1 dense + 2 MoE layers."),
    "v3_h16": dict(cfg=V3_H16, seed=1006, mtp=False, fp8=False, shards=False,
                   what="DeepseekV3ForCausalLM with the attention shapes of the split-KV MLA decode kernel "
                        "(runtime/cuda/mla_split.cuh: heads a multiple of 16, kv_lora_rank a multiple of 256, "
                        "kv_lora_rank + qk_rope_head_dim of 32, of 64 over a bf16 cache): 16 heads, kv_lora "
                        "256, rope 64 (the released models' rope width), nope 32, v_head 32; otherwise tiny's "
                        "model (noaux_tc routing, YaRN factor 4), 1 dense + 1 MoE layer, no MTP."),
    "v3_h16_r32": dict(cfg=V3_H16_R32, seed=1007, mtp=False, fp8=False, shards=False,
                       what="`v3_h16` with a rope width of 32 (qk_rope_head_dim), as the mid-size benchmark "
                            "models (specs/bench_v3_cuda.lua): latent cache rows of 256 + 32 = 288 values, which "
                            "the split-KV MLA decode kernel over an f32 cache takes with its warps sharing S's 36 "
                            "k-steps 4 and 5 (runtime/cuda/mla_decode.cuh, ks_first); otherwise v3_h16's model."),
    "tiny_bf16act": dict(base="tiny", precision="bf16",
                         what="`tiny` with bf16 activations (`deploy.activations = \"bf16\"`, specs/tiny_bf16act.lua): "
                              "tiny's checkpoint and prompts, every matrix product with bf16 weights taking its "
                              "input rounded to bf16; the router and the attention (kv_b_proj) in float32."),
    "tiny_bf16kv": dict(base="tiny", precision="bf16kv",
                        what="`tiny` with a bf16 latent KV cache (`deploy.kv_cache = \"bf16\"`, specs/tiny_bf16kv.lua): "
                             "tiny's checkpoint and prompts, every cached value (the normed latent c_kv and the rotated "
                             "shared key k_pe) rounded to bf16; all arithmetic in float32."),
    "v3_h16_bf16kv": dict(base="v3_h16", precision="bf16kv",
                          what="`v3_h16` with a bf16 latent KV cache (`deploy.kv_cache = \"bf16\"`, "
                               "specs/v3_h16_bf16kv.lua): the split-KV MLA decode kernel's shapes over a bf16 cache "
                               "(runtime/cuda/mla_decode_bf16.cuh); v3_h16's checkpoint and prompts, every cached value "
                               "rounded to bf16; all arithmetic in float32."),
    "tiny_fp8act": dict(base="tiny_fp8", precision="fp8",
                        what="`tiny_fp8` with FP8 activations (`deploy.activations = \"fp8\"`, specs/tiny_fp8act.lua): "
                             "tiny_fp8's checkpoint and prompts, every matrix product with FP8 weights taking its "
                             "input quantized per 1x128 block as DeepSeek-V3's act_quant does; the router, the "
                             "attention (kv_b_proj) and lm_head in float32."),
    "v2_group": dict(cfg=V2_GROUP, seed=1004, mtp=False, fp8=False, shards=False,
                     what="DeepseekV2ForCausalLM, V2 (236B) style routing: group_limited_greedy (4 groups, "
                          "keep 2, group score = max softmax score), top-4 of 16, not normalized, x2.0, "
                          "low-rank q (q_lora_rank 96), YaRN factor 40, mscale 0.707."),
}

NORM_SUFFIXES = ("norm.weight",)  # input_layernorm, post_attention_layernorm, q_a/kv_a_layernorm, model.norm,
                                   # enorm, hnorm, shared_head.norm


def log(*a):
    print(*a, flush=True)


# ----------------------------------------------------------------------------------------------------
# Names: DeepSeek's checkpoint names, derived from the config alone (not from transformers)
# ----------------------------------------------------------------------------------------------------
def is_moe_layer(C, i):
    return i >= C["first_k_dense_replace"] and i % C.get("moe_layer_freq", 1) == 0


def layer_shapes(C, i, moe):
    """DeepSeek checkpoint tensor names and shapes ([out, in] for Linear) of decoder layer i."""
    D, H = C["hidden_size"], C["num_attention_heads"]
    nope, rope, v = C["qk_nope_head_dim"], C["qk_rope_head_dim"], C["v_head_dim"]
    qk = nope + rope
    p = f"model.layers.{i}."
    s = {}
    if C["q_lora_rank"]:
        s[p + "self_attn.q_a_proj.weight"] = (C["q_lora_rank"], D)
        s[p + "self_attn.q_a_layernorm.weight"] = (C["q_lora_rank"],)
        s[p + "self_attn.q_b_proj.weight"] = (H * qk, C["q_lora_rank"])
    else:
        s[p + "self_attn.q_proj.weight"] = (H * qk, D)
    s[p + "self_attn.kv_a_proj_with_mqa.weight"] = (C["kv_lora_rank"] + rope, D)
    s[p + "self_attn.kv_a_layernorm.weight"] = (C["kv_lora_rank"],)
    s[p + "self_attn.kv_b_proj.weight"] = (H * (nope + v), C["kv_lora_rank"])
    s[p + "self_attn.o_proj.weight"] = (D, H * v)
    if moe:
        E, I = C["n_routed_experts"], C["moe_intermediate_size"]
        s[p + "mlp.gate.weight"] = (E, D)
        if C["topk_method"] == "noaux_tc":
            s[p + "mlp.gate.e_score_correction_bias"] = (E,)
        for e in range(E):
            s[p + f"mlp.experts.{e}.gate_proj.weight"] = (I, D)
            s[p + f"mlp.experts.{e}.up_proj.weight"] = (I, D)
            s[p + f"mlp.experts.{e}.down_proj.weight"] = (D, I)
        SI = I * C["n_shared_experts"]
        s[p + "mlp.shared_experts.gate_proj.weight"] = (SI, D)
        s[p + "mlp.shared_experts.up_proj.weight"] = (SI, D)
        s[p + "mlp.shared_experts.down_proj.weight"] = (D, SI)
    else:
        I = C["intermediate_size"]
        s[p + "mlp.gate_proj.weight"] = (I, D)
        s[p + "mlp.up_proj.weight"] = (I, D)
        s[p + "mlp.down_proj.weight"] = (D, I)
    s[p + "input_layernorm.weight"] = (D,)
    s[p + "post_attention_layernorm.weight"] = (D,)
    return s


def deepseek_shapes(C, with_mtp):
    D, V, L = C["hidden_size"], C["vocab_size"], C["num_hidden_layers"]
    s = {"model.embed_tokens.weight": (V, D)}
    for i in range(L):
        s.update(layer_shapes(C, i, is_moe_layer(C, i)))
    s["model.norm.weight"] = (D,)
    s["lm_head.weight"] = (V, D)
    if with_mtp:
        for j in range(C.get("num_nextn_predict_layers", 0)):
            i = L + j
            p = f"model.layers.{i}."
            s[p + "embed_tokens.weight"] = (V, D)
            s[p + "enorm.weight"] = (D,)
            s[p + "hnorm.weight"] = (D,)
            s[p + "eh_proj.weight"] = (D, 2 * D)
            s.update(layer_shapes(C, i, True))
            s[p + "shared_head.norm.weight"] = (D,)
            s[p + "shared_head.head.weight"] = (V, D)
    return s


QUANT_LINEARS = {"q_proj", "q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj",
                 "gate_proj", "up_proj", "down_proj"}  # attention, dense mlp, experts, shared experts


def is_quantized_name(name, C):
    """Tensors that DeepSeek-V3's FP8 checkpoint stores as float8_e4m3fn + weight_scale_inv."""
    parts = name.split(".")
    return (name.startswith("model.layers.") and parts[-1] == "weight" and parts[-2] in QUANT_LINEARS
            and (".self_attn." in name or ".mlp." in name))


# ----------------------------------------------------------------------------------------------------
# transformers <-> DeepSeek names (transformers 5 fuses experts into 3-D parameters)
# ----------------------------------------------------------------------------------------------------
def hf_to_deepseek(sd):
    out = {}
    for k, v in sd.items():
        if k.endswith("mlp.experts.gate_up_proj"):  # [E, 2I, D]: rows [0, I) gate, [I, 2I) up
            p = k[: -len("gate_up_proj")]
            I = v.shape[1] // 2
            for e in range(v.shape[0]):
                out[f"{p}{e}.gate_proj.weight"] = v[e, :I]
                out[f"{p}{e}.up_proj.weight"] = v[e, I:]
        elif k.endswith("mlp.experts.down_proj"):  # [E, D, I]
            p = k[: -len("down_proj")]
            for e in range(v.shape[0]):
                out[f"{p}{e}.down_proj.weight"] = v[e]
        else:
            out[k] = v
    return out


def deepseek_to_hf(W, hf_keys):
    out = {}
    for k in hf_keys:
        if k.endswith("mlp.experts.gate_up_proj"):
            p = k[: -len("gate_up_proj")]
            E = sum(1 for n in W if n.startswith(p) and n.endswith(".gate_proj.weight"))
            out[k] = torch.stack([torch.cat([W[f"{p}{e}.gate_proj.weight"], W[f"{p}{e}.up_proj.weight"]], 0)
                                  for e in range(E)])
        elif k.endswith("mlp.experts.down_proj"):
            p = k[: -len("down_proj")]
            E = sum(1 for n in W if n.startswith(p) and n.endswith(".down_proj.weight"))
            out[k] = torch.stack([W[f"{p}{e}.down_proj.weight"] for e in range(E)])
        else:
            out[k] = W[k]
    return out


# ----------------------------------------------------------------------------------------------------
# Config
# ----------------------------------------------------------------------------------------------------
def hf_config(C):
    cls = DeepseekV3Config if C["model_type"] == "deepseek_v3" else DeepseekV2Config
    d = copy.deepcopy(C)
    d.pop("quantization_config", None)  # we never let transformers quantize; see make_fp8
    return cls.from_dict(d)


def write_config(C, cfg, hf_dir):
    """save_pretrained's config.json, plus DeepSeek's original keys so either kind of reader works."""
    cfg.save_pretrained(hf_dir)
    path = os.path.join(hf_dir, "config.json")
    with open(path) as f:
        j = json.load(f)
    for k in ("rope_scaling", "rope_theta", "topk_method", "scoring_func", "moe_layer_freq",
              "torch_dtype", "quantization_config", "num_nextn_predict_layers", "q_lora_rank"):
        if k in C:
            j[k] = copy.deepcopy(C[k])
    j["torch_dtype"] = "bfloat16"  # DeepSeek's key; transformers 5 writes (and reads) "dtype"
    j["dtype"] = "bfloat16"
    with open(path, "w") as f:
        f.write(json.dumps(j, indent=2, sort_keys=True) + "\n")
    return j


def check_config_loads(C, hf_dir):
    """Trap 7: the written config.json must load in the installed transformers with the same meaning."""
    c = AutoConfig.from_pretrained(hf_dir)
    for k in ("vocab_size", "hidden_size", "num_hidden_layers", "first_k_dense_replace", "num_attention_heads",
              "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim",
              "intermediate_size", "moe_intermediate_size", "n_routed_experts", "n_shared_experts",
              "num_experts_per_tok", "n_group", "topk_group", "norm_topk_prob", "routed_scaling_factor",
              "rms_norm_eps", "max_position_embeddings", "tie_word_embeddings"):
        assert getattr(c, k) == C[k], (k, getattr(c, k), C[k])
    if C["model_type"] == "deepseek_v2":
        assert c.topk_method == C["topk_method"]
    else:
        assert c.num_nextn_predict_layers == C["num_nextn_predict_layers"]
        assert c.rope_interleave is True
    rp = c.rope_parameters
    for k, v in C["rope_scaling"].items():
        if k != "type":
            assert rp[k] == v, (k, rp[k], v)
    assert rp["rope_type"] == "yarn" and rp["rope_theta"] == C["rope_theta"], rp
    return c


# ----------------------------------------------------------------------------------------------------
# Independent reference: DeepSeek's inference/model.py semantics, float32, from DeepSeek-named tensors
# ----------------------------------------------------------------------------------------------------
def yarn_mscale(factor, m):
    return 1.0 if factor <= 1 else 0.1 * m * math.log(factor) + 1.0


def official_softmax_scale(C):
    rs = C["rope_scaling"]
    s = (C["qk_nope_head_dim"] + C["qk_rope_head_dim"]) ** -0.5
    if C["max_position_embeddings"] > rs["original_max_position_embeddings"]:
        s = s * yarn_mscale(rs["factor"], rs["mscale_all_dim"]) ** 2
    return s


def official_inv_freq(C):
    """precompute_freqs_cis of DeepSeek-V3 inference/model.py (YaRN only when max len > original len)."""
    rs = C["rope_scaling"]
    dim, base = C["qk_rope_head_dim"], C["rope_theta"]
    orig, factor = rs["original_max_position_embeddings"], rs["factor"]
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    if C["max_position_embeddings"] > orig:
        def corr_dim(n):
            return dim * math.log(orig / (n * 2 * math.pi)) / (2 * math.log(base))
        low = max(math.floor(corr_dim(rs["beta_fast"])), 0)
        high = min(math.ceil(corr_dim(rs["beta_slow"])), dim - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
        smooth = 1 - ramp
        freqs = freqs / factor * (1 - smooth) + freqs * smooth
    return freqs


def rope_interleaved(x, freqs_cis):
    """Rotate pairs (x[2i], x[2i+1]) by angle i: the layout of DeepSeek's checkpoints. x: [T, ..., r]."""
    xc = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    shape = [xc.shape[0]] + [1] * (xc.dim() - 2) + [xc.shape[-1]]
    return torch.view_as_real(xc * freqs_cis.view(shape)).flatten(-2)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def official_gate(x, W, p, C):
    """Returns (weights [T,k], indices [T,k], min decision gap over tokens)."""
    logits = x @ W[p + "gate.weight"].T
    k, G, TG = C["num_experts_per_tok"], C["n_group"], C["topk_group"]
    scores = logits.sigmoid() if C["scoring_func"] == "sigmoid" else logits.softmax(-1)
    orig = scores
    bias = W.get(p + "gate.e_score_correction_bias")
    if bias is not None:
        scores = scores + bias
    gaps = []
    if G > 1:
        g = scores.view(x.shape[0], G, -1)
        gs = g.topk(2, -1)[0].sum(-1) if bias is not None else g.amax(-1)
        srt = gs.sort(-1, descending=True)[0]
        gaps.append((srt[:, TG - 1] - srt[:, TG]).min())
        keep = gs.topk(TG, -1)[1]
        mask = torch.ones(x.shape[0], G, dtype=torch.bool).scatter_(1, keep, False)
        scores = g.masked_fill(mask.unsqueeze(-1), float("-inf")).flatten(1)
    srt = scores.sort(-1, descending=True)[0]
    if srt.shape[1] > k:
        gaps.append((srt[:, k - 1] - srt[:, k]).min())
    idx = scores.topk(k, -1)[1]
    w = orig.gather(1, idx)
    if C["norm_topk_prob"]:
        w = w / w.sum(-1, keepdim=True)
    return w * C["routed_scaling_factor"], idx, min(float(g) for g in gaps)


def official_forward(W, C, ids, stats):
    T, H = len(ids), C["num_attention_heads"]
    nope, rope, vd, kl = C["qk_nope_head_dim"], C["qk_rope_head_dim"], C["v_head_dim"], C["kv_lora_rank"]
    eps = C["rms_norm_eps"]
    lin = lambda x, n: x @ W[n].T  # noqa: E731
    freqs_cis = torch.polar(torch.ones(T, rope // 2), torch.outer(torch.arange(T, dtype=torch.float32),
                                                                    official_inv_freq(C)))
    mask = torch.full((T, T), float("-inf")).triu(1)
    scale = official_softmax_scale(C)
    h = W["model.embed_tokens.weight"][torch.tensor(ids)]
    for i in range(C["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = rmsnorm(h, W[p + "input_layernorm.weight"], eps)
        a = p + "self_attn."
        if C["q_lora_rank"]:
            q = lin(rmsnorm(lin(x, a + "q_a_proj.weight"), W[a + "q_a_layernorm.weight"], eps), a + "q_b_proj.weight")
        else:
            q = lin(x, a + "q_proj.weight")
        q = q.view(T, H, nope + rope)
        q = torch.cat([q[..., :nope], rope_interleaved(q[..., nope:], freqs_cis)], -1)
        kv = lin(x, a + "kv_a_proj_with_mqa.weight")
        k_pe = rope_interleaved(kv[:, None, kl:], freqs_cis)
        kv = lin(rmsnorm(kv[:, :kl], W[a + "kv_a_layernorm.weight"], eps), a + "kv_b_proj.weight").view(T, H, nope + vd)
        k = torch.cat([kv[..., :nope], k_pe.expand(T, H, rope)], -1)
        s = torch.einsum("shd,thd->sht", q, k) * scale + mask[:, None, :]
        o = torch.einsum("sht,thd->shd", s.softmax(-1), kv[..., nope:])
        h = h + lin(o.reshape(T, H * vd), a + "o_proj.weight")
        x = rmsnorm(h, W[p + "post_attention_layernorm.weight"], eps)
        m = p + "mlp."
        ffn = lambda x, q: lin(F.silu(lin(x, q + "gate_proj.weight")) * lin(x, q + "up_proj.weight"),  # noqa: E731
                               q + "down_proj.weight")
        if is_moe_layer(C, i):
            w, idx, gap = official_gate(x, W, m, C)
            stats["route_gap"] = min(stats.get("route_gap", float("inf")), gap)
            y = ffn(x, m + "shared_experts.")
            for t in range(T):
                for j in range(idx.shape[1]):
                    y[t] = y[t] + w[t, j] * ffn(x[t:t + 1], m + f"experts.{int(idx[t, j])}.")[0]
            h = h + y
        else:
            h = h + ffn(x, m)
    return rmsnorm(h, W["model.norm.weight"], eps) @ W["lm_head.weight"].T


def check_transformers_semantics(model, C):
    """Compare transformers' scale, YaRN, RoPE layout with DeepSeek's formulas. Returns notes for README."""
    notes = []
    attn = model.model.layers[0].self_attn
    want = official_softmax_scale(C)
    assert abs(attn.scaling - want) <= 1e-12 * want, (attn.scaling, want)
    rs = C["rope_scaling"]
    m = yarn_mscale(rs["factor"], rs["mscale_all_dim"])
    notes.append(f"softmax scale used by transformers = {attn.scaling:.10g}; qk_head_dim^-0.5 * m^2 with "
                 f"m = 0.1*{rs['mscale_all_dim']}*ln({rs['factor']})+1 = {m:.10g} gives {want:.10g} (agree).")
    rot = model.model.rotary_emb
    assert torch.allclose(rot.inv_freq, official_inv_freq(C), rtol=1e-6, atol=0), (rot.inv_freq, official_inv_freq(C))
    want_att = yarn_mscale(rs["factor"], rs["mscale"]) / yarn_mscale(rs["factor"], rs["mscale_all_dim"])
    assert abs(rot.attention_scaling - want_att) < 1e-12 and abs(want_att - 1.0) < 1e-12, rot.attention_scaling
    notes.append("YaRN inverse frequencies equal DeepSeek's precompute_freqs_cis (floor/ceil-truncated "
                 "correction range); cos/sin multiplier mscale(mscale)/mscale(mscale_all_dim) = 1.")
    # RoPE layout on random q/k.
    g = torch.Generator().manual_seed(7)
    T, Hh, r = 6, 3, C["qk_rope_head_dim"]
    q, k = torch.randn(1, Hh, T, r, generator=g), torch.randn(1, 1, T, r, generator=g)
    pos = torch.arange(T)[None]
    fc = torch.polar(torch.ones(T, r // 2), torch.outer(torch.arange(T, dtype=torch.float32), rot.inv_freq))
    q_ref = rope_interleaved(q[0].transpose(0, 1), fc).transpose(0, 1)[None]
    k_ref = rope_interleaved(k[0].transpose(0, 1), fc).transpose(0, 1)[None]
    mod = sys.modules[type(model).__module__]
    if C["model_type"] == "deepseek_v2":
        q_hf, k_hf = mod.apply_rotary_emb(q, k, rot(q, pos))
        assert torch.allclose(q_hf, q_ref, atol=1e-5) and torch.allclose(k_hf, k_ref, atol=1e-5)
        notes.append("RoPE (transformers deepseek_v2 apply_rotary_emb): views the rope dims as complex pairs "
                     "(x[2i], x[2i+1]) and rotates pair i by pos*inv_freq[i], output kept interleaved: exactly "
                     "the interleaved form of DeepSeek's checkpoints (checked on random q/k).")
    else:
        assert model.config.rope_interleave
        cos, sin = rot(q, pos)
        q_hf, k_hf = mod.apply_rotary_pos_emb_interleave(q, k, cos, sin)
        perm = torch.cat([torch.arange(0, r, 2), torch.arange(1, r, 2)])
        assert torch.allclose(q_hf, q_ref[..., perm], atol=1e-5) and torch.allclose(k_hf, k_ref[..., perm], atol=1e-5)
        dots_hf = q_hf @ k_hf.transpose(-1, -2)
        dots_ref = q_ref @ k_ref.transpose(-1, -2)
        assert torch.allclose(dots_hf, dots_ref, atol=1e-5)
        notes.append("RoPE (transformers deepseek_v3, rope_interleave=true): rotates the interleaved pairs "
                     "(x[2i], x[2i+1]) and writes the result de-interleaved (all even-slot outputs, then all "
                     "odd-slot ones) for q and k alike, so q.k equals the interleaved form's (checked on "
                     "random q/k). A runtime should apply the interleaved rotation in place.")
    return notes


# ----------------------------------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------------------------------
def bf16_round(t):
    return t.to(torch.bfloat16).to(torch.float32)


def random_weights(shapes, seed):
    g = torch.Generator().manual_seed(seed)
    W = {}
    for name in sorted(shapes):
        shp = shapes[name]
        if name.endswith(NORM_SUFFIXES):
            t = 1.0 + NORM_STD * torch.randn(shp, generator=g)
        elif name.endswith("e_score_correction_bias"):
            t = BIAS_STD * torch.randn(shp, generator=g)
        else:
            t = WEIGHT_STD * torch.randn(shp, generator=g)
        W[name] = bf16_round(t)
    return W


def quantize_fp8(w):
    """Per 128x128 block: scale = amax/448, code = e4m3(w/scale). Returns (code, scale_inv)."""
    R, Cc = w.shape
    rb, cb = math.ceil(R / BLOCK), math.ceil(Cc / BLOCK)
    code = torch.empty(R, Cc, dtype=torch.float8_e4m3fn)
    sinv = torch.empty(rb, cb, dtype=torch.float32)
    for i in range(rb):
        for j in range(cb):
            blk = w[i * BLOCK:(i + 1) * BLOCK, j * BLOCK:(j + 1) * BLOCK]
            amax = float(blk.abs().max())
            s = torch.tensor(amax / FP8_MAX if amax > 0 else 1.0, dtype=torch.float32)
            sinv[i, j] = s
            code[i * BLOCK:(i + 1) * BLOCK, j * BLOCK:(j + 1) * BLOCK] = \
                (blk / s).clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn)
    return code, sinv


def dequantize_fp8(code, sinv):
    """w[r, c] = float32(code[r, c]) * weight_scale_inv[r // 128, c // 128]."""
    R, Cc = code.shape
    s = sinv.repeat_interleave(BLOCK, 0)[:R].repeat_interleave(BLOCK, 1)[:, :Cc]
    return code.to(torch.float32) * s


def make_stored(W, C, fp8):
    """Tensors to write (DeepSeek names, checkpoint dtypes) and the float32 weights they decode to."""
    stored, ref = {}, {}
    for name, w in W.items():
        if fp8 and is_quantized_name(name, C):
            code, sinv = quantize_fp8(w)
            stored[name] = code
            stored[name + "_scale_inv"] = sinv
            ref[name] = dequantize_fp8(code, sinv)
            assert torch.isfinite(ref[name]).all()
        elif fp8 and name.endswith("e_score_correction_bias"):
            stored[name] = w.clone()  # float32, as in DeepSeek-V3's release
            ref[name] = w
        else:
            stored[name] = w.to(torch.bfloat16)
            ref[name] = w
    return stored, ref


def decode_stored(T):
    """What a user's loader does: float32 weights from checkpoint tensors (FP8 dequantized by hand)."""
    W = {}
    for name, t in T.items():
        if name.endswith("_scale_inv"):
            continue
        if t.dtype == torch.float8_e4m3fn:
            W[name] = dequantize_fp8(t, T[name + "_scale_inv"])
        else:
            W[name] = t.to(torch.float32)
    return W


def shard_plan(names, C, shards):
    L = C["num_hidden_layers"]
    if not shards:
        return {n: "model.safetensors" for n in names}
    files = ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
             "model-00003-of-00003.safetensors"]
    plan = {}
    for n in names:
        if n.startswith("model.layers."):
            i = int(n.split(".")[2])
            plan[n] = files[2] if i >= L else files[0] if i < L - 1 else files[1]
        else:
            plan[n] = files[0] if n == "model.embed_tokens.weight" else files[1]
    return plan


def write_checkpoint(stored, C, hf_dir, shards):
    plan = shard_plan(stored, C, shards)
    for f in sorted(set(plan.values())):
        part = {n: stored[n].contiguous() for n in sorted(stored) if plan[n] == f}
        save_file(part, os.path.join(hf_dir, f), metadata={"format": "pt"})
        os.chmod(os.path.join(hf_dir, f), 0o644)
    if shards:
        total = sum(t.numel() * t.element_size() for t in stored.values())
        idx = {"metadata": {"total_size": total}, "weight_map": {n: plan[n] for n in sorted(plan)}}
        with open(os.path.join(hf_dir, "model.safetensors.index.json"), "w") as f:
            f.write(json.dumps(idx, indent=2) + "\n")


def read_checkpoint(hf_dir):
    idx = os.path.join(hf_dir, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    T = {}
    for fn in files:
        with safe_open(os.path.join(hf_dir, fn), framework="pt") as f:
            for k in f.keys():
                T[k] = f.get_tensor(k)
    return T


# ----------------------------------------------------------------------------------------------------
# Reference run
# ----------------------------------------------------------------------------------------------------
def build_model(cfg):
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32, attn_implementation="eager",
                                             experts_implementation="eager")
    return model.eval()


def assert_f32(model):
    assert model.dtype == torch.float32
    for n, t in list(model.named_parameters()) + list(model.named_buffers()):
        assert t.dtype == torch.float32, (n, t.dtype)


@torch.no_grad()
def greedy(model, prompt):
    ids, rows = list(prompt), []
    for _ in range(N_GEN):
        out = model(input_ids=torch.tensor([ids]), use_cache=False)
        row = out.logits[0, -1].to(torch.float32).clone()
        rows.append(row)
        ids.append(int(row.argmax()))
    return ids[len(prompt):], torch.stack(rows)


def greedy_margin(logits, std):
    """The smallest top-1 minus top-2 logit over all rows, in units of std."""
    top2 = logits.topk(2, -1)[0]
    return float((top2[..., 0] - top2[..., 1]).min()) / std


def write_expected(d, prompts, gen, logits):
    """prompts.txt, expected_ids.txt and expected_logits.bin of a fixture."""
    with open(os.path.join(d, "prompts.txt"), "w") as f:
        f.write("".join(",".join(map(str, p)) + "\n" for p in prompts))
    with open(os.path.join(d, "expected_ids.txt"), "w") as f:
        f.write("".join(",".join(map(str, g)) + "\n" for g in gen))
    logits.numpy().astype("<f4").tofile(os.path.join(d, "expected_logits.bin"))


def make_prompts(seed, vocab):
    g = torch.Generator().manual_seed(seed + 500)
    return [torch.randint(0, vocab, (n,), generator=g).tolist() for n in PROMPT_LENS]


def fixture(name, spec, out_dir):
    C = copy.deepcopy(spec["cfg"])
    d = os.path.join(out_dir, name)
    hf_dir = os.path.join(d, "hf")
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(hf_dir)
    log(f"== {name}")

    cfg = hf_config(C)
    torch.manual_seed(spec["seed"])
    model = build_model(cfg)

    # Names: transformers' parameters (experts split back) must be exactly DeepSeek's names.
    hf_keys = list(model.state_dict().keys())
    main_shapes = deepseek_shapes(C, with_mtp=False)
    got = {k: tuple(v.shape) for k, v in hf_to_deepseek(model.state_dict()).items()}
    assert got == main_shapes, (set(got) ^ set(main_shapes),
                                {k for k in got if k in main_shapes and got[k] != main_shapes[k]})

    # Weights: random, bf16-rounded, in DeepSeek names; FP8-quantized where the format says so.
    W = random_weights(deepseek_shapes(C, with_mtp=spec["mtp"]), spec["seed"])
    stored, ref = make_stored(W, C, spec["fp8"])
    ref_main = {k: ref[k] for k in main_shapes}
    missing, unexpected = model.load_state_dict(deepseek_to_hf(ref_main, hf_keys), strict=True)
    assert_f32(model)
    notes = check_transformers_semantics(model, C)

    # Checkpoint + config.
    write_checkpoint(stored, C, hf_dir, spec["shards"])
    cj = write_config(C, cfg, hf_dir)
    check_config_loads(C, hf_dir)

    # Reference logits.
    prompts = make_prompts(spec["seed"], C["vocab_size"])
    gen, rows = [], []
    for p in prompts:
        g, r = greedy(model, p)
        gen.append(g)
        rows.append(r)
    logits = torch.stack(rows)  # [3, N_GEN, vocab]
    std = float(logits.std())

    # Independent check of transformers against DeepSeek's semantics, and tie guards.
    stats, worst = {}, 0.0
    for p, g, r in zip(prompts, gen, rows):
        seq = p + g
        for k in range(N_GEN):
            lo = official_forward(ref_main, C, seq[:len(p) + k], stats)[-1]
            worst = max(worst, float((lo - r[k]).abs().max()) / std)
    assert worst < 1e-5, f"transformers disagrees with DeepSeek semantics: max|d|/std = {worst:.3g}"
    argmax_gap = greedy_margin(logits, std)
    assert argmax_gap > MIN_ARGMAX_GAP, f"near-tie in greedy pick: {argmax_gap:.3g} std"
    assert stats["route_gap"] > MIN_ROUTE_GAP, f"near-tie in routing: {stats['route_gap']:.3g}"

    # Files.
    write_expected(d, prompts, gen, logits)

    self_check(name, spec, C, d, prompts)
    write_readme(name, spec, C, d, cj, std, worst, argmax_gap, stats["route_gap"], notes)
    log(f"   ok: std(logits) = {std:.6g}, transformers vs DeepSeek semantics max|d|/std = {worst:.2e}, "
        f"min argmax gap = {argmax_gap:.3g} std, min routing gap = {stats['route_gap']:.3g}")
    del model


def dequantized_model(hf_dir, T):
    """An FP8 checkpoint's model in float32 with our own dequantization, built from the on-disk config (never
    transformers' FP8 path), and its float32 weights in DeepSeek names."""
    cfg = AutoConfig.from_pretrained(hf_dir)
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    model = build_model(cfg)
    W = decode_stored(T)
    model.load_state_dict(deepseek_to_hf(W, list(model.state_dict().keys())), strict=True)
    return model, W


def self_check(name, spec, C, d, prompts):
    """Reload from disk as a user would and reproduce the stored logits and ids exactly."""
    hf_dir = os.path.join(d, "hf")
    exp = np.fromfile(os.path.join(d, "expected_logits.bin"), dtype="<f4").reshape(3, N_GEN, C["vocab_size"])
    with open(os.path.join(d, "expected_ids.txt")) as f:
        exp_ids = [list(map(int, line.split(","))) for line in f.read().splitlines()]
    with open(os.path.join(d, "prompts.txt")) as f:
        assert [list(map(int, line.split(","))) for line in f.read().splitlines()] == prompts
    T = read_checkpoint(hf_dir)
    assert set(T) == set(make_stored_names(C, spec)), "checkpoint tensor names"
    if spec["fp8"]:
        # Every 2-D tensor of a decoder layer except the router is FP8 (independent of is_quantized_name).
        f8 = {n for n, t in T.items() if t.dtype == torch.float8_e4m3fn}
        want = {n for n, shp in deepseek_shapes(C, spec["mtp"]).items()
                if n.startswith("model.layers.") and len(shp) == 2 and not n.endswith("mlp.gate.weight")}
        assert f8 == want, f8 ^ want
        # Quantized tensors really are e4m3 with the right scale grid; nothing else is.
        for n, t in T.items():
            if n.endswith("_scale_inv"):
                w = T[n[: -len("_scale_inv")]]
                assert t.dtype == torch.float32 and tuple(t.shape) == (math.ceil(w.shape[0] / BLOCK),
                                                                       math.ceil(w.shape[1] / BLOCK))
            elif is_quantized_name(n, C):
                assert t.dtype == torch.float8_e4m3fn, n
            elif n.endswith("e_score_correction_bias"):
                assert t.dtype == torch.float32, n
            else:
                assert t.dtype == torch.bfloat16, n
        model, W = dequantized_model(hf_dir, T)
        # Re-dequantizing the file reproduces the reference weights bit for bit.
        _, ref = make_stored(random_weights(deepseek_shapes(C, spec["mtp"]), spec["seed"]), C, True)
        assert all(torch.equal(W[k], ref[k]) for k in ref)
    else:
        assert all(t.dtype == torch.bfloat16 for t in T.values())
        model, info = AutoModelForCausalLM.from_pretrained(
            hf_dir, dtype=torch.float32, attn_implementation="eager", experts_implementation="eager",
            output_loading_info=True)
        model.eval()
        L = C["num_hidden_layers"]
        assert not info["missing_keys"], info["missing_keys"]
        assert all(k.startswith(f"model.layers.{L}.") for k in info["unexpected_keys"]), info["unexpected_keys"]
        assert bool(info["unexpected_keys"]) == spec["mtp"]
        assert not info.get("mismatched_keys"), info["mismatched_keys"]
    assert_f32(model)
    for i, p in enumerate(prompts):
        g, r = greedy(model, p)
        assert g == exp_ids[i], (name, i)
        assert np.array_equal(r.numpy(), exp[i]), (name, i, float((torch.from_numpy(exp[i]) - r).abs().max()))


class LinearInputs(torch.overrides.TorchFunctionMode):
    """Every F.linear (nn.Linear and transformers' routed experts alike) takes its input through `f`, except the
    products whose weights are in `keep` (by storage), which take it as it is."""

    def __init__(self, f, keep):
        super().__init__()
        self.f = f
        self.keep = {w.data_ptr() for w in keep}
        self.changed = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.linear and args[1].data_ptr() not in self.keep:
            self.changed += 1
            args = (self.f(args[0]),) + tuple(args[1:])
        return func(*args, **kwargs)


def bf16_input(x):
    """Rounded to bf16 (round to nearest even)."""
    return x.to(torch.bfloat16).to(torch.float32)


def fp8_input(x):
    """DeepSeek-V3's act_quant (inference/kernel.py) along the last dimension, each value replaced by what its
    code stands for: per 1x128 block (the last one k % 128 wide), scale = max(amax, 2^-100) / 448, code = e4m3(x /
    scale) rounded to nearest even (saturating at 448: the clamp), value = float32(code) * scale. The floor on amax
    gives a block of zeros a finite scale (runtime/kernels/quant.h, the same arithmetic)."""
    out = torch.empty_like(x)
    for c0 in range(0, x.shape[-1], BLOCK):
        b = x[..., c0:c0 + BLOCK]
        s = b.abs().amax(dim=-1, keepdim=True).clamp(min=2.0 ** -100) / FP8_MAX
        code = (b / s).clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn)
        out[..., c0:c0 + BLOCK] = code.to(torch.float32) * s
    return out


class LatentsBf16:
    """deploy.kv_cache = "bf16": what the runtime caches per token and layer, the normed latent c_kv (the output of
    kv_a_layernorm) and the rotated shared key k_rot (the second output of the RoPE function the attention calls:
    DeepseekV3's apply_rotary_pos_emb(_interleave), DeepseekV2's apply_rotary_emb),
    rounded to bf16 and used from then on in its place. transformers recomputes every position each step
    (use_cache=False), which rounds each position's latents the same way every time: what a cache of rounded
    values gives. `changed` counts the tensors rounded; both kinds must have been seen (a transformers that no longer
    calls these would otherwise make an unrounded fixture)."""

    ROPE = ("apply_rotary_pos_emb_interleave", "apply_rotary_pos_emb", "apply_rotary_emb")  # V3's two, V2's

    def __init__(self, model):
        self.model, self.changed, self.seen = model, 0, set()

    def __enter__(self):
        def norm_hook(_mod, _inp, out):
            self.changed += 1
            self.seen.add("c_kv")
            return bf16_input(out)
        self.hooks = [m.self_attn.kv_a_layernorm.register_forward_hook(norm_hook) for m in self.model.model.layers]
        self.module = sys.modules[type(self.model.model.layers[0].self_attn).__module__]
        self.saved = {n: getattr(self.module, n) for n in self.ROPE if hasattr(self.module, n)}

        def rounding(f):
            def rope(q, k, *args, **kwargs):
                q, k = f(q, k, *args, **kwargs)
                self.changed += 1
                self.seen.add("k_rot")
                return q, bf16_input(k)
            return rope
        for n, f in self.saved.items():
            setattr(self.module, n, rounding(f))
        return self

    def __exit__(self, *exc):
        for h in self.hooks:
            h.remove()
        for n, f in self.saved.items():
            setattr(self.module, n, f)
        assert exc[0] is not None or self.seen == {"c_kv", "k_rot"}, self.seen
        return False


# deploy.activations modes: the input transform, and the products that keep float32 inputs (by module name
# suffix): the router (float32 weights) and kv_b_proj (the attention, which the runtime computes absorbed, in
# float32) always; with FP8 activations also lm_head, whose weights are bf16 (DeepSeek quantizes only the input
# of its FP8 GEMMs). And the deploy.kv_cache mode (LatentsBf16).
PRECISIONS = {
    "bf16": dict(f=bf16_input, keep=("mlp.gate", "kv_b_proj"),
                 how="rounds the input of every `F.linear` call to bf16 (`x.to(torch.bfloat16)`: round to nearest "
                     "even): the attention projections q_a, q_b, kv_a, o, the dense and shared MLPs, transformers' "
                     "routed experts (which call `F.linear` on their 3-D weights) and lm_head; it leaves the router "
                     "(`mlp.gate`, float32 weights) and `kv_b_proj` in float32"),
    "fp8": dict(f=fp8_input, keep=("mlp.gate", "kv_b_proj", "lm_head"),
                how="quantizes the input of every `F.linear` call with FP8 weights as DeepSeek-V3's `act_quant` "
                    "does (per 1x128 block of a token's row, the last block `k % 128` wide: scale = max(amax, "
                    "2^-100) / 448, code = `(x / scale).clamp(-448, 448).to(torch.float8_e4m3fn)`, round to "
                    "nearest even) and passes on `float32(code) * scale`: the attention projections q_a, q_b, kv_a, "
                    "o, the dense and shared MLPs, and transformers' routed experts (which call `F.linear` on their "
                    "3-D weights: gate and up, then down on `silu(gate) * up`); it leaves the router (`mlp.gate`), "
                    "`kv_b_proj` and lm_head (bf16 weights) in float32"),
    "bf16kv": dict(latents=True,
                   how="rounds the attention's latents to bf16 (`x.to(torch.bfloat16)`: round to nearest even) as "
                       "the cache would hold them: each layer's `kv_a_layernorm` output (c_kv, which `kv_b_proj` "
                       "expands into keys and values) by a forward hook, and the rotated shared key by wrapping the "
                       "model module's RoPE function (its second output)"),
}


COSTS = {"bf16": "bf16 activations", "fp8": "fp8 activations", "bf16kv": "a bf16 KV cache"}


def fixture_precision(name, spec, out_dir):
    """The base fixture's model (float32, as self_check loads it) and prompts, under a deploy.activations mode
    (PRECISIONS): the input of every matrix product but the kept ones transformed. Everything else float32, as
    in the base fixture."""
    base, prec = spec["base"], PRECISIONS[spec["precision"]]
    C = FIXTURES[base]["cfg"]
    d, bd = os.path.join(out_dir, name), os.path.join(out_dir, base)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(d)
    log(f"== {name} (from {base})")
    if FIXTURES[base]["fp8"]:
        model, _ = dequantized_model(os.path.join(bd, "hf"), read_checkpoint(os.path.join(bd, "hf")))
    else:
        model = AutoModelForCausalLM.from_pretrained(os.path.join(bd, "hf"), dtype=torch.float32,
                                                     attn_implementation="eager", experts_implementation="eager")
    model.eval()
    assert_f32(model)
    if prec.get("latents"):
        mode, unit = LatentsBf16(model), "tensors rounded"
    else:
        keep = [mod.weight for n, mod in model.named_modules() if n.endswith(prec["keep"])]
        moe_layers = C["num_hidden_layers"] - C["first_k_dense_replace"]
        assert len(keep) == C["num_hidden_layers"] + moe_layers + ("lm_head" in prec["keep"])
        mode, unit = LinearInputs(prec["f"], keep), "products changed"
    with open(os.path.join(bd, "prompts.txt")) as f:
        prompts = [list(map(int, line.split(","))) for line in f.read().splitlines()]
    # Routing margins under this precision: each MoE gate's input, through the independent gate.
    W = hf_to_deepseek(model.state_dict())
    route_gap = [float("inf")]

    def gate_hook(prefix):
        def hook(_mod, inp):
            x = inp[0].reshape(-1, C["hidden_size"]).to(torch.float32)
            route_gap[0] = min(route_gap[0], official_gate(x, W, prefix, C)[2])
        return hook
    for i in range(C["first_k_dense_replace"], C["num_hidden_layers"]):
        model.model.layers[i].mlp.gate.register_forward_pre_hook(gate_hook(f"model.layers.{i}.mlp."))
    gen, rows = [], []
    with mode:
        for p in prompts:
            g, r = greedy(model, p)
            gen.append(g)
            rows.append(r)
    assert mode.changed > 0
    logits = torch.stack(rows)
    std = float(logits.std())
    argmax_gap = greedy_margin(logits, std)
    assert argmax_gap > MIN_ARGMAX_GAP, f"near-tie in greedy pick: {argmax_gap:.3g} std"
    assert route_gap[0] > MIN_ROUTE_GAP, f"near-tie in routing: {route_gap[0]:.3g}"
    # The cost of the precision: against the base fixture's float32 reference (same prompts; rows after a
    # differing greedy pick continue different sequences and are not comparable).
    f32 = torch.from_numpy(np.fromfile(os.path.join(bd, "expected_logits.bin"), dtype="<f4")
                           ).reshape(logits.shape)
    with open(os.path.join(bd, "expected_ids.txt")) as f:
        f32_ids = [list(map(int, line.split(","))) for line in f.read().splitlines()]
    same = [min([k for k in range(N_GEN) if gen[i][k] != f32_ids[i][k]] + [N_GEN - 1]) + 1 for i in range(3)]
    cost = sorted(float((logits[i, k] - f32[i, k]).abs().max()) / float(f32.std())
                  for i in range(3) for k in range(same[i]))
    cost_med, cost_max, cost_big = cost[len(cost) // 2], cost[-1], sum(c > 0.1 for c in cost)
    every = torch.cat([(logits[i, :same[i]] - f32[i, :same[i]]).abs().flatten() for i in range(3)])
    cost_all = float(every.median()) / float(f32.std())

    write_expected(d, prompts, gen, logits)
    os.symlink(os.path.join("..", base, "hf"), os.path.join(d, "hf"))
    load = ("loaded as the base fixture's self-check loads it (float32 weights by our own FP8 dequantization, "
            "never transformers' FP8 path)" if FIXTURES[base]["fp8"] else
            "loaded by transformers' from_pretrained in float32")
    lines = [
        f"# Fixture `{name}`", "", spec["what"], "",
        "## How it was made", "",
        f"`{base}`'s checkpoint (`hf/` is a link to `../{base}/hf`), {load}, and `{base}`'s prompts. While it "
        f"runs, {'it' if prec.get('latents') else 'a `torch.overrides.TorchFunctionMode`'} {prec['how']} "
        f"({mode.changed} {unit}). "
        "Everything else (norms, RoPE, attention scores and softmax, SwiGLU, residuals) is float32.",
        "",
        "## Scale and margins", "",
        f"- std of all expected logits: **{std:.6g}**.",
        f"- smallest top-1 minus top-2 logit over all rows: {argmax_gap:.3g} std.",
        f"- smallest routing margin under this precision (each MoE gate's input through the tool's "
        f"independent gate): {route_gap[0]:.3g}.",
        f"- against `{base}`'s float32 reference: greedy ids "
        + ("identical" if gen == f32_ids else "differ") + f"; per row max|d|/std(f32 logits): median "
        f"{cost_med:.3g}, largest {cost_max:.3g}, {cost_big} of {len(cost)} rows above 0.1 (a routing decision "
        "that differs between the two precisions changes a row that much), over the rows before any differing "
        f"pick: what {COSTS[spec['precision']]} cost on this model; over all their logits, median |d|/std "
        f"{cost_all:.2g}.",
        "",
        "## Made with", "",
        f"transformers {transformers.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
        f"Python {sys.version.split()[0]}, CPU, 1 thread. Remake: `python tools/make_fixtures.py --only {name}` "
        f"(after `{base}`).", "",
    ]
    with open(os.path.join(d, "README.md"), "w") as f:
        f.write("\n".join(lines))
    log(f"   ok: std(logits) = {std:.6g}, min argmax gap = {argmax_gap:.3g} std, min routing gap = "
        f"{route_gap[0]:.3g}, vs f32 reference median {cost_med:.3g} max {cost_max:.3g} std, ids {'same' if gen == f32_ids else 'differ'}")


def make_stored_names(C, spec):
    names = set()
    for n in deepseek_shapes(C, spec["mtp"]):
        names.add(n)
        if spec["fp8"] and is_quantized_name(n, C):
            names.add(n + "_scale_inv")
    return names


# ----------------------------------------------------------------------------------------------------
# README
# ----------------------------------------------------------------------------------------------------
def write_readme(name, spec, C, d, cj, std, worst, argmax_gap, route_gap, notes):
    files = []
    for root, _, fs in os.walk(d):
        for fn in fs:
            pth = os.path.join(root, fn)
            files.append((os.path.relpath(pth, d), os.path.getsize(pth)))
    files.sort()
    rs = C["rope_scaling"]
    lines = [
        f"# Fixture `{name}`",
        "",
        spec["what"],
        "",
        "Random weights (not a trained model): linear weights and embeddings N(0, "
        f"{WEIGHT_STD}), RMSNorm weights 1 + N(0, {NORM_STD})"
        + (f", e_score_correction_bias N(0, {BIAS_STD})" if C["topk_method"] == "noaux_tc" else "")
        + f", all rounded to bf16; torch seed {spec['seed']} (prompts: seed {spec['seed'] + 500}).",
        "",
        "## Files",
        "",
        "- `hf/`: the checkpoint, DeepSeek tensor names, experts as separate 2-D `[out, in]` tensors "
        "`model.layers.N.mlp.experts.E.{gate,up,down}_proj.weight`.",
    ]
    if spec["shards"]:
        lines.append("  Sharded: `model-0000{1,2,3}-of-00003.safetensors` + `model.safetensors.index.json`; "
                     f"the MTP layer `model.layers.{C['num_hidden_layers']}.*` (embed_tokens, enorm, hnorm, "
                     "eh_proj, a MoE decoder layer, shared_head.norm, shared_head.head) is alone in shard 3. "
                     "transformers ignores it (unexpected keys); there is no reference for it here.")
    if spec["fp8"]:
        lines.append("  FP8: quantized tensors are `F8_E4M3` plus `<name>_scale_inv` (F32, "
                     "`[ceil(rows/128), ceil(cols/128)]`); the reference ran on "
                     "`w[r,c] = float32(code[r,c]) * weight_scale_inv[r//128, c//128]` (computed in float32), "
                     "never on transformers' FP8 loading. Quantization: per block scale = amax/448, code = "
                     "e4m3(w/scale). Stored dtypes: F8_E4M3 for decoder Linear weights, F32 for scale_inv and "
                     "`e_score_correction_bias`, BF16 for embed_tokens, lm_head, norms, `mlp.gate.weight`.")
    else:
        lines.append("  All tensors BF16 (including `e_score_correction_bias` where present).")
    lines += [
        f"- `prompts.txt`: 3 prompts of {', '.join(map(str, PROMPT_LENS))} token ids in [0, {C['vocab_size']}).",
        f"- `expected_ids.txt`: greedy continuation, {N_GEN} ids per prompt.",
        f"- `expected_logits.bin`: float32 little-endian, 3 x {N_GEN} x {C['vocab_size']}; row k of prompt i = "
        "logits at the last position of prompt + generated[:k] (row 0: end of prompt), generated[k] = argmax(row k). "
        "Each row from a full float32 forward over the whole sequence (no cache, no padding, batch 1).",
        "",
        "## Scale and margins",
        "",
        f"- std of all expected logits: **{std:.6g}** (tests compare max|d| / std(ref) < 1e-3).",
        f"- smallest top-1 minus top-2 logit over all rows: {argmax_gap:.3g} std.",
        f"- smallest routing margin (last chosen vs first rejected expert score, and group score): {route_gap:.3g}.",
        f"- transformers vs an independent float32 implementation of DeepSeek's inference semantics "
        f"(`official_forward` in the tool, from the checkpoint tensors): max|d|/std = {worst:.2e}.",
        "",
        "## What transformers does here (checked by the tool)",
        "",
    ] + [f"- {n}" for n in notes] + [
        f"- YaRN is active: max_position_embeddings {C['max_position_embeddings']} > original "
        f"{rs['original_max_position_embeddings']} (factor {rs['factor']}, beta_fast {rs['beta_fast']}, "
        f"beta_slow {rs['beta_slow']}, mscale {rs['mscale']}, mscale_all_dim {rs['mscale_all_dim']}).",
        "- " + routing_note(C),
        "- config.json: written by save_pretrained (`rope_parameters`, `dtype`, ...) plus DeepSeek's original keys "
        "`rope_scaling` (with `\"type\": \"yarn\"`), `rope_theta`, `torch_dtype`, `topk_method`, `scoring_func`, "
        "`moe_layer_freq`" + (", `num_nextn_predict_layers`" if "num_nextn_predict_layers" in C else "")
        + (", `quantization_config`" if spec["fp8"] else "") + ". It loads in the transformers below.",
        "",
        "## Made with",
        "",
        f"transformers {transformers.__version__}, torch {torch.__version__}, safetensors {safetensors.__version__}, numpy {np.__version__}, "
        f"Python {sys.version.split()[0]}, CPU, 1 thread. Remake (from the repo root, in a virtualenv with "
        "`pip install -r tools/requirements-fixtures.txt`):",
        "",
        "```",
        f"python tools/make_fixtures.py --only {name}",
        "```",
        "",
        "| file | bytes |",
        "| --- | --- |",
    ] + [f"| `{f}` | {s} |" for f, s in files if f != "README.md"] + [""]
    with open(os.path.join(d, "README.md"), "w") as f:
        f.write("\n".join(lines))


def routing_note(C):
    if C["topk_method"] == "noaux_tc":
        return ("Routing (transformers DeepseekV3TopkRouter, matches DeepSeek): s = sigmoid(x W_gate^T); "
                "s + e_score_correction_bias used only to choose: group score = sum of the group's top-2 "
                f"biased scores, keep top {C['topk_group']} of {C['n_group']} groups, others -inf, top "
                f"{C['num_experts_per_tok']} experts; weights = unbiased s of the chosen, divided by their sum "
                f"(norm_topk_prob; transformers adds 1e-20 to the sum), times {C['routed_scaling_factor']}.")
    if C["topk_method"] == "greedy":
        return ("Routing (transformers DeepseekV2TopkRouter, matches DeepSeek): s = softmax(x W_gate^T); top "
                f"{C['num_experts_per_tok']} of {C['n_routed_experts']}; weights = s of the chosen times "
                f"{C['routed_scaling_factor']}, not normalized (transformers' V2 router never normalizes; "
                "norm_topk_prob is false here).")
    return ("Routing (transformers DeepseekV2TopkRouter implements group_limited_greedy; matches DeepSeek, no "
            "monkeypatch needed): s = softmax(x W_gate^T); group score = max s in the group; keep top "
            f"{C['topk_group']} of {C['n_group']} groups (others' scores set to 0, never chosen since softmax "
            f"> 0); top {C['num_experts_per_tok']} experts; weights = s of the chosen times "
            f"{C['routed_scaling_factor']}, not normalized.")


def write_index(out_dir, names):
    lines = ["# Reference fixtures", "",
             "Made by `tools/make_fixtures.py` with Hugging Face transformers (see each fixture's README.md for "
             "what it exercises, versions, seed and the logits scale). Do not edit by hand; remake with "
             "`python tools/make_fixtures.py` in a virtualenv with `pip install -r tools/requirements-fixtures.txt`.",
             "", "Layout of each `NAME/`: `hf/` (config.json + safetensors), `prompts.txt`, `expected_ids.txt`, "
             "`expected_logits.bin` (float32 LE, [3 prompts][10 steps][vocab]), `README.md`.", "",
             "| fixture | what |", "| --- | --- |"]
    lines += [f"| `{n}` | {FIXTURES[n]['what']} |" for n in names] + [""]
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
    ap.add_argument("--only", choices=sorted(FIXTURES), action="append")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    transformers.logging.set_verbosity_error()
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)
    names = args.only or list(FIXTURES)
    for n in names:
        (fixture_precision if "base" in FIXTURES[n] else fixture)(n, FIXTURES[n], out)
    write_index(out, [n for n in FIXTURES if os.path.isdir(os.path.join(out, n))])
    log("done")


if __name__ == "__main__":
    main()
