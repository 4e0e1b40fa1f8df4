-- deepseek_coder_v2_lite: DeepSeek-Coder-V2-Lite (15.7B parameters, 2.4B active per
-- token), DeepSeek-V2-Lite further trained on code. Every model value is the
-- Hugging Face config.json of deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct
-- (huggingface.co/deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct/blob/main/config.json;
-- -Lite-Base has the same), mapped as gen/import_hf.lua maps it: the shapes,
-- routing and YaRN of DeepSeek-V2-Lite (specs/deepseek_v2_lite.lua has them
-- spelled out); only the name differs. Weights: the checkpoint's bf16.
--
-- deploy: one H800 (80 GiB): about 29 GiB of weights, 2 sequences of up to 128K
-- tokens (its YaRN context: 40 x 4096 positions, rounded down to 2^17) in a 15 GiB
-- f32 KV cache; it fits.
return {
  model = {
    name = "deepseek_coder_v2_lite", vocab = 102400, hidden = 2048, layers = 27, first_k_dense = 1,
    heads = 16, q_lora_rank = 0, kv_lora_rank = 512, qk_nope = 128, qk_rope = 64, v_head = 128,
    dense_inter = 10944, moe_inter = 1408,
    routed_experts = 64, shared_experts = 2, experts_per_token = 6, n_group = 1, topk_group = 1,
    scoring = "softmax", topk_method = "greedy", norm_topk_prob = false, routed_scaling = 1.0,
    rms_eps = 1e-6, mtp_layers = 0,
    rope = { theta = 10000.0,
             yarn = { factor = 40.0, original_max = 4096, beta_fast = 32.0, beta_slow = 1.0,
                      mscale = 0.707, mscale_all_dim = 0.707 } },
  },
  deploy = { target = "cuda", max_batch = 2, max_context = 131072, gpu_memory_gib = 80,
             weights = "bf16", activations = "f32", kv_cache = "f32" },
}
