# pdl_order.awk: reads PTX; prints each kernel (.entry) that touches global memory before its
# griddepcontrol.wait, or has no wait at all (runtime/cuda/launch.cuh: every kernel begins with
# pdl_enter; before it only cp.async.bulk.prefetch, a hint, may name global memory). Exit 1 if
# any, or if the input holds no kernel.
function finish() {
    if (name != "" && !waited) { print name ": no griddepcontrol.wait"; bad++ }
}
/\.entry / {
    finish()
    name = $0; sub(/.*\.entry[ \t]+/, "", name); sub(/\(.*/, "", name)
    kernels++; waited = 0; early = 0
    next
}
/griddepcontrol\.wait/ { waited = 1; next }
name != "" && !waited && !early && /(ld|st|atom|red)\.global|cp\.async\.(ca|cg)|cp\.async\.bulk\.(shared|global)|ld\.(volatile\.)?global/ {
    print name ": global memory before griddepcontrol.wait: " $0; bad++; early = 1
}
END {
    finish()
    if (kernels == 0) { print "no kernel in the input"; exit 1 }
    exit bad > 0
}
