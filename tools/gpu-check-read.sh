# gpu-check-read.sh: what tools/gpu-check.sh reads out of its programs' outputs for its table,
# one function each, sourced by it. CI runs each of them on the real programs' real output
# (tests/simt/gpu_check_read.sh: the device programs on the emulated device, the host ones as
# they are), so that an output line that changed fails a check there instead of leaving a "?"
# in the table of a rare GPU session; not fp8_gemm_check's lines (its shapes are too large to
# emulate). POSIX sh. Each reads the file it is given; those that pick a value print nothing
# when its line is not there (read_floor says so in its sentence).

# compare_logits's max|d|/std (tests/compare_logits.c)
read_max_d() { sed -n 's/.*max|d|\/std \([^ ]*\).*/\1/p' "$1" 2>/dev/null; }

# DF_CUDA_STATS (runtime/cuda/cuda_backend.cu, at exit): a decode step's mean ms after the first
# step (which captures the graph), the wall time a decode step took, a prefill step's mean ms
read_decode_ms() { sed -n 's/.*cuda stats: decode [0-9]* steps.*after the first \([0-9.]*\) ms\/step.*/\1/p' "$1"; }
read_wall_ms() { sed -n 's/.*cuda stats: decode [0-9]* steps.*, wall \([0-9.]*\) ms\/step.*/\1/p' "$1"; }
read_prefill_ms() { sed -n 's/.*cuda stats: prefill [0-9]* steps, \([0-9.]*\) ms\/step.*/\1/p' "$1"; }
# ... and one token's products as the first decode step of one token timed them in its graph
# (linear_one.cuh: without DF_CUDA_LINEAR_ONE on a GPU): "W / R / A ms/step, KIND kept"
read_tuned() { sed -n 's/.*cuda stats: decode graph of 1 token(s), one token.s products linear_k \/ rows \/ async: \(.*\)/\1/p' "$1"; }

# ncu's text report with the SpeedOfLight, MemoryWorkloadAnalysis, WarpStateStats and LaunchStats
# sections (ncu_linear.txt, ncu_latency.txt, ncu_v3_*.txt): each profiled kernel, "i name (grid
# X): D us, memory M%, DRAM R%, L2 T%, L1 U% (hit H%), C cycles between a warp's instructions (W
# cycles waiting for what)", "; " between kernels (L2 and L1: their throughput against their peaks;
# hit: of the L1/TEX cache's requests, which tell whether a product's token stays in L1). An FP8
# one-token product whose L1 is near 100% while DRAM is far from it is bound by its reads of the
# token (docs/cuda.md, "What remains": a warp's 16-byte loads of it span 16 cache lines).
# The waiting is ncu's own sentence about the largest stall, cut after its reason.
read_ncu_kernels() {
    awk '/ Context [0-9]+, Stream / { n++; name[n] = $0; sub(/^ *(void )?/, "", name[n]); sub(/[<(].*/, "", name[n])
                                       if (match($0, /\([0-9]+, [0-9]+, [0-9]+\)x/)) g[n] = substr($0, RSTART + 1, RLENGTH - 3) }
         / Duration / { d[n] = $NF " " $(NF - 1) } /^ *Memory Throughput +%/ { mt[n] = $NF }
         /^ *DRAM Throughput +%/ { dr[n] = $NF } /^ *Warp Cycles Per Issued Instruction / { wc[n] = $NF }
         /^ *L2 Cache Throughput +%/ { l2[n] = $NF } /^ *L1\/TEX Hit Rate +%/ { l1[n] = $NF }
         /^ *L1\/TEX Cache Throughput +%/ { l1t[n] = $NF }
         /each warp of this workload spends .* cycles being stalled/ && !(n in st) {
             w = $0; sub(/.*spends /, "", w); sub(/ cycles being stalled/, " cycles", w); sub(/ *$/, "", w); st[n] = w }
         END { for (i = 1; i <= n; i++)
                   printf "%s%d %s (grid %s): %s, memory %s%%, DRAM %s%%, L2 %s%%, L1 %s%% (hit %s%%), %s cycles between a warp'"'"'s instructions (%s)",
                       (i > 1 ? "; " : ""), i, name[i], g[i], d[i], mt[i], dr[i], l2[i], l1t[i], l1[i], wc[i], st[i] }' "$1"
}

# DF_CUDA_PROFILE (the same file): FILE PHASE (decode or prefill): the phase's kernels' ms a step;
# its four largest kernels, "name share% (ms ms); ..."; a decode step's launches, summed
read_profile_ms() { sed -n "s/.*cuda profile: $2, [0-9]* steps, \([0-9.]*\) ms\/step.*/\1/p" "$1"; }
read_profile_top() {
    sed -n "s/.*cuda profile: $2 \(.*[^ ]\)  *\([0-9.]*%\)  *\([0-9.]*\) ms\/step.*/\1 \2 (\3 ms)/p" "$1" |
        head -n 4 | tr '\n' ';' | sed 's/;$//; s/;/; /g'
}
read_launches() {
    sed -n 's/.*cuda profile: decode .* \([0-9][0-9.]*\) launches\/step.*/\1/p' "$1" |
        awk '{ s += $1 } END { if (s > 0) printf "%d", s + 0.5 }'
}

# read_floor B MS MS_NO_GRAPHS FLOOR_FILE GBS: a decode step of batch B that took MS ms (and
# MS_NO_GRAPHS without graphs, when given) against decode_floor's line for B in FLOOR_FILE
# (tests/cuda/decode_floor.c: the weight bytes a step reads; its floor at the copy bandwidth GBS)
read_floor() {
    awk -v b="$1" -v ms="$2" -v ms0="$3" -v bw="$5" '
        $3 == "batch" && $4 == b && by == "" { by = $6; u = $8; lo = $10; hi = $12; f = ($13 == "floor_ms") ? $14 : "" }
        END {
            s = (ms + 0 > 0) ? sprintf("%.3f ms/step, %.0f tok/s", ms, b * 1000 / ms) : "? ms/step"
            if (ms0 + 0 > 0) s = s sprintf(" (without graphs %.3f ms)", ms0)
            if (by == "") { print s "; ? (no decode_floor line for batch " b ")"; exit }
            s = s sprintf("; %.1f MB of weights/step", by / 1e6)
            if (b > 1) s = s sprintf(" (expected union: %.2f experts per MoE layer; %.1f to %.1f MB)", u, lo / 1e6, hi / 1e6)
            if (f + 0 > 0) {
                s = s sprintf(", floor %.3f ms at %s GB/s", f, bw)
                if (ms + 0 > 0) s = s sprintf("; %.2fx the floor (floor = %.0f%% of the step)%s", ms / f, 100 * f / ms,
                                              b == 1 ? (ms / f <= 1.3 ? ", goal <= 1.3x met" : ", goal <= 1.3x not met") : "")
            } else s = s ", floor ? (no bandwidth measured)"
            print s
        }' "$4"
}

# CONFIG_H NAME: a number the generated config.h defines (MAX_BATCH, MAX_CONTEXT, VOCAB, ...)
read_define() { sed -n "s/^#define $2 *\([0-9]*\).*/\1/p" "$1"; }
# nvcc --version's release, "13.0 (V13.0.88)"
read_nvcc() { sed -n 's/.*release \([0-9.]*\), V\([0-9.]*\).*/\1 (V\2)/p' "$1"; }
# the weight bytes a generated manifest.c declares
read_weight_bytes() { sed -n 's/.*\.data_bytes = \([0-9]*\)u.*/\1/p' "$1"; }
# the cuBLASLt algorithms an audit record lists ("gemms"), its first 300 characters
read_gemms() { sed -n 's/^  "gemms": \(.*\),$/\1/p' "$1" | cut -c1-300; }
# the packers' lines in a make log: "model 12.3 MB in 0.4 s, ..."
read_packs() {
    sed -n 's/^\([A-Za-z0-9_]*\)-pack: [0-9]* tensors.*, \([0-9.]* MB\) in \([0-9.]* s\).*/\1 \2 in \3/p' "$1" |
        tr '\n' ',' | sed 's/,$//; s/,/, /g'
}
# trace_diff's verdict, its first line, with the table's bars escaped
read_trace_diff() { sed 's/^trace_diff: //; s/|/\\|/g' "$1" | head -n 1; }

# build/cuda/bandwidth: the best copy's GB/s
read_bandwidth() { sed -n 's/.*best [0-9.]* ms = \([0-9.]*\) GB\/s.*/\1/p' "$1"; }
# build/cuda/launch_floor: its summary, from "N launches: graph ..."
read_launch_floor() { sed -n 's/^launch_floor: \([0-9]* launches: .*\)/\1/p' "$1"; }

# build/cuda/mla_check: its verdict ("60 cases, 0 failed, ..."); the tf32 roundings' line; one
# "configuration<TAB>figures" line per timed configuration; mla_check stages: one
# "configuration, batch<TAB>summary" line per configuration and batch
read_mla_cases() { sed -n 's/^mla_check: \([0-9]* cases.*\)/\1/p' "$1"; }
read_mla_tf32() { sed -n 's/^mla_check: tf32 roundings on the device = the host.s \(.*\)/\1/p' "$1"; }
read_mla_rows() { sed -n 's/^mla_check: \(v2lite\|v3\)\(-bf16\)\{0,1\} \([^:]*\): \(.*\)$/\1\2 \3\t\4/p' "$1"; }
read_mla_stages() { sed -n 's/^mla_check stages: \([^:]*\): \(.*\)$/\1\t\2/p' "$1"; }

# build/cuda/sample_check: its verdict ("N rows sampled ..."); one launch's time
read_sample_verdict() { sed -n 's/^sample_check: \([0-9]* rows sampled.*\)/\1/p' "$1"; }
read_sample_time() { sed -n 's/^sample_check: time [^:]*: //p' "$1"; }
read_greedy_time() { sed -n 's/^sample_check: greedy time [^:]*: //p' "$1"; }
# build/cuda/fp8_gemm_check: FILE PREFIX: what follows "fp8_gemm_check: PREFIX" on its first line
read_fp8() { sed -n "s/^fp8_gemm_check: $2//p" "$1" | head -n 1; }
