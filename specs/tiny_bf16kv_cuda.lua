-- tiny_bf16kv_cuda: specs/tiny_bf16kv.lua for the CUDA backend (deploy.target = "cuda"): the
-- latent cache in bf16 (mla_cache_write rounds, mla_attend widens); checked against the same
-- fixture (tests/fixtures/tiny_bf16kv) by tools/gpu-check.sh.
return {
  model = {
    name = "tiny_bf16kv_cuda", vocab = 1000, hidden = 128, layers = 3, first_k_dense = 1,
    heads = 4, q_lora_rank = 96, kv_lora_rank = 64, qk_nope = 32, qk_rope = 16, v_head = 32,
    dense_inter = 256, moe_inter = 64,
    routed_experts = 16, shared_experts = 1, experts_per_token = 4, n_group = 4, topk_group = 2,
    scoring = "sigmoid", topk_method = "noaux_tc", norm_topk_prob = true, routed_scaling = 2.5,
    rms_eps = 1e-6, mtp_layers = 1,
    rope = { theta = 10000.0,
             yarn = { factor = 4.0, original_max = 64, beta_fast = 32.0, beta_slow = 1.0,
                      mscale = 1.0, mscale_all_dim = 1.0 } },
  },
  deploy = { target = "cuda", max_batch = 4, max_context = 256,
             weights = "bf16", activations = "f32", kv_cache = "bf16" },
}
