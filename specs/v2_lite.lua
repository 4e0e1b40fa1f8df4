-- v2_lite: a conformance model, imported from tests/fixtures/v2_lite/hf/config.json
-- (lua5.4 gen/main.lua --hf tests/fixtures/v2_lite/hf --name v2_lite --set deploy.max_context=256
--  --set deploy.trusted_keys=tests/keys/test-signing.pub.pem --print-spec)
return {
  model = {
    name = "v2_lite",
    vocab = 1000,
    hidden = 128,
    layers = 3,
    first_k_dense = 1,
    heads = 4,
    q_lora_rank = 0,
    kv_lora_rank = 64,
    qk_nope = 32,
    qk_rope = 16,
    v_head = 32,
    dense_inter = 256,
    moe_inter = 64,
    routed_experts = 16,
    shared_experts = 2,
    experts_per_token = 4,
    n_group = 1,
    topk_group = 1,
    scoring = "softmax",
    topk_method = "greedy",
    norm_topk_prob = false,
    routed_scaling = 1.0,
    rms_eps = 1e-06,
    mtp_layers = 0,
    rope = {
      theta = 10000.0,
      yarn = {
        factor = 40.0,
        original_max = 64,
        beta_fast = 32.0,
        beta_slow = 1.0,
        mscale = 0.707,
        mscale_all_dim = 0.707,
      },
    },
  },
  deploy = {
    target = "cpu",
    max_batch = 4,
    max_context = 256,
    prefill_chunk = 256,
    weights = "bf16",
    activations = "f32",
    kv_cache = "f32",
    trusted_keys = { "tests/keys/test-signing.pub.pem" }, -- TEST ONLY key (tests/keys/README.md)
    allow_no_verify = false,
  },
}
