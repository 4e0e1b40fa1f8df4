-- bench_v3_bf16act: specs/bench_v3.lua with bf16 activations (deploy.activations:
-- every product with bf16 weights takes bf16 inputs, docs/numerics.md), for
-- `make bench` (bench/README.md). bench_v3: DeepSeek-V3 in
-- shape, scaled to about 1.7 GB of bf16 weights: the real vocabulary, 8 layers
-- (the first dense), low-rank q and kv, 64 routed experts in 8 groups (noaux_tc,
-- 4 groups kept, 6 experts per token) plus 1 shared, YaRN as in V3. Its
-- weights are random (bench/random_checkpoint.c), so only its speed means
-- anything. specs/bench_v3_fp8.lua is the same model with FP8 block weights.
return {
  model = {
    name = "bench_v3_bf16act", vocab = 129280, hidden = 1024, layers = 8, first_k_dense = 1,
    heads = 16, q_lora_rank = 512, kv_lora_rank = 256, qk_nope = 64, qk_rope = 32, v_head = 64,
    dense_inter = 2816, moe_inter = 384,
    routed_experts = 64, shared_experts = 1, experts_per_token = 6, n_group = 8, topk_group = 4,
    scoring = "sigmoid", topk_method = "noaux_tc", norm_topk_prob = true, routed_scaling = 2.5,
    rms_eps = 1e-6, mtp_layers = 0,
    rope = { theta = 10000.0,
             yarn = { factor = 40.0, original_max = 4096, beta_fast = 32.0, beta_slow = 1.0,
                      mscale = 1.0, mscale_all_dim = 1.0 } },
  },
  deploy = { target = "cpu", max_batch = 16, max_context = 1024, prefill_chunk = 512,
             weights = "bf16", activations = "bf16", kv_cache = "f32" },
}
