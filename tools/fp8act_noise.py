#!/usr/bin/env python3
"""How far the tiny_fp8act reference moves when its products are computed a little differently: the spread a
conformance bound for tiny_fp8act has to allow (tests/conformance.sh, tests/cuda/conformance.sh).

tiny_fp8act's model is tiny_fp8's checkpoint with FP8 activations: tools/make_fixtures.py's "fp8" precision,
every FP8-weight product's input quantized per 1x128 block as DeepSeek-V3's act_quant does. Quantization is a
step function. A product computed in another order moves an activation across a step now and then, and a moved
latent KV row moves every later row of its prompt. So how close a runtime can come to the fixture depends on how
far its products are from float32's. This tool measures the fixture's own spread under noise of a given size.

For each seed, the model runs teacher-forced on the fixture's three prompts and expected ids (one forward pass a
prompt, so each position is computed once, as a KV cache computes it). Every FP8-weight product gets noise, in
one of two forms:
  --where input   the quantized input times 1 + EPS N(0,1);
  --where output  the output plus EPS rms(its row) N(0,1): a product whose error is EPS normwise, as the H200's
                  block-scaled FP8 GEMM through cuBLASLt was measured (1.5e-4 to 2.2e-4 against fp64 with f32
                  output: tests/cuda/fp8_gemm_check.cu, docs/gpu-runs/2026-11-30-h200/).
The logits are compared with the fixture's as build/compare_logits compares them (max|d|/std(ref), the median of
|d|/std(ref) over all logits, argmax agreement over the 30 rows; and the same over prompt 0's 10 rows, whose
std(ref) is its own, as the conformance's batch-1 comparison has it). Seed 0 is the run without noise: how far the
one-pass teacher-forced logits are from the fixture's step-by-step ones. tests/conformance.sh has the figures
and the bounds set from them (tests/lib.sh, tolerance_gpu).

Setup as for tools/make_fixtures.py (python -m venv .venv && .venv/bin/pip install -r
tools/requirements-fixtures.txt). Run: .venv/bin/python tools/fp8act_noise.py --where output --eps 2e-4
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402  (the fixture's model and precision, as the fixture was made)


class NoisyFp8Products(torch.overrides.TorchFunctionMode):
    """mf.LinearInputs with mf.fp8_input, plus noise on the products it changes (not on the kept ones)."""

    def __init__(self, keep, where, eps, gen):
        super().__init__()
        self.keep = {w.data_ptr() for w in keep}
        self.where, self.eps, self.gen = where, eps, gen

    def noise(self, like):
        return torch.randn(like.shape, generator=self.gen, dtype=torch.float64).to(like.dtype)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is not F.linear or args[1].data_ptr() in self.keep:
            return func(*args, **kwargs)
        x = mf.fp8_input(args[0])
        if self.eps and self.where == "input":
            x = x * (1 + self.eps * self.noise(x))
        y = func(x, *args[1:], **kwargs)
        if self.eps and self.where == "output":
            rms = y.pow(2).mean(dim=-1, keepdim=True).sqrt()
            y = y + self.eps * rms * self.noise(y)
        return y


def teacher_forced(model, prompt, ids):
    """The N_GEN rows of logits that choose ids, from one pass over prompt + ids[:-1]."""
    seq = list(prompt) + list(ids[:-1])
    out = model(input_ids=torch.tensor([seq]), use_cache=False)
    return out.logits[0, len(prompt) - 1:].to(torch.float32)


def compare(ref, got):
    """build/compare_logits' three figures."""
    d = (got.double() - ref.double()).abs().flatten()
    std = float(ref.double().std(unbiased=False))
    rows = ref.reshape(-1, ref.shape[-1])
    agree = int((rows.argmax(-1) == got.reshape(-1, ref.shape[-1]).argmax(-1)).sum())
    return float(d.max()) / std, float(d.median()) / std, agree, rows.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fixtures", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
    ap.add_argument("--where", choices=("input", "output"), default="output")
    ap.add_argument("--eps", type=float, default=2e-4)
    ap.add_argument("--seeds", type=int, default=8)
    a = ap.parse_args()
    torch.set_num_threads(1)
    spec = mf.FIXTURES["tiny_fp8act"]
    base, prec = spec["base"], mf.PRECISIONS[spec["precision"]]
    C = mf.FIXTURES[base]["cfg"]
    hf = os.path.join(a.fixtures, base, "hf")
    model, _ = mf.dequantized_model(hf, mf.read_checkpoint(hf))
    model.eval()
    keep = [mod.weight for n, mod in model.named_modules() if n.endswith(prec["keep"])]
    fx = os.path.join(a.fixtures, "tiny_fp8act")
    with open(os.path.join(fx, "prompts.txt")) as f:
        prompts = [list(map(int, line.split(","))) for line in f.read().splitlines()]
    with open(os.path.join(fx, "expected_ids.txt")) as f:
        ids = [list(map(int, line.split(","))) for line in f.read().splitlines()]
    ref = torch.from_numpy(np.fromfile(os.path.join(fx, "expected_logits.bin"), dtype="<f4"))
    ref = ref.reshape(len(prompts), mf.N_GEN, C["vocab_size"])
    print(f"tiny_fp8act, teacher-forced, noise on the FP8 products' {a.where}s, eps {a.eps:g}")
    print("seed | max|d|/std | median |d|/std | argmax agrees | prompt 0 alone: max, median, argmax")
    for seed in range(a.seeds + 1):
        gen = torch.Generator().manual_seed(seed)
        mode = NoisyFp8Products(keep, a.where, a.eps if seed else 0.0, gen)
        with torch.no_grad(), mode:
            got = torch.stack([teacher_forced(model, p, i) for p, i in zip(prompts, ids)])
        mx, med, agree, rows = compare(ref, got)
        mx0, med0, agree0, rows0 = compare(ref[:1], got[:1])
        print(f"{seed if seed else '0 (no noise)'} | {mx:.3g} | {med:.3g} | {agree} of {rows} | "
              f"{mx0:.3g}, {med0:.3g}, {agree0} of {rows0}")


if __name__ == "__main__":
    main()
