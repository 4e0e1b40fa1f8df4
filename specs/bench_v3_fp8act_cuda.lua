-- bench_v3_fp8act_cuda: specs/bench_v3_fp8_cuda.lua with FP8 activations (deploy.activations =
-- "fp8", docs/numerics.md): its products with FP8 weights take their input quantized per 1x128
-- block, and those cuBLASLt takes run through its block-scaled FP8 GEMM (runtime/cuda/lt_linear.cu).
-- It packs bench_v3_fp8_cuda's random checkpoint (the same tensors); tools/gpu-check.sh measures
-- it beside that model (mk/cuda_bench.mk). Only its speed means anything.
return {
  model = {
    name = "bench_v3_fp8act_cuda", vocab = 129280, hidden = 1024, layers = 8, first_k_dense = 1,
    heads = 16, q_lora_rank = 512, kv_lora_rank = 256, qk_nope = 64, qk_rope = 32, v_head = 64,
    dense_inter = 2816, moe_inter = 384,
    routed_experts = 64, shared_experts = 1, experts_per_token = 6, n_group = 8, topk_group = 4,
    scoring = "sigmoid", topk_method = "noaux_tc", norm_topk_prob = true, routed_scaling = 2.5,
    rms_eps = 1e-6, mtp_layers = 0,
    rope = { theta = 10000.0,
             yarn = { factor = 40.0, original_max = 4096, beta_fast = 32.0, beta_slow = 1.0,
                      mscale = 1.0, mscale_all_dim = 1.0 } },
  },
  deploy = { target = "cuda", max_batch = 16, max_context = 1024, prefill_chunk = 512,
             weights = "fp8", activations = "fp8", kv_cache = "f32" },
}
