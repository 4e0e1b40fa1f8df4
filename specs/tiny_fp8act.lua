-- tiny_fp8act: the FP8 conformance model (specs/tiny_fp8.lua, the same checkpoint) with FP8
-- activations: every product with FP8 weights takes its input quantized to e4m3 with one
-- scale per 1x128 block, as DeepSeek-V3's act_quant does (docs/numerics.md). Checked against
-- HF transformers with the same quantization (tests/fixtures/tiny_fp8act).
-- (lua5.4 gen/main.lua --hf tests/fixtures/tiny_fp8act/hf --name tiny_fp8act --set deploy.max_context=256
--  --set deploy.activations=fp8 --set deploy.trusted_keys=tests/keys/test-signing.pub.pem --print-spec)
return {
  model = {
    name = "tiny_fp8act",
    vocab = 1000,
    hidden = 200,
    layers = 2,
    first_k_dense = 1,
    heads = 4,
    q_lora_rank = 136,
    kv_lora_rank = 144,
    qk_nope = 32,
    qk_rope = 16,
    v_head = 40,
    dense_inter = 328,
    moe_inter = 72,
    routed_experts = 16,
    shared_experts = 1,
    experts_per_token = 4,
    n_group = 4,
    topk_group = 2,
    scoring = "sigmoid",
    topk_method = "noaux_tc",
    norm_topk_prob = true,
    routed_scaling = 2.5,
    rms_eps = 1e-06,
    mtp_layers = 0,
    rope = {
      theta = 10000.0,
      yarn = {
        factor = 4.0,
        original_max = 64,
        beta_fast = 32.0,
        beta_slow = 1.0,
        mscale = 1.0,
        mscale_all_dim = 1.0,
      },
    },
  },
  deploy = {
    target = "cpu",
    max_batch = 4,
    max_context = 256,
    prefill_chunk = 256,
    weights = "fp8",
    activations = "fp8",
    kv_cache = "f32",
    trusted_keys = { "tests/keys/test-signing.pub.pem" }, -- TEST ONLY key (tests/keys/README.md)
    allow_no_verify = false,
  },
}
