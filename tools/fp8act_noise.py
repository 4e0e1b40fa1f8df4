#!/usr/bin/env python3
"""How far the tiny_fp8act reference moves when some of its products are computed a little differently: the spread
a GPU's conformance bound for tiny_fp8act has to allow (tests/conformance.sh, tests/lib.sh tolerance_gpu).

tiny_fp8act's model is tiny_fp8's checkpoint with FP8 activations: tools/make_fixtures.py's "fp8" precision,
every FP8-weight product's input quantized per 1x128 block as DeepSeek-V3's act_quant does. Quantization is a
step function. A product computed in another order moves an activation across a step now and then, and a moved
latent KV row moves every later row of its prompt. So how close a runtime can come to the fixture depends on how
far its products are from float32's.

On CUDA, the FP8 products whose shape cuBLASLt takes (k a multiple of 16, n of 4: gen/shapes.lua `gemm`) run
through its block-scaled FP8 GEMM. On an H200 that GEMM erred 1.5e-4 to 2.2e-4 normwise against fp64, with f32
output (tests/cuda/fp8_gemm_check.cu, docs/gpu-runs/2026-11-30-h200/). The other products are the backend's own
kernels, which sum in float32 as the CPU does. Of tiny_fp8act's products only o_proj (k = 160) is such a GEMM.

For each seed, the model runs teacher-forced on the fixture's three prompts and expected ids (one forward pass a
prompt, so each position is computed once, as a KV cache computes it). Each product that the GPU runs through
cuBLASLt gets its output plus EPS rms(its row) N(0,1): an error of EPS normwise. With --all, every FP8 product
gets it. Seed 0 is the run without noise: how far the one-pass teacher-forced logits are from the fixture's
step-by-step ones.

Two runs place a bound between that spread and what it should catch, in the same statistic:
  --f32              no quantization at all: the precision left out;
  --unquantized NAMES product families whose inputs are left unquantized (parameter-name suffixes,
                     comma-separated: o_proj, q_b_proj, kv_a_proj_with_mqa, mlp.down_proj, experts.down_proj,
                     experts.gate_up_proj, shared_experts.down_proj, ...).

The logits are compared with the fixture's as build/compare_logits compares them: max|d|/std(ref); the median of
|d|/std(ref) over all logits, the element at n/2 of the sorted differences; argmax agreement over the 30 rows. The
same is printed over prompt 0's 10 rows, whose std(ref) is its own, as the conformance's batch-1 comparison has it.

Setup as for tools/make_fixtures.py (docs/testing.md, "Fixtures"). Run:
  .venv/bin/python tools/fp8act_noise.py --eps 2e-4 --seeds 16
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402  (the fixture's model and precision, as the fixture was made)


def storage(t):
    """Which parameter a weight belongs to: transformers' routed experts call F.linear on slices of a 3-D
    parameter (one expert each), whose data_ptr is the parameter's only for the first expert."""
    return t.untyped_storage().data_ptr()


def cublaslt_shape(weight):
    """Whether cuBLASLt takes this FP8 product's shape: k a multiple of 16 and n of 4, as gen/shapes.lua's `gemm`
    decides (an F.linear weight is [..., n, k]). The routed experts never go to it (moe_experts): main leaves them
    out."""
    n, k = weight.shape[-2], weight.shape[-1]
    return k % 16 == 0 and n % 4 == 0


class FP8Products(torch.overrides.TorchFunctionMode):
    """mf.LinearInputs with mf.fp8_input (or, for the products in `unquantized`, the input as it is), plus noise on
    the outputs of the products in `noisy` (None: every one). The kept products (router, kv_b_proj, lm_head) are
    left alone. keep, unquantized and noisy are sets of storage()."""

    def __init__(self, keep, unquantized, noisy, eps, gen):
        super().__init__()
        self.keep, self.unquantized, self.noisy = keep, unquantized, noisy
        self.eps, self.gen = eps, gen
        self.noised = self.unquantized_calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        w = storage(args[1]) if func is F.linear else None
        if w is None or w in self.keep:
            return func(*args, **kwargs)
        if w in self.unquantized:
            self.unquantized_calls += 1
            x = args[0]
        else:
            x = mf.fp8_input(args[0])
        y = func(x, *args[1:], **kwargs)
        if self.eps and (self.noisy is None or w in self.noisy):
            self.noised += 1
            rms = y.pow(2).mean(dim=-1, keepdim=True).sqrt()
            y = y + self.eps * rms * torch.randn(y.shape, generator=self.gen, dtype=torch.float64).to(y.dtype)
        return y


def teacher_forced(model, prompt, ids):
    """The N_GEN rows of logits that choose ids, from one pass over prompt + ids[:-1]."""
    seq = list(prompt) + list(ids[:-1])
    out = model(input_ids=torch.tensor([seq]), use_cache=False)
    return out.logits[0, len(prompt) - 1:].to(torch.float32)


def compare(ref, got):
    """build/compare_logits' three figures (its median: element n/2 of the sorted differences)."""
    d = (got.double() - ref.double()).abs().flatten()
    std = float(ref.double().std(unbiased=False))
    rows = ref.reshape(-1, ref.shape[-1])
    agree = int((rows.argmax(-1) == got.reshape(-1, ref.shape[-1]).argmax(-1)).sum())
    median = float(d.kthvalue(d.numel() // 2 + 1).values)
    return float(d.max()) / std, median / std, agree, rows.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fixtures", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
    ap.add_argument("--eps", type=float, default=2e-4)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--all", action="store_true", help="noise on every FP8 product, not only cuBLASLt's")
    ap.add_argument("--f32", action="store_true", help="no quantization and no noise: the precision left out")
    ap.add_argument("--unquantized", default="",
                    help="parameter-name suffixes, comma-separated, whose products' inputs stay float32 "
                         "(o_proj, q_b_proj, mlp.down_proj, experts.down_proj, experts.gate_up_proj, ...)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    spec = mf.FIXTURES["tiny_fp8act"]
    base, prec = spec["base"], mf.PRECISIONS[spec["precision"]]
    C = mf.FIXTURES[base]["cfg"]
    hf = os.path.join(a.fixtures, base, "hf")
    model, _ = mf.dequantized_model(hf, mf.read_checkpoint(hf))
    model.eval()
    keep = {storage(mod.weight) for n, mod in model.named_modules() if n.endswith(prec["keep"])}
    experts = {storage(p) for n, p in model.named_parameters() if ".experts." in n}
    fx = os.path.join(a.fixtures, "tiny_fp8act")
    with open(os.path.join(fx, "prompts.txt")) as f:
        prompts = [list(map(int, line.split(","))) for line in f.read().splitlines()]
    with open(os.path.join(fx, "expected_ids.txt")) as f:
        ids = [list(map(int, line.split(","))) for line in f.read().splitlines()]
    ref = torch.from_numpy(np.fromfile(os.path.join(fx, "expected_logits.bin"), dtype="<f4"))
    ref = ref.reshape(len(prompts), mf.N_GEN, C["vocab_size"])
    params = dict(model.named_parameters())
    fp8 = {n: p for n, p in params.items() if p.dim() >= 2 and storage(p) not in keep and "embed" not in n}
    if a.f32:
        unquantized = {storage(p) for p in fp8.values()}
    else:
        suffixes = [x for x in a.unquantized.split(",") if x]
        unquantized = {storage(p) for n, p in fp8.items()
                       if any(n.endswith(x) or n.endswith(x + ".weight") for x in suffixes)}
        assert not suffixes or unquantized, f"no FP8 weight's name ends with one of {suffixes}"
    gemms = {n: storage(p) for n, p in fp8.items() if cublaslt_shape(p) and storage(p) not in experts}
    noisy = None if a.all else set(gemms.values())
    what = ("no quantization (f32)" if a.f32 else
            f"{a.unquantized} unquantized" if a.unquantized else
            f"noise {a.eps:g} on {'every FP8 product' if a.all else 'the products cuBLASLt runs on a GPU'}")
    print(f"tiny_fp8act, teacher-forced, {what}; the FP8 weights cuBLASLt runs on a GPU: {sorted(gemms)}")
    print("seed | max|d|/std | median |d|/std | argmax agrees | prompt 0 alone: max, median, argmax | "
          "products noised, unquantized")
    for seed in range(1 if a.f32 or a.unquantized else a.seeds + 1):
        gen = torch.Generator().manual_seed(seed)
        eps = 0.0 if (a.f32 or a.unquantized or not seed) else a.eps
        mode = FP8Products(keep, unquantized, noisy, eps, gen)
        with torch.no_grad(), mode:
            got = torch.stack([teacher_forced(model, p, i) for p, i in zip(prompts, ids)])
        mx, med, agree, rows = compare(ref, got)
        mx0, med0, agree0, rows0 = compare(ref[:1], got[:1])
        print(f"{seed if eps else '0 (no noise)'} | {mx:.3g} | {med:.3g} | {agree} of {rows} | "
              f"{mx0:.3g}, {med0:.3g}, {agree0} of {rows0} | {mode.noised}, {mode.unquantized_calls}")


if __name__ == "__main__":
    main()
