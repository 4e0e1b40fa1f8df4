#!/bin/sh
# resources.sh OUT.cc 'NVCC FLAGS' SRC.cu...: what each kernel of SRC needs of an SM, as nvcc with
# these flags (the CUDA build's, for sm_90a) compiles it: its registers and static shared memory
# (ptxas -v), its __launch_bounds__ (the PTX's .maxntid); written as a table the emulator
# registers (tests/simt/cuda_runtime.cc, check_launch: a launch the device would refuse for them
# is refused).
set -eu
out=$1 nvcc=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
i=0 inputs=
for src in "$@"; do
    i=$((i + 1))
    $nvcc -ptx -o "$work/$i.ptx" "$src"
    $nvcc -cubin -Xptxas -v -o /dev/null "$work/$i.ptx" 2>"$work/$i.v" || { cat "$work/$i.v" >&2; exit 1; }
    inputs="$inputs $work/$i.ptx $work/$i.v"
done
# shellcheck disable=SC2086
awk -v sources="$*" -f "$(dirname "$0")/resources.awk" $inputs >"$out.tmp"
mv "$out.tmp" "$out"
