# pdl_order.awk: reads PTX; prints each kernel (.entry) that may touch global memory before its
# griddepcontrol.wait, or has no wait at all (runtime/cuda/launch.cuh: every kernel begins with
# pdl_enter; before it only cp.async.bulk.prefetch, a hint, may name global memory). Before the
# wait, any load, store, atomic or reduction counts unless it names the parameter, shared, local
# or constant space (a generic one may be global), and so does any copy (cp.*, global to shared
# included) but that prefetch, and any call (a function body is not followed). Exit 1 if any, or if the input holds no kernel.
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
name != "" && !waited && !early {
    op = $1
    if (op ~ /^@/) op = $2 # a predicated instruction
    if (op ~ /^(ld|ldu|st|atom|red|prefetch|prefetchu)(\.|$)/ && op !~ /\.(param|shared|local|const)(\.|$|::)/ ||
        op ~ /^cp\./ && op !~ /^cp\.async\.bulk\.prefetch\.L2\.global/ || op ~ /^call/) {
        print name ": memory before griddepcontrol.wait: " $0; bad++; early = 1
    }
}
END {
    finish()
    if (kernels == 0) { print "no kernel in the input"; exit 1 }
    exit bad > 0
}
