# pdl_order.awk: reads PTX; prints each kernel (.entry) in which some path from the entry reaches
# an access to memory that a kernel may write without passing griddepcontrol.wait, and each
# kernel with no wait at all (runtime/cuda/launch.cuh: every kernel begins with pdl_enter; before
# it only cp.async.bulk.prefetch, a hint, may name global memory). The paths follow the kernel's
# branches (bra, predicated or not; ret and exit end a path), so a wait on one side of a branch
# does not cover the other. Accesses: any load, store, atomic or reduction unless it names the
# parameter, shared, local or constant space (a generic one may be global), any copy (cp.*,
# global to shared included) but that prefetch, and any call (a function body is not followed).
# Exit 1 if any, or if the input holds no kernel.
function access(op) {
    return op ~ /^(ld|ldu|st|atom|red|prefetch|prefetchu)(\.|$)/ && op !~ /\.(param|shared|local|const)(\.|$|::)/ ||
           op ~ /^cp\./ && op !~ /^cp\.async\.bulk\.prefetch\.L2\.global/ || op ~ /^call/
}
function check_kernel(    i, head, tail, q, seen, waits, found, nx) {
    if (name == "") return
    kernels++
    for (i = 1; i <= n; i++) if (wait[i]) waits++
    if (!waits) { print name ": no griddepcontrol.wait"; bad++ }
    head = 1; tail = 0
    if (n > 0) { q[++tail] = 1; seen[1] = 1 }
    while (head <= tail) {
        i = q[head++]
        if (wait[i]) continue
        if (access(op[i])) { print name ": memory before griddepcontrol.wait: " text[i]; bad++; found = 1; break }
        if (op[i] ~ /^bra/ && (target[i] in label) && !seen[label[target[i]]]) {
            nx = label[target[i]]; seen[nx] = 1; q[++tail] = nx
        }
        if ((pred[i] || op[i] !~ /^(bra|ret|exit)/) && i < n && !seen[i + 1]) { seen[i + 1] = 1; q[++tail] = i + 1 }
    }
    name = ""
}
/\.entry / {
    check_kernel()
    name = $0; sub(/.*\.entry[ \t]+/, "", name); sub(/\(.*/, "", name)
    n = 0; body = 0
    split("", op); split("", pred); split("", target); split("", wait); split("", text); split("", label)
    next
}
name == "" { next }
/^\{/ { body = 1; next }
/^\}/ { check_kernel(); next }
!body { next }
/^\$[A-Za-z0-9_]+:/ { l = $1; sub(/:$/, "", l); label[l] = n + 1; next }
{
    line = $0; sub(/^[ \t]+/, "", line)
    if (line == "" || line ~ /^(\/\/|\.|\{|\})/) next
    n++; text[n] = line
    p = line ~ /^@/
    if (p) sub(/^@[^ \t]+[ \t]+/, "", line)
    split(line, w, /[ \t]+/)
    op[n] = w[1]; sub(/;$/, "", op[n]); pred[n] = p
    wait[n] = op[n] == "griddepcontrol.wait"
    if (op[n] ~ /^bra/) { t = line; sub(/;.*/, "", t); sub(/.*[ \t,]/, "", t); target[n] = t }
}
END {
    check_kernel()
    if (kernels == 0) { print "no kernel in the input"; exit 1 }
    exit bad > 0
}
