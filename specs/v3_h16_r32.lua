-- v3_h16_r32: a conformance model, imported from tests/fixtures/v3_h16_r32/hf/config.json
-- (lua5.4 gen/main.lua --hf tests/fixtures/v3_h16_r32/hf --name v3_h16_r32 --set deploy.max_context=1024
--  --set deploy.trusted_keys=tests/keys/test-signing.pub.pem --print-spec). Its attention has the
-- shapes of the split-KV MLA decode kernel (runtime/cuda/mla_split.cuh): 16 heads, kv_lora 256,
-- rope 32: latent cache rows of 288, the mid-size benchmark models' (specs/bench_v3_cuda.lua).
-- A context of 1024 (4 chunks of 256 positions: tools/gpu-check.sh compares a 600-token prompt
-- with the CPU build, so that the split kernel merges several chunks of these rows).
return {
  model = {
    name = "v3_h16_r32",
    vocab = 1000,
    hidden = 128,
    layers = 2,
    first_k_dense = 1,
    heads = 16,
    q_lora_rank = 96,
    kv_lora_rank = 256,
    qk_nope = 32,
    qk_rope = 32,
    v_head = 32,
    dense_inter = 256,
    moe_inter = 64,
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
    max_context = 1024,
    prefill_chunk = 256,
    weights = "bf16",
    activations = "f32",
    kv_cache = "f32",
    trusted_keys = { "tests/keys/test-signing.pub.pem" }, -- TEST ONLY key (tests/keys/README.md)
    allow_no_verify = false,
  },
}
