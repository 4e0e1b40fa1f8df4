-- deepseek_v2_lite: DeepSeek-V2-Lite (15.7B parameters, 2.4B active per token).
-- Every model value is the Hugging Face config.json of deepseek-ai/DeepSeek-V2-Lite
-- (huggingface.co/deepseek-ai/DeepSeek-V2-Lite/blob/main/config.json), mapped as
-- gen/import_hf.lua maps it: hidden_size 2048, 27 layers (the first dense), 16
-- heads, q_lora_rank null (a plain q_proj: 0 here), kv_lora_rank 512, qk 128 + 64,
-- v 128, intermediate 10944, 64 routed experts of 1408 (one group, greedy top-6,
-- softmax, not renormalized, x 1.0) + 2 shared, no MTP layer, rope_theta 10000
-- with YaRN x40 over 4096 positions (mscale 0.707, 0.707), vocab 102400.
-- Weights: the checkpoint's bf16 (torch_dtype bfloat16).
--
-- deploy: one H800 (80 GiB): about 29 GiB of weights, 8 sequences of up to 32K
-- tokens (V2-Lite's trained context) in a 15 GiB f32 KV cache; it fits.
return {
  model = {
    name = "deepseek_v2_lite", vocab = 102400, hidden = 2048, layers = 27, first_k_dense = 1,
    heads = 16, q_lora_rank = 0, kv_lora_rank = 512, qk_nope = 128, qk_rope = 64, v_head = 128,
    dense_inter = 10944, moe_inter = 1408,
    routed_experts = 64, shared_experts = 2, experts_per_token = 6, n_group = 1, topk_group = 1,
    scoring = "softmax", topk_method = "greedy", norm_topk_prob = false, routed_scaling = 1.0,
    rms_eps = 1e-6, mtp_layers = 0,
    rope = { theta = 10000.0,
             yarn = { factor = 40.0, original_max = 4096, beta_fast = 32.0, beta_slow = 1.0,
                      mscale = 0.707, mscale_all_dim = 0.707 } },
  },
  deploy = { target = "cuda", max_batch = 8, max_context = 32768, gpu_memory_gib = 80,
             weights = "bf16", activations = "f32", kv_cache = "f32" },
}
