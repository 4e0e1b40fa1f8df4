-- deepseek_v2: DeepSeek-V2 (236B parameters, 21B active per token). Every model
-- value is the Hugging Face config.json of deepseek-ai/DeepSeek-V2
-- (huggingface.co/deepseek-ai/DeepSeek-V2/blob/main/config.json), mapped as
-- gen/import_hf.lua maps it: hidden_size 5120, 60 layers (the first dense), 128
-- heads, q_lora_rank 1536, kv_lora_rank 512, qk 128 + 64, v 128, intermediate
-- 12288, 160 routed experts of 1536 in 8 groups (group_limited_greedy: the top-3
-- groups by their best expert, 6 experts per token, softmax, not renormalized,
-- x 16.0) + 2 shared, no MTP layer (num_nextn_predict_layers absent), rope_theta
-- 10000 with YaRN x40 over 4096 positions (mscale 0.707, 0.707), vocab 102400.
-- Weights: the checkpoint's bf16 (torch_dtype bfloat16, no quantization_config).
--
-- deploy: one H800 (80 GiB). It does NOT fit (about 440 GiB of bf16 weights):
-- generation stops with the memory report until multi-GPU exists; see
-- specs/deepseek_v3.lua and mk/real.mk.
return {
  model = {
    name = "deepseek_v2", vocab = 102400, hidden = 5120, layers = 60, first_k_dense = 1,
    heads = 128, q_lora_rank = 1536, kv_lora_rank = 512, qk_nope = 128, qk_rope = 64, v_head = 128,
    dense_inter = 12288, moe_inter = 1536,
    routed_experts = 160, shared_experts = 2, experts_per_token = 6, n_group = 8, topk_group = 3,
    scoring = "softmax", topk_method = "group_limited_greedy", norm_topk_prob = false, routed_scaling = 16.0,
    rms_eps = 1e-6, mtp_layers = 0,
    rope = { theta = 10000.0,
             yarn = { factor = 40.0, original_max = 4096, beta_fast = 32.0, beta_slow = 1.0,
                      mscale = 0.707, mscale_all_dim = 0.707 } },
  },
  deploy = { target = "cuda", max_batch = 8, max_context = 8192, gpu_memory_gib = 80,
             weights = "bf16", activations = "f32", kv_cache = "f32" },
}
