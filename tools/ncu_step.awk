# ncu_step.awk: where the last step of a run spends its device time, from an ncu report read
# back as `ncu --import R.ncu-rep --csv --page raw` with the metrics gpu__time_duration.sum,
# dram__bytes_read.sum and dram__bytes_write.sum (tools/gpu-check.sh).
#
#   awk -v start=REGEX -f tools/ncu_step.awk report.csv
#
# The input: a header row, a row of units (its ID field empty), then a row per launch, every
# field quoted. The last step is the launches from the last one whose kernel name matches
# start (the step's first kernel) to the end. Prints a line per kernel (the name without its
# template arguments), the longest first: launches, microseconds, MB of DRAM read and written,
# and what that is in GB/s; then "total: N launches, T us, B MB". Exit 1 if no launch matches
# start or the columns are missing.
function num(s) { gsub(/,/, "", s); return s + 0 }
function time_scale(u) { # to microseconds
    if (u == "nsecond" || u == "ns") return 1e-3
    if (u == "usecond" || u == "us") return 1
    if (u == "msecond" || u == "ms") return 1e3
    if (u == "second" || u == "s") return 1e6
    return -1
}
function byte_scale(u) { # to bytes
    if (u == "byte") return 1
    if (u == "Kbyte") return 1e3
    if (u == "Mbyte") return 1e6
    if (u == "Gbyte") return 1e9
    if (u == "Tbyte") return 1e12
    return -1
}
/^"/ {
    line = $0
    sub(/^"/, "", line)
    sub(/"[ \t\r]*$/, "", line)
    n = split(line, f, /","/)
    if (!header) {
        for (i = 1; i <= n; i++) col[f[i]] = i
        header = 1
        if (!("Kernel Name" in col) || !("gpu__time_duration.sum" in col) || !("dram__bytes_read.sum" in col) ||
            !("dram__bytes_write.sum" in col)) { print "missing columns in the header"; bad = 1; exit 1 }
        tc = col["gpu__time_duration.sum"]; rc = col["dram__bytes_read.sum"]; wc = col["dram__bytes_write.sum"]
        next
    }
    if (f[col["ID"]] == "") { # the units
        ts = time_scale(f[tc]); rs = byte_scale(f[rc]); ws = byte_scale(f[wc])
        if (ts < 0 || rs < 0 || ws < 0) { print "unknown units: " f[tc] ", " f[rc] ", " f[wc]; bad = 1; exit 1 }
        next
    }
    name = f[col["Kernel Name"]]
    sub(/^void /, "", name)
    sub(/[<(].*/, "", name)
    k++
    kn[k] = name; kt[k] = num(f[tc]) * (ts ? ts : 1); kb[k] = num(f[rc]) * (rs ? rs : 1) + num(f[wc]) * (ws ? ws : 1)
    if (name ~ start) first = k
}
END {
    if (bad) exit 1
    if (!first) { print "no launch of a kernel matching " start; exit 1 }
    for (i = first; i <= k; i++) {
        if (!(kn[i] in t)) { names[++m] = kn[i] }
        t[kn[i]] += kt[i]; b[kn[i]] += kb[i]; c[kn[i]]++; tt += kt[i]; tb += kb[i]
    }
    for (i = 1; i <= m; i++) # the longest first (a few dozen names: insertion sort)
        for (j = i; j > 1 && t[names[j]] > t[names[j - 1]]; j--) { x = names[j]; names[j] = names[j - 1]; names[j - 1] = x }
    for (i = 1; i <= m; i++)
        printf "%s: %d launches, %.1f us, %.2f MB, %.0f GB/s\n", names[i], c[names[i]], t[names[i]], b[names[i]] / 1e6,
            (t[names[i]] > 0 ? b[names[i]] / 1e3 / t[names[i]] : 0)
    printf "total: %d launches, %.1f us, %.2f MB\n", k - first + 1, tt, tb / 1e6
}
