/* weights.h: byte offset of every tensor of v3_h16_r32_cuda's packed weights
 * (data section; see manifest.json), with the checkpoint tensor it comes from
 * and its packed dtype and shape (an FP8 weight's scale rows padded to a
 * multiple of 4: docs/weights-format.md). Generated; do not edit. */
#ifndef DF_GENERATED_WEIGHTS_H
#define DF_GENERATED_WEIGHTS_H

#define EMBED                           0u /* model.embed_tokens.weight bf16 [1000][128] */
#define L0_ATTN_NORM               256000u /* model.layers.0.input_layernorm.weight f32 [128] */
#define L0_Q_A_PROJ                256512u /* model.layers.0.self_attn.q_a_proj.weight bf16 [96][128] */
#define L0_Q_A_NORM                281088u /* model.layers.0.self_attn.q_a_layernorm.weight f32 [96] */
#define L0_Q_B_PROJ                281472u /* model.layers.0.self_attn.q_b_proj.weight bf16 [1024][96] */
#define L0_KV_A_PROJ               478080u /* model.layers.0.self_attn.kv_a_proj_with_mqa.weight bf16 [288][128] */
#define L0_KV_A_NORM               551808u /* model.layers.0.self_attn.kv_a_layernorm.weight f32 [256] */
#define L0_KV_B_PROJ               552832u /* model.layers.0.self_attn.kv_b_proj.weight bf16 [1024][256] */
#define L0_O_PROJ                 1077120u /* model.layers.0.self_attn.o_proj.weight bf16 [128][512] */
#define L0_FFN_NORM               1208192u /* model.layers.0.post_attention_layernorm.weight f32 [128] */
#define L0_GATE_PROJ              1208704u /* model.layers.0.mlp.gate_proj.weight bf16 [256][128] */
#define L0_UP_PROJ                1274240u /* model.layers.0.mlp.up_proj.weight bf16 [256][128] */
#define L0_DOWN_PROJ              1339776u /* model.layers.0.mlp.down_proj.weight bf16 [128][256] */
#define L1_ATTN_NORM              1405312u /* model.layers.1.input_layernorm.weight f32 [128] */
#define L1_Q_A_PROJ               1405824u /* model.layers.1.self_attn.q_a_proj.weight bf16 [96][128] */
#define L1_Q_A_NORM               1430400u /* model.layers.1.self_attn.q_a_layernorm.weight f32 [96] */
#define L1_Q_B_PROJ               1430784u /* model.layers.1.self_attn.q_b_proj.weight bf16 [1024][96] */
#define L1_KV_A_PROJ              1627392u /* model.layers.1.self_attn.kv_a_proj_with_mqa.weight bf16 [288][128] */
#define L1_KV_A_NORM              1701120u /* model.layers.1.self_attn.kv_a_layernorm.weight f32 [256] */
#define L1_KV_B_PROJ              1702144u /* model.layers.1.self_attn.kv_b_proj.weight bf16 [1024][256] */
#define L1_O_PROJ                 2226432u /* model.layers.1.self_attn.o_proj.weight bf16 [128][512] */
#define L1_FFN_NORM               2357504u /* model.layers.1.post_attention_layernorm.weight f32 [128] */
#define L1_ROUTER                 2358016u /* model.layers.1.mlp.gate.weight f32 [16][128] */
#define L1_ROUTER_BIAS            2366208u /* model.layers.1.mlp.gate.e_score_correction_bias f32 [16] */
#define L1_E0_GATE_PROJ           2366272u /* model.layers.1.mlp.experts.0.gate_proj.weight bf16 [64][128] */
#define L1_E0_UP_PROJ             2382656u /* model.layers.1.mlp.experts.0.up_proj.weight bf16 [64][128] */
#define L1_E0_DOWN_PROJ           2399040u /* model.layers.1.mlp.experts.0.down_proj.weight bf16 [128][64] */
#define L1_E1_GATE_PROJ           2415424u /* model.layers.1.mlp.experts.1.gate_proj.weight bf16 [64][128] */
#define L1_E1_UP_PROJ             2431808u /* model.layers.1.mlp.experts.1.up_proj.weight bf16 [64][128] */
#define L1_E1_DOWN_PROJ           2448192u /* model.layers.1.mlp.experts.1.down_proj.weight bf16 [128][64] */
#define L1_E2_GATE_PROJ           2464576u /* model.layers.1.mlp.experts.2.gate_proj.weight bf16 [64][128] */
#define L1_E2_UP_PROJ             2480960u /* model.layers.1.mlp.experts.2.up_proj.weight bf16 [64][128] */
#define L1_E2_DOWN_PROJ           2497344u /* model.layers.1.mlp.experts.2.down_proj.weight bf16 [128][64] */
#define L1_E3_GATE_PROJ           2513728u /* model.layers.1.mlp.experts.3.gate_proj.weight bf16 [64][128] */
#define L1_E3_UP_PROJ             2530112u /* model.layers.1.mlp.experts.3.up_proj.weight bf16 [64][128] */
#define L1_E3_DOWN_PROJ           2546496u /* model.layers.1.mlp.experts.3.down_proj.weight bf16 [128][64] */
#define L1_E4_GATE_PROJ           2562880u /* model.layers.1.mlp.experts.4.gate_proj.weight bf16 [64][128] */
#define L1_E4_UP_PROJ             2579264u /* model.layers.1.mlp.experts.4.up_proj.weight bf16 [64][128] */
#define L1_E4_DOWN_PROJ           2595648u /* model.layers.1.mlp.experts.4.down_proj.weight bf16 [128][64] */
#define L1_E5_GATE_PROJ           2612032u /* model.layers.1.mlp.experts.5.gate_proj.weight bf16 [64][128] */
#define L1_E5_UP_PROJ             2628416u /* model.layers.1.mlp.experts.5.up_proj.weight bf16 [64][128] */
#define L1_E5_DOWN_PROJ           2644800u /* model.layers.1.mlp.experts.5.down_proj.weight bf16 [128][64] */
#define L1_E6_GATE_PROJ           2661184u /* model.layers.1.mlp.experts.6.gate_proj.weight bf16 [64][128] */
#define L1_E6_UP_PROJ             2677568u /* model.layers.1.mlp.experts.6.up_proj.weight bf16 [64][128] */
#define L1_E6_DOWN_PROJ           2693952u /* model.layers.1.mlp.experts.6.down_proj.weight bf16 [128][64] */
#define L1_E7_GATE_PROJ           2710336u /* model.layers.1.mlp.experts.7.gate_proj.weight bf16 [64][128] */
#define L1_E7_UP_PROJ             2726720u /* model.layers.1.mlp.experts.7.up_proj.weight bf16 [64][128] */
#define L1_E7_DOWN_PROJ           2743104u /* model.layers.1.mlp.experts.7.down_proj.weight bf16 [128][64] */
#define L1_E8_GATE_PROJ           2759488u /* model.layers.1.mlp.experts.8.gate_proj.weight bf16 [64][128] */
#define L1_E8_UP_PROJ             2775872u /* model.layers.1.mlp.experts.8.up_proj.weight bf16 [64][128] */
#define L1_E8_DOWN_PROJ           2792256u /* model.layers.1.mlp.experts.8.down_proj.weight bf16 [128][64] */
#define L1_E9_GATE_PROJ           2808640u /* model.layers.1.mlp.experts.9.gate_proj.weight bf16 [64][128] */
#define L1_E9_UP_PROJ             2825024u /* model.layers.1.mlp.experts.9.up_proj.weight bf16 [64][128] */
#define L1_E9_DOWN_PROJ           2841408u /* model.layers.1.mlp.experts.9.down_proj.weight bf16 [128][64] */
#define L1_E10_GATE_PROJ          2857792u /* model.layers.1.mlp.experts.10.gate_proj.weight bf16 [64][128] */
#define L1_E10_UP_PROJ            2874176u /* model.layers.1.mlp.experts.10.up_proj.weight bf16 [64][128] */
#define L1_E10_DOWN_PROJ          2890560u /* model.layers.1.mlp.experts.10.down_proj.weight bf16 [128][64] */
#define L1_E11_GATE_PROJ          2906944u /* model.layers.1.mlp.experts.11.gate_proj.weight bf16 [64][128] */
#define L1_E11_UP_PROJ            2923328u /* model.layers.1.mlp.experts.11.up_proj.weight bf16 [64][128] */
#define L1_E11_DOWN_PROJ          2939712u /* model.layers.1.mlp.experts.11.down_proj.weight bf16 [128][64] */
#define L1_E12_GATE_PROJ          2956096u /* model.layers.1.mlp.experts.12.gate_proj.weight bf16 [64][128] */
#define L1_E12_UP_PROJ            2972480u /* model.layers.1.mlp.experts.12.up_proj.weight bf16 [64][128] */
#define L1_E12_DOWN_PROJ          2988864u /* model.layers.1.mlp.experts.12.down_proj.weight bf16 [128][64] */
#define L1_E13_GATE_PROJ          3005248u /* model.layers.1.mlp.experts.13.gate_proj.weight bf16 [64][128] */
#define L1_E13_UP_PROJ            3021632u /* model.layers.1.mlp.experts.13.up_proj.weight bf16 [64][128] */
#define L1_E13_DOWN_PROJ          3038016u /* model.layers.1.mlp.experts.13.down_proj.weight bf16 [128][64] */
#define L1_E14_GATE_PROJ          3054400u /* model.layers.1.mlp.experts.14.gate_proj.weight bf16 [64][128] */
#define L1_E14_UP_PROJ            3070784u /* model.layers.1.mlp.experts.14.up_proj.weight bf16 [64][128] */
#define L1_E14_DOWN_PROJ          3087168u /* model.layers.1.mlp.experts.14.down_proj.weight bf16 [128][64] */
#define L1_E15_GATE_PROJ          3103552u /* model.layers.1.mlp.experts.15.gate_proj.weight bf16 [64][128] */
#define L1_E15_UP_PROJ            3119936u /* model.layers.1.mlp.experts.15.up_proj.weight bf16 [64][128] */
#define L1_E15_DOWN_PROJ          3136320u /* model.layers.1.mlp.experts.15.down_proj.weight bf16 [128][64] */
#define L1_SHARED_GATE_PROJ       3152704u /* model.layers.1.mlp.shared_experts.gate_proj.weight bf16 [64][128] */
#define L1_SHARED_UP_PROJ         3169088u /* model.layers.1.mlp.shared_experts.up_proj.weight bf16 [64][128] */
#define L1_SHARED_DOWN_PROJ       3185472u /* model.layers.1.mlp.shared_experts.down_proj.weight bf16 [128][64] */
#define NORM                      3201856u /* model.norm.weight f32 [128] */
#define LM_HEAD                   3202368u /* lm_head.weight bf16 [1000][128] */

#endif
