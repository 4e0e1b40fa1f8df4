/* simt.cc: the fibers, the block scheduler and the warp collectives of the emulated builds
 * (simt.h says what they model; tests/simt/README.md how they are used). */
#include "simt.h"

#include <cxxabi.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vector>

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

namespace simt {

/* ---- fibers -------------------------------------------------------------------------------- */

/* Saves the callee-saved registers on the running stack, stores its pointer at *save, and
 * continues on `next` (a stack that simt_switch saved, or one that fiber_stack prepared). */
extern "C" void simt_switch(void **save, void *next);
asm(".text\n"
    ".globl simt_switch\n"
    ".type simt_switch, @function\n"
    "simt_switch:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n"
    ".size simt_switch, .-simt_switch\n");

constexpr size_t STACK_BYTES = 256 << 10; /* a thread's locals; a guard page below each */
constexpr size_t PAGE = 4096;
constexpr int MAX_THREADS = 1024;
constexpr size_t SHARED_BYTES = 232448; /* the most dynamic shared memory a kernel may opt in to */

enum State { RUNNABLE, AT_BLOCK_BARRIER, AT_WARP_COLLECTIVE, EXITED };
static const char *const kind_names[] = { "__syncwarp", "a shuffle", "__ballot_sync", "mma (tf32)", "mma (bf16)",
                                          "ldmatrix", "ldmatrix.trans" };

struct Copy {
    void *dst;
    const void *src;
    int bytes;
};

struct Thread {
    void *sp;
    State state;
    uint3 index;
    unsigned lane;
    /* at a collective */
    Kind kind;
    unsigned mask;
    unsigned char in[48];
    uint32_t out[4];
    /* cp.async: the committed groups, oldest first, and the copies not yet committed */
    std::vector<std::vector<Copy>> groups;
    std::vector<Copy> open;
};

static Thread *current; /* the fiber that runs */

static Thread threads[MAX_THREADS];
static unsigned char *stacks;
static void *scheduler_sp;
static const std::function<void()> *block_body;
static const void *running_kernel;
alignas(128) static unsigned char dynamic_smem[SHARED_BYTES];
static size_t dynamic_used;

/* weak: a program without __shared__ statics (test_lt) has no such section, and both are null */
extern "C" unsigned char __start_simt_shared[] __attribute__((weak)), __stop_simt_shared[] __attribute__((weak));

const char *exported_name(const void *kernel)
{
    Dl_info info;
    return kernel && dladdr(kernel, &info) && info.dli_saddr == kernel ? info.dli_sname : nullptr;
}

/* The kernel's name, demangled. */
static const char *kernel_name(const void *kernel)
{
    const char *name = exported_name(kernel);
    if (!name)
        return "a kernel";
    char *plain = abi::__cxa_demangle(name, nullptr, nullptr, nullptr);
    return plain ? plain : name;
}

void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "simt: %s, block (%u,%u,%u): ", kernel_name(running_kernel), blockIdx.x, blockIdx.y,
            blockIdx.z);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    _exit(3); /* what a device fault is to the emulated program: the end, with exit status 3 */
}

unsigned lane() { return current->lane; }
unsigned char *dynamic_shared() { return dynamic_smem; }

static void yield()
{
    simt_switch(&current->sp, scheduler_sp);
}

[[noreturn]] static void fiber_main()
{
    (*block_body)();
    size_t pending = current->open.size();
    for (const auto &group : current->groups)
        pending += group.size();
    if (pending)
        fail("thread (%u,%u,%u) exits with %zu cp.async copies not waited for", current->index.x, current->index.y,
             current->index.z, pending);
    current->state = EXITED;
    yield();
    abort(); /* an exited fiber is never resumed */
}

static void *fresh_stack(int t)
{
    if (!stacks) {
        const size_t span = (size_t)MAX_THREADS * (STACK_BYTES + PAGE);
        void *m = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) {
            fprintf(stderr, "simt: cannot map the threads' stacks\n");
            exit(1);
        }
        stacks = (unsigned char *)m;
        for (int i = 0; i < MAX_THREADS; i++)
            mprotect(stacks + (size_t)i * (STACK_BYTES + PAGE), PAGE, PROT_NONE);
    }
    /* simt_switch's frame: six registers, then fiber_main as the return address; the word above
     * stands for fiber_main's own return address, so that it starts with the ABI's alignment. */
    /* Each top 64 bytes further down than the one before (mod 4 KB): stacks that all began at
     * the same offset in their pages would compete for the same few sets of the L1 cache. */
    void **top = (void **)(stacks + (size_t)(t + 1) * (STACK_BYTES + PAGE) - (size_t)(t % 64) * 64);
    top[-1] = nullptr;
    top[-2] = (void *)&fiber_main;
    return top - 8;
}

/* ---- collectives --------------------------------------------------------------------------- */

void sync_block()
{
    current->state = AT_BLOCK_BARRIER;
    yield();
}

void warp_collective(Kind kind, unsigned mask, const void *in, size_t in_bytes, void *out)
{
    if (!(mask >> current->lane & 1))
        fail("thread (%u,%u,%u) reaches %s whose mask %08x leaves it out", current->index.x, current->index.y,
             current->index.z, kind_names[kind], mask);
    current->state = AT_WARP_COLLECTIVE;
    current->kind = kind;
    current->mask = mask;
    if (in_bytes)
        memcpy(current->in, in, in_bytes);
    yield();
    if (out)
        memcpy(out, current->out, sizeof current->out);
}

uint64_t shuffle(unsigned mask, uint64_t value, int src_lane)
{
    unsigned char in[12];
    memcpy(in, &value, 8);
    memcpy(in + 8, &src_lane, 4);
    uint32_t out[4];
    warp_collective(SHUFFLE, mask, in, sizeof in, out);
    uint64_t v;
    memcpy(&v, out, 8);
    return v;
}

static float word_float(uint32_t w)
{
    float f;
    memcpy(&f, &w, 4);
    return f;
}
static uint32_t float_word(float f)
{
    uint32_t w;
    memcpy(&w, &f, 4);
    return w;
}
static float bf16_float(uint16_t h) { return word_float((uint32_t)h << 16); }

/* mma.sync.m16n8k8 (tf32) and m16n8k16 (bf16), f32 accumulate, as the PTX ISA's "Matrix
 * Fragments" give the layouts (g = lane / 4, t = lane % 4):
 *   C/D (16 x 8): c0 (g, 2t), c1 (g, 2t + 1), c2 (g + 8, 2t), c3 (g + 8, 2t + 1);
 *   tf32: A (16 x 8) a0 (g, t), a1 (g + 8, t), a2 (g, t + 4), a3 (g + 8, t + 4);
 *         B (8 x 8) b0 (t, g), b1 (t + 4, g); a tf32 operand's 13 low bits are not read;
 *   bf16: A (16 x 16) a0 (g, 2t..2t+1), a1 (g + 8, 2t..), a2 (g, 2t + 8..), a3 (g + 8, 2t + 8..);
 *         B (16 x 8) b0 (2t..2t+1, g), b1 (2t + 8.., g), the lower index in the low half.
 * Each lane brings a[4], b[2], c[4] (words); D = C + A B, every product exact, one rounding. */
static void mma(Thread *warp, unsigned mask, bool bf16)
{
    if (mask != 0xffffffffu)
        fail("mma with mask %08x: every lane of the warp takes part", mask);
    const int K = bf16 ? 16 : 8;
    double A[16][16], B[16][8], C[16][8];
    for (int l = 0; l < 32; l++) {
        uint32_t w[10];
        memcpy(w, warp[l].in, sizeof w);
        const int g = l / 4, t = l % 4;
        for (int i = 0; i < 4; i++) {
            const int row = g + 8 * (i & 1);
            if (bf16) {
                const int col = 2 * t + 8 * (i >> 1);
                A[row][col] = bf16_float((uint16_t)w[i]);
                A[row][col + 1] = bf16_float((uint16_t)(w[i] >> 16));
            } else {
                A[row][t + 4 * (i >> 1)] = word_float(w[i] & ~0x1fffu);
            }
            C[g + 8 * (i >> 1)][2 * t + (i & 1)] = word_float(w[6 + i]);
        }
        for (int i = 0; i < 2; i++) {
            if (bf16) {
                B[2 * t + 8 * i][g] = bf16_float((uint16_t)w[4 + i]);
                B[2 * t + 8 * i + 1][g] = bf16_float((uint16_t)(w[4 + i] >> 16));
            } else {
                B[t + 4 * i][g] = word_float(w[4 + i] & ~0x1fffu);
            }
        }
    }
    for (int l = 0; l < 32; l++) {
        const int g = l / 4, t = l % 4;
        for (int i = 0; i < 4; i++) {
            const int r = g + 8 * (i >> 1), n = 2 * t + (i & 1);
            double s = C[r][n];
            for (int k = 0; k < K; k++)
                s += A[r][k] * B[k][n];
            warp[l].out[i] = float_word((float)s);
        }
    }
}

/* ldmatrix.sync.m8n8.x4(.trans).b16: lane l's address is row l % 8 of matrix l / 8 (8 b16, 16
 * bytes); register m of lane l gets matrix m's row l / 4, columns 2 (l % 4) and + 1, or
 * transposed its rows 2 (l % 4) and + 1 of column l / 4; the first in the low half. */
static void ldmatrix(Thread *warp, unsigned mask, bool trans)
{
    if (mask != 0xffffffffu)
        fail("ldmatrix with mask %08x: every lane of the warp takes part", mask);
    const uint16_t *row[32];
    for (int l = 0; l < 32; l++) {
        memcpy(&row[l], warp[l].in, sizeof row[l]);
        if ((uintptr_t)row[l] % 16)
            fail("ldmatrix: lane %d's row address %p is not 16-byte aligned", l, (const void *)row[l]);
        if ((unsigned char *)row[l] < dynamic_smem || (unsigned char *)row[l] + 16 > dynamic_smem + dynamic_used)
            fail("ldmatrix: lane %d's row address is outside the block's dynamic shared memory", l);
    }
    for (int l = 0; l < 32; l++)
        for (int m = 0; m < 4; m++) {
            const int g = l / 4, t = l % 4;
            uint16_t e[2];
            for (int j = 0; j < 2; j++)
                e[j] = trans ? row[8 * m + 2 * t + j][g] : row[8 * m + g][2 * t + j];
            warp[l].out[m] = (uint32_t)e[0] | (uint32_t)e[1] << 16;
        }
}

/* The collective of `kind` and `mask` that the lanes of `arrived` (the mask's lanes that have not
 * exited) have all reached. */
static void finish_collective(Thread *warp, Kind kind, unsigned mask, unsigned arrived)
{
    switch (kind) {
    case SYNCWARP:
        break;
    case SHUFFLE:
        for (int l = 0; l < 32; l++)
            if (arrived >> l & 1) {
                int src;
                memcpy(&src, warp[l].in + 8, 4);
                if (src < 0 || src > 31 || !(mask >> src & 1))
                    fail("lane %d shuffles from lane %d, outside the mask %08x", l, src, mask);
                if (!(arrived >> src & 1))
                    fail("lane %d shuffles from lane %d, which has exited", l, src);
                memcpy(warp[l].out, warp[src].in, 8);
            }
        break;
    case BALLOT: {
        unsigned bits = 0;
        for (int l = 0; l < 32; l++)
            if (arrived >> l & 1 && warp[l].in[0])
                bits |= 1u << l;
        for (int l = 0; l < 32; l++)
            if (arrived >> l & 1)
                warp[l].out[0] = bits;
        break;
    }
    case MMA_TF32:
    case MMA_BF16:
        mma(warp, arrived, kind == MMA_BF16);
        break;
    case LDMATRIX:
    case LDMATRIX_T:
        ldmatrix(warp, arrived, kind == LDMATRIX_T);
        break;
    }
    for (int l = 0; l < 32; l++)
        if (arrived >> l & 1)
            warp[l].state = RUNNABLE;
}

/* Release the collectives of warp w (lanes of a block of n threads) whose lanes have all arrived
 * with the same kind and mask. The mask's lanes that have exited count as arrived, as CUDA has
 * it (only the non-exited threads it names must execute the collective); a lane still running
 * or waiting at another collective keeps it waiting (a mismatch that never resolves shows as a
 * deadlock, which names each lane's collective). */
static bool release_warp(int w, int n)
{
    Thread *warp = threads + w * 32;
    const int lanes = n - w * 32 < 32 ? n - w * 32 : 32;
    bool any = false;
    for (int l = 0; l < lanes; l++) {
        const Thread &t = warp[l];
        if (t.state != AT_WARP_COLLECTIVE)
            continue;
        unsigned arrived = 0;
        bool ready = true;
        for (int o = 0; o < 32 && ready; o++) {
            if (!(t.mask >> o & 1))
                continue;
            if (o >= lanes)
                fail("warp %d: lane %d's collective names lane %d (mask %08x), which the block does not have", w, l, o,
                     t.mask);
            if (warp[o].state == EXITED)
                continue;
            ready = warp[o].state == AT_WARP_COLLECTIVE && warp[o].mask == t.mask && warp[o].kind == t.kind;
            arrived |= 1u << o;
        }
        if (ready) {
            finish_collective(warp, t.kind, t.mask, arrived);
            any = true;
        }
    }
    return any;
}

/* Release the block barrier once every thread still running waits at it. */
static bool release_block(int n)
{
    int waiting = 0, live = 0;
    for (int t = 0; t < n; t++) {
        live += threads[t].state != EXITED;
        waiting += threads[t].state == AT_BLOCK_BARRIER;
    }
    if (!live || waiting != live)
        return false;
    for (int t = 0; t < n; t++)
        if (threads[t].state == AT_BLOCK_BARRIER)
            threads[t].state = RUNNABLE;
    return true;
}

static bool env_is(const char *name, const char *value)
{
    const char *v = getenv(name);
    return v && !strcmp(v, value);
}

static bool reverse_order()
{
    static const bool reverse = env_is("DF_SIMT_ORDER", "reverse");
    return reverse;
}

static void run_block(int n)
{
    if (__start_simt_shared)
        memset(__start_simt_shared, 0xff, (size_t)(__stop_simt_shared - __start_simt_shared));
    memset(dynamic_smem, 0xff, dynamic_used);
    for (int t = 0; t < n; t++) {
        Thread &th = threads[t];
        th.index = uint3{ t % blockDim.x, t / blockDim.x % blockDim.y, t / (blockDim.x * blockDim.y) };
        th.lane = (unsigned)t % 32;
        th.state = RUNNABLE;
        th.sp = fresh_stack(t);
        th.groups.clear();
        th.open.clear();
    }
    /* A warp at a time, as long as its collectives release it (its 32 stacks stay in the cache),
     * then the next; then the block barrier. */
    const bool rev = reverse_order();
    const int warps = (n + 31) / 32;
    for (;;) {
        for (int wi = 0; wi < warps; wi++) {
            const int w = rev ? warps - 1 - wi : wi, lanes = n - w * 32 < 32 ? n - w * 32 : 32;
            do {
                for (int i = 0; i < lanes; i++) {
                    Thread &th = threads[w * 32 + (rev ? lanes - 1 - i : i)];
                    if (th.state == RUNNABLE) {
                        current = &th;
                        threadIdx = th.index;
                        simt_switch(&scheduler_sp, th.sp);
                    }
                }
                current = nullptr;
            } while (release_warp(w, n));
        }
        if (release_block(n))
            continue;
        int live = 0;
        for (int t = 0; t < n; t++)
            live += threads[t].state != EXITED;
        if (!live)
            return;
        int shown = 0;
        for (int t = 0; t < n; t++)
            if (threads[t].state != EXITED && shown++ < 16) {
                if (threads[t].state == AT_BLOCK_BARRIER)
                    fprintf(stderr, "simt: thread %d waits at __syncthreads\n", t);
                else
                    fprintf(stderr, "simt: thread %d waits at %s, mask %08x\n", t, kind_names[threads[t].kind],
                            threads[t].mask);
            }
        if (shown > 16)
            fprintf(stderr, "simt: and %d threads more\n", shown - 16);
        fail("deadlock: no barrier can be released");
    }
}

/* A thread's bad address (a guard page, an index out of the arena, a poisoned pointer): what the
 * device reports as an illegal address, here named with the kernel, block and thread. */
static void memory_fault(int sig)
{
    if (!current) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    fail("thread (%u,%u,%u): illegal memory access (signal %d)", current->index.x, current->index.y, current->index.z,
         sig);
}

static void catch_memory_faults()
{
    static bool done;
    if (done)
        return;
    done = true;
    static unsigned char alt[1 << 16];
    stack_t ss = {};
    ss.ss_sp = alt;
    ss.ss_size = sizeof alt;
    sigaltstack(&ss, nullptr);
    struct sigaction sa = {};
    sa.sa_handler = memory_fault;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGSEGV, &sa, nullptr);
    sigaction(SIGBUS, &sa, nullptr);
}

/* DF_SIMT_LAUNCHES=only: each launch is checked (cuda_runtime.cc, check_launch) and not run, and
 * device memory is neither poisoned nor set (cuda_runtime.cc): the host code of a model whose
 * weights no emulator could compute on (the real shapes' tens of GB, never touched: they stay
 * the pages of zeros the system maps) runs its whole schedule in seconds, for what the launches
 * and cuBLASLt's plans refuse. */
bool launches_only()
{
    static const bool only = [] {
        const char *v = getenv("DF_SIMT_LAUNCHES");
        if (v && *v && strcmp(v, "only")) {
            fprintf(stderr, "simt: DF_SIMT_LAUNCHES is \"only\" or unset, not \"%s\"\n", v);
            exit(3);
        }
        return v && *v;
    }();
    return only;
}

void run_grid(dim3 grid, dim3 block, size_t dynamic_bytes, const void *kernel, const std::function<void()> &body)
{
    if (launches_only())
        return;
    catch_memory_faults();
    const int n = (int)(block.x * block.y * block.z);
    const size_t blocks = (size_t)grid.x * grid.y * grid.z;
    blockDim = block;
    gridDim = grid;
    block_body = &body;
    running_kernel = kernel;
    dynamic_used = dynamic_bytes;
    const bool rev = reverse_order();
    for (size_t i = 0; i < blocks; i++) {
        const size_t b = rev ? blocks - 1 - i : i;
        blockIdx = uint3{ (unsigned)(b % grid.x), (unsigned)(b / grid.x % grid.y), (unsigned)(b / ((size_t)grid.x * grid.y)) };
        run_block(n);
    }
    running_kernel = nullptr;
}

/* ---- cp.async ------------------------------------------------------------------------------- */

/* DF_SIMT_CPASYNC=eager: each copy lands at once, the earliest moment the hardware may choose
 * (a refill of a buffer that another thread still reads, without a barrier between, then shows). */
static bool eager_copies()
{
    static const bool eager = env_is("DF_SIMT_CPASYNC", "eager");
    return eager;
}

void async_copy(void *dst, const void *src, int bytes)
{
    if ((uintptr_t)dst % 16 || (bytes && (uintptr_t)src % 16))
        fail("cp.async of 16 bytes from %p to %p: both must be 16-byte aligned", src, dst);
    if (bytes < 0 || bytes > 16)
        fail("cp.async with a source size of %d bytes (0 to 16)", bytes);
    if (eager_copies()) {
        memcpy(dst, src, (size_t)bytes);
        memset((unsigned char *)dst + bytes, 0, (size_t)(16 - bytes));
        return;
    }
    current->open.push_back(Copy{ dst, src, bytes });
}

void async_commit()
{
    current->groups.push_back(std::move(current->open));
    current->open.clear();
}

void async_wait(int pending)
{
    auto &groups = current->groups;
    while ((int)groups.size() > pending) {
        for (const Copy &c : groups.front()) {
            memcpy(c.dst, c.src, (size_t)c.bytes);
            memset((unsigned char *)c.dst + c.bytes, 0, (size_t)(16 - c.bytes));
        }
        groups.erase(groups.begin());
    }
}

} /* namespace simt */
