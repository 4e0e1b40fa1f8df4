-- deepseek_v3_1: DeepSeek-V3.1 (671B; 685B with the MTP module), the hybrid
-- thinking / non-thinking successor of V3. Every model value is the Hugging Face
-- config.json of deepseek-ai/DeepSeek-V3.1 (huggingface.co/deepseek-ai/DeepSeek-V3.1),
-- mapped as gen/import_hf.lua maps it: the same shapes as DeepSeek-V3
-- (specs/deepseek_v3.lua has them spelled out), only the name differs. Its
-- quantization_config adds scale_fmt "ue8m0" (block scales that are powers of
-- two, still stored as f32 weight_scale_inv), which the reference precision does
-- not need: weights are FP8 e4m3 with 128x128 block scales, as V3. FP8
-- activations (deploy.activations = "fp8") would need power-of-two activation
-- scales too; importing this config with them is refused.
--
-- deploy: one H800 (80 GiB), refused as V3 is (about 642 GiB of weights); see
-- specs/deepseek_v3.lua and mk/real.mk.
return {
  model = {
    name = "deepseek_v3_1", vocab = 129280, hidden = 7168, layers = 61, first_k_dense = 3,
    heads = 128, q_lora_rank = 1536, kv_lora_rank = 512, qk_nope = 128, qk_rope = 64, v_head = 128,
    dense_inter = 18432, moe_inter = 2048,
    routed_experts = 256, shared_experts = 1, experts_per_token = 8, n_group = 8, topk_group = 4,
    scoring = "sigmoid", topk_method = "noaux_tc", norm_topk_prob = true, routed_scaling = 2.5,
    rms_eps = 1e-6, mtp_layers = 1,
    rope = { theta = 10000.0,
             yarn = { factor = 40.0, original_max = 4096, beta_fast = 32.0, beta_slow = 1.0,
                      mscale = 1.0, mscale_all_dim = 1.0 } },
  },
  deploy = { target = "cuda", max_batch = 8, max_context = 8192, gpu_memory_gib = 80,
             weights = "fp8", activations = "f32", kv_cache = "f32" },
}
