-- deepseek_v3: DeepSeek-V3 (671B parameters, 37B active per token; 685B with the
-- MTP module). Every model value is the Hugging Face config.json of
-- deepseek-ai/DeepSeek-V3 (huggingface.co/deepseek-ai/DeepSeek-V3/blob/main/config.json),
-- mapped as gen/import_hf.lua maps it: hidden_size 7168, 61 layers (first 3 dense),
-- 128 heads, q_lora_rank 1536, kv_lora_rank 512, qk 128 + 64, v 128,
-- intermediate 18432, 256 routed experts of 2048 in 8 groups (top-4 groups,
-- 8 per token, noaux_tc, sigmoid, normalized, x 2.5) + 1 shared, 1 MTP layer,
-- rope_theta 10000 with YaRN x40 over 4096 positions (mscale 1.0, 1.0),
-- vocab 129280. Weights: the checkpoint's FP8 e4m3 with 128x128 block scales
-- (quantization_config fp8, weight_block_size [128, 128]); embeddings and head bf16.
--
-- deploy: one H800 (80 GiB). It does NOT fit: the FP8 weights alone are about
-- 642 GiB, so generation stops with the memory report (exit 3). That refusal is
-- the point of this spec until multi-GPU exists; `make generate-real` overrides
-- the budget to generate the code anyway (mk/real.mk), and
-- `lua5.4 gen/main.lua --spec specs/deepseek_v3.lua --print-memory` shows the report.
return {
  model = {
    name = "deepseek_v3", vocab = 129280, hidden = 7168, layers = 61, first_k_dense = 3,
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
