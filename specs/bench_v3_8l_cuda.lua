-- bench_v3_8l_cuda: DeepSeek-V3 (specs/deepseek_v3.lua) cut to its first 8 layers (3 dense, 5 MoE)
-- and without the MTP module, so that one GPU holds it: every shape of a layer is V3's (hidden
-- 7168, 128 heads of MLA with q_lora 1536 and kv_lora 512, 256 routed experts of 2048 in 8 groups,
-- 8 per token, 1 shared, the 129280-token vocabulary), the weights FP8 e4m3 in 128x128 blocks
-- (embeddings and output head bf16) as in the checkpoint: about 64 GB. No checkpoint exists for it;
-- tools/gpu-check.sh times its decode on synthetic weights made on the device
-- (tests/cuda/synth_decode.c; docs/cuda.md, "Real shapes on synthetic weights"): a decode step of
-- V3 at batch 1 is about 61/8 of this one's layers plus the same output head.
return {
  model = {
    name = "bench_v3_8l_cuda", vocab = 129280, hidden = 7168, layers = 8, first_k_dense = 3,
    heads = 128, q_lora_rank = 1536, kv_lora_rank = 512, qk_nope = 128, qk_rope = 64, v_head = 128,
    dense_inter = 18432, moe_inter = 2048,
    routed_experts = 256, shared_experts = 1, experts_per_token = 8, n_group = 8, topk_group = 4,
    scoring = "sigmoid", topk_method = "noaux_tc", norm_topk_prob = true, routed_scaling = 2.5,
    rms_eps = 1e-6, mtp_layers = 0,
    rope = { theta = 10000.0,
             yarn = { factor = 40.0, original_max = 4096, beta_fast = 32.0, beta_slow = 1.0,
                      mscale = 1.0, mscale_all_dim = 1.0 } },
  },
  deploy = { target = "cuda", max_batch = 8, max_context = 4096, gpu_memory_gib = 80,
             weights = "fp8", activations = "f32", kv_cache = "f32" },
}
