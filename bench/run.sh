#!/bin/sh
# run.sh DIR MODEL...: the table `make bench` prints (bench/README.md).
# Measures the machine once (read bandwidth, FMA peak), then each model with
# 1 and 2 threads, and prints every figure as median (min-max) of
# $BENCH_RUNS runs, with the load average before and after: the figures of a
# shared machine are only as good as its quiet.
dir=$1
shift
runs=${BENCH_RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$dir/$1/bench" --machine --runs "$runs" >"$tmp/machine" || exit 1
val() { awk -v k="$1" -v i="$2" '$1 == k { print $i }' "$tmp/machine"; }
bw1=$(val machine_bw1 2) bw2=$(val machine_bw2 2) fma1=$(val machine_fma1 2) fma2=$(val machine_fma2 2)
dot=$(val machine_dot1 2)
[ -n "$dot" ] && dot="--dot1 $dot --dot2 $(val machine_dot2 2)" # where the CPU has AVX-512 BF16
for m in "$@"; do
    # shellcheck disable=SC2086
    "$dir/$m/bench" --weights "$dir/$m/$m.weights" --threads 1,2 --runs "$runs" \
        --bw1 "$bw1" --bw2 "$bw2" --fma1 "$fma1" --fma2 "$fma2" $dot >"$tmp/$m" || exit 1
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

cpu=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n 1)
echo "deepfreeze CPU benchmark: $cpu, $(nproc) CPUs, $(head -n 1 "$tmp/machine" | sed 's/^machine: //')"
echo "medians of $runs runs (min-max); load average before $load_before, after $load_after"
echo
awk '
function r(x, lo, hi, d) { return sprintf("%.*f (%.*f-%.*f)", d, x, d, lo, d, hi) }
$1 == "machine_bw1" { b1 = r($2, $3, $4, 2) } $1 == "machine_bw2" { b2 = r($2, $3, $4, 2) }
$1 == "machine_fma1" { f1 = r($2, $3, $4, 1) } $1 == "machine_fma2" { f2 = r($2, $3, $4, 1) }
$1 == "machine_dot1" { d1 = r($2, $3, $4, 1) } $1 == "machine_dot2" { d2 = r($2, $3, $4, 1) }
END {
    printf "%-44s %-30s %-30s\n", "machine", "1 thread", "2 threads"
    printf "%-44s %-30s %-30s\n", "  read bandwidth, GB/s", b1, b2
    printf "%-44s %-30s %-30s\n", "  f32 FMA peak, GFLOPS", f1, f2
    if (d1 != "") printf "%-44s %-30s %-30s\n", "  bf16 dot peak (vdpbf16ps), GFLOPS", d1, d2
}' "$tmp/machine"

for m in "$@"; do
    echo
    awk '
    function r(x, lo, hi, d) { return sprintf("%.*f (%.*f-%.*f)", d, x, d, lo, d, hi) }
    function row(label, a, b) { printf "%-44s %-30s %-30s\n", label, a, b }
    $1 == "model" { head = $0 }
    $1 ~ /^prefill/ { k = $1; t = $2; v[k, t] = r($3, $4, $5, 0); pk[k, t] = sprintf("%.1f GFLOPS, %s%% of peak", $7, $9)
                      if ($10 == "dotpeak") { dk[k, t] = sprintf("%s%% of bf16 dot peak", $11); dot = 1 } }
    $1 ~ /^decode/ { k = $1; t = $2; v[k, t] = r($3, $4, $5, 1); ms[k, t] = sprintf("%.1f ms", $7)
                     mb[k, t] = sprintf("%.1f MB", $9); gb[k, t] = sprintf("%.2f GB/s, %s%% of read bw", $11, $13)
                     if (!(k in seen)) { order[++n] = k; seen[k] = 1 } }
    $1 == "rss" { rss = sprintf("%.0f MB peak: weights + arena (%.0f MB) %s%%", $2, $3, $4) }
    END {
        sub(/^model /, "", head); print head
        row("", "1 thread", "2 threads")
        for (i = 128; i <= 512; i *= 4) {
            k = "prefill" i
            row(sprintf("  prefill %d tokens, tokens/s", i), v[k, "t1"], v[k, "t2"])
            row("    arithmetic", pk[k, "t1"], pk[k, "t2"])
            if (dot) row("", dk[k, "t1"], dk[k, "t2"])
        }
        for (j = 1; j <= n; j++) {
            k = order[j]
            if (k ~ /_ctx/) { split(k, p, "_ctx"); lab = sprintf("  decode, batch 1, context %s, tokens/s", p[2]) }
            else { b = substr(k, 7); lab = sprintf("  decode, batch %s, tokens/s", b) }
            row(lab, v[k, "t1"], v[k, "t2"])
            row("    time per step", ms[k, "t1"], ms[k, "t2"])
            row("    weight bytes read per token", mb[k, "t1"], mb[k, "t2"])
            row("    effective bandwidth", gb[k, "t1"], gb[k, "t2"])
        }
        row("  resident memory", rss, "")
    }' "$tmp/$m"
done
