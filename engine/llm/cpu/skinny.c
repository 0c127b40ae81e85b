/* Skinny products for decode steps: y[m][n] = sum_k x[m][k] * w[n][k], for m < M <= 8.
 *
 * Part of World Texture Console (engine/llm/skinny.py builds and loads it). A decode step
 * multiplies a handful of rows (one per stream) by every weight matrix of the model. BLAS
 * packs the whole matrix for such a product, so 4 rows cost 2-3 times 1 row; here each weight
 * row is read once and used for all M rows, so the step costs about what reading the weights
 * costs, whatever M is.
 *
 * Two weight formats:
 *  - float32 (N, K), row-major;
 *  - q8: uint8 (N, K) plus a float32 scale and offset per 32 consecutive k of a row (MLX's
 *    affine layout with 8 bits, repacked at load): w[n][k] = q[n][k] * s[n][g] + b[n][g],
 *    g = k / 32, s and b interleaved as sb[n][2g], sb[n][2g + 1]. Each group is dequantized in
 *    registers (uint8 -> float, one multiply-add) and multiplied with the float32 x: under a
 *    third of the memory traffic of float32. A 4-bit or 8-bit affine source (the imported
 *    GGUF's weights) is represented exactly when its group spans a divisor of 255 levels.
 *
 *  - q8i: the same q8 weights, multiplied with int8 activations on the CPU's integer dot
 *    products (AVX512-VNNI vpdpbusd: uint8 weights x int8 activations -> int32). Each row of x
 *    is quantized per 32 values with its own scale (xs = max|x| / 127, per row and group, so a
 *    row's result never depends on the other rows): x[k] ~ qx[k] * xs[g]. Then per group
 *    sum_k w x = xs * (s * dot(q, qx) + b * sum(qx)): the dot is exact in int32, the scales
 *    are applied per group in float, the offset term is one more float dot over the groups.
 *    Built with a target attribute and used only when cpuid says the CPU has AVX512-VNNI
 *    (skinny_q8i_supported); otherwise the caller uses q8.
 *
 * Determinism: each output is a dot product accumulated in a fixed order (lanes over k, then a
 * fixed tree), so a row's result does not depend on M, on the other rows, or on which thread
 * computed which rows of w.
 *
 * Threads: the rows of w are cut into chunks; the caller and one helper thread take chunks
 * from a shared counter until none is left. A helper that is not running (the machine is
 * busy, the core is taken by another process) simply takes no chunk: the caller does the work
 * itself instead of waiting for it. Between calls (a decode step makes a few hundred,
 * microseconds apart) the helper polls for a while (pause, then sched_yield), then sleeps on a
 * condition variable. The polling is bounded in time (skinny_set_spin, microseconds), not in
 * polls: on a busy machine each sched_yield can last a whole time slice of another process, so
 * a count of them bounds nothing. engine/llm/calibrate.py picks the time on the machine at hand. One caller at a time uses the helper;
 * a concurrent caller computes its product alone.
 */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <pthread.h>
#include <math.h>
#include <stdlib.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define MAXM 8
#define QG 32
#ifndef PF_ROWS
/* Software prefetch, this many weight rows ahead, into all cache levels: a decode step streams
 * the whole model from memory (SmolLM2's q8 copy is 170 MB, past any cache here), and with the
 * prefetches the loads of the next rows overlap the arithmetic on these. On the 2-vCPU KVM Xeon a
 * SmolLM2 step went 11.5 -> 7.7 ms at 1 row and 15.2 -> 9.6 ms at 4 (8 positions of context);
 * 2 to 12 rows ahead all helped, 4 most; non-temporal hints (locality 0) made it slower. */
#define PF_ROWS 4
#endif
typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));
typedef int32_t i16v __attribute__((vector_size(64)));
typedef uint8_t c16 __attribute__((vector_size(16)));

static inline v16 ld16(const float *p) { v16 v; memcpy(&v, p, sizeof v); return v; }
/* 16 uint8 -> 16 floats. GCC 12 scalarizes __builtin_convertvector from 8-bit lanes, so x86
 * gets the zero-extending conversions by name; anything else the portable form. */
static inline v16 ldq16(const uint8_t *p) {
#if defined(__AVX512F__)
    __m512 f = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)));
    v16 v; memcpy(&v, &f, sizeof v); return v;
#elif defined(__AVX2__)
    __m128i c = _mm_loadu_si128((const __m128i *)p);
    __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(c));
    __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(c, 8)));
    v16 v; memcpy(&v, &lo, 32); memcpy((char *)&v + 32, &hi, 32); return v;
#else
    c16 c; memcpy(&c, p, sizeof c);
    return __builtin_convertvector(__builtin_convertvector(c, i16v), v16);
#endif
}

/* x in all 16 lanes: one broadcast from memory (not "(v16){0} + x", which costs a scalar add
 * and a register broadcast on the shuffle port, the port the uint8 conversions need too) */
static inline v16 splat16(float x) { return (v16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }

static inline float hsum16(v16 v) {
    v8 a, b; memcpy(&a, &v, 32); memcpy(&b, (const char *)&v + 32, 32);
    v8 c = a + b;
    v4 d, e; memcpy(&d, &c, 16); memcpy(&e, (const char *)&c + 16, 16);
    v4 f = d + e;
    return (f[0] + f[2]) + (f[1] + f[3]);
}

static inline __attribute__((always_inline)) void dot_rows(const float *restrict x, const int M,
        const float *restrict w, const int K, float *restrict y, const int N, int n0, int n1) {
    const int kv = K & ~15;
    for (int n = n0; n < n1; n++) {
        const float *wr = w + (size_t)n * K;
        v16 acc[MAXM];
        for (int m = 0; m < M; m++) acc[m] = (v16){0};
        for (int k = 0; k < kv; k += 16) {
            if (n + PF_ROWS < n1) __builtin_prefetch(wr + (size_t)PF_ROWS * K + k, 0, 3);
            const v16 wv = ld16(wr + k);
            for (int m = 0; m < M; m++) acc[m] += ld16(x + (size_t)m * K + k) * wv;
        }
        for (int m = 0; m < M; m++) {
            float s = hsum16(acc[m]);
            float t = 0.0f;
            for (int k = kv; k < K; k++) t += x[(size_t)m * K + k] * wr[k];
            y[(size_t)m * N + n] = s + t;
        }
    }
}

/* q8: K is a multiple of 32. Two accumulators per row (the two halves of each group). Up to 4
 * rows, two outputs (weight rows n, n + 1) at a time: each x vector loaded once for both, which
 * was the load ports' limit. Each output's sums are the same operations in the same order
 * either way, so a pair gives the bits each output gets alone. */
static inline __attribute__((always_inline)) void dot_rows_q8(const float *restrict x, const int M,
        const uint8_t *restrict q, const float *restrict sb, const int K, float *restrict y,
        const int N, int n0, int n1) {
    const int G = K / QG;
    int n = n0;
    if (M <= 4) {
        for (; n + 1 < n1; n += 2) {
            const uint8_t *qa = q + (size_t)n * K, *qb = qa + K;
            const float *sa = sb + (size_t)n * 2 * G, *sbb = sa + 2 * G;
            v16 a0[4], a1[4], c0[4], c1[4];
            for (int m = 0; m < M; m++) { a0[m] = a1[m] = c0[m] = c1[m] = (v16){0}; }
            for (int g = 0; g < G; g++) {
                const int k = g * QG;
                if (!(g & 1) && n + PF_ROWS + 1 < n1) {  /* the weights a few rows on, while these compute */
                    __builtin_prefetch(qa + (size_t)PF_ROWS * K + k, 0, 3);
                    __builtin_prefetch(qb + (size_t)PF_ROWS * K + k, 0, 3);
                    __builtin_prefetch(sa + (size_t)PF_ROWS * 2 * G + 2 * g, 0, 3);
                    __builtin_prefetch(sbb + (size_t)PF_ROWS * 2 * G + 2 * g, 0, 3);
                }
                const v16 s = splat16(sa[2 * g]), b = splat16(sa[2 * g + 1]);
                const v16 t = splat16(sbb[2 * g]), u = splat16(sbb[2 * g + 1]);
                const v16 w0 = ldq16(qa + k) * s + b, w1 = ldq16(qa + k + 16) * s + b;
                const v16 v0 = ldq16(qb + k) * t + u, v1 = ldq16(qb + k + 16) * t + u;
                for (int m = 0; m < M; m++) {
                    const v16 x0 = ld16(x + (size_t)m * K + k), x1 = ld16(x + (size_t)m * K + k + 16);
                    a0[m] += x0 * w0;
                    a1[m] += x1 * w1;
                    c0[m] += x0 * v0;
                    c1[m] += x1 * v1;
                }
            }
            for (int m = 0; m < M; m++) {
                y[(size_t)m * N + n] = hsum16(a0[m] + a1[m]);
                y[(size_t)m * N + n + 1] = hsum16(c0[m] + c1[m]);
            }
        }
    }
    for (; n < n1; n++) {
        const uint8_t *qr = q + (size_t)n * K;
        const float *sr = sb + (size_t)n * 2 * G;
        v16 a0[MAXM], a1[MAXM];
        for (int m = 0; m < M; m++) { a0[m] = (v16){0}; a1[m] = (v16){0}; }
        for (int g = 0; g < G; g++) {
            const int k = g * QG;
            if (!(g & 1) && n + PF_ROWS < n1) {
                __builtin_prefetch(qr + (size_t)PF_ROWS * K + k, 0, 3);
                __builtin_prefetch(sr + (size_t)PF_ROWS * 2 * G + 2 * g, 0, 3);
            }
            const v16 s = splat16(sr[2 * g]), b = splat16(sr[2 * g + 1]);
            const v16 w0 = ldq16(qr + k) * s + b, w1 = ldq16(qr + k + 16) * s + b;
            for (int m = 0; m < M; m++) {
                a0[m] += ld16(x + (size_t)m * K + k) * w0;
                a1[m] += ld16(x + (size_t)m * K + k + 16) * w1;
            }
        }
        for (int m = 0; m < M; m++) y[(size_t)m * N + n] = hsum16(a0[m] + a1[m]);
    }
}

#define SPEC(MM) \
    static void rows_##MM(const float *x, const void *w, const float *s, int K, float *y, int N, int n0, int n1) \
        { (void)s; dot_rows(x, MM, (const float *)w, K, y, N, n0, n1); } \
    static void q8rows_##MM(const float *x, const void *w, const float *s, int K, float *y, int N, int n0, int n1) \
        { dot_rows_q8(x, MM, (const uint8_t *)w, s, K, y, N, n0, n1); }
SPEC(1) SPEC(2) SPEC(3) SPEC(4) SPEC(5) SPEC(6) SPEC(7) SPEC(8)
typedef void (*rows_fn)(const float *, const void *, const float *, int, float *, int, int, int);
static const rows_fn ROWS[MAXM + 1] = {0, rows_1, rows_2, rows_3, rows_4, rows_5, rows_6, rows_7, rows_8};
static const rows_fn Q8ROWS[MAXM + 1] = {0, q8rows_1, q8rows_2, q8rows_3, q8rows_4, q8rows_5, q8rows_6,
                                         q8rows_7, q8rows_8};

/* ------------------------------------------------------------------ q8i: int8 activations */
/* The activations of one call, quantized per row and 32-value group (quant_rows):
 *   aq[m][k]        int8, x[m][k] ~ aq * xs[m][k / 32];
 *   axs[m][j]       xs[m][j / 8] for j < K / 4 (one per int32 lane of vpdpbusd), zero padding
 *                   up to XS (a multiple of 16);
 *   add[m][2g + 1]  xs[m][g] * sum of the group's aq, add[m][2g] = 0: laid out as the weights'
 *                   sb[n][2g], sb[n][2g + 1], so the offset term is one contiguous float dot. */
typedef struct { const int8_t *aq; const float *axs, *add; int XS; } qact;

static void quant_rows(const float *x, int M, int K, int8_t *aq, float *axs, float *add, int XS) {
    const int G = K / QG;
    for (int m = 0; m < M; m++) {
        const float *xr = x + (size_t)m * K;
        for (int j = 0; j < XS; j++) axs[(size_t)m * XS + j] = 0.0f;
        for (int g = 0; g < G; g++) {
            float amax = 0.0f;
            for (int k = g * QG; k < (g + 1) * QG; k++) { float a = fabsf(xr[k]); amax = a > amax ? a : amax; }
            const float xs = amax / 127.0f, inv = amax > 0.0f ? 127.0f / amax : 0.0f;
            int sum = 0;
            for (int k = g * QG; k < (g + 1) * QG; k++) {
                long v = lrintf(xr[k] * inv);
                v = v > 127 ? 127 : (v < -127 ? -127 : v);
                aq[(size_t)m * K + k] = (int8_t)v;
                sum += (int)v;
            }
            add[(size_t)m * 2 * G + 2 * g] = 0.0f;
            add[(size_t)m * 2 * G + 2 * g + 1] = xs * (float)sum;
            for (int j = 0; j < QG / 4; j++) axs[(size_t)m * XS + g * (QG / 4) + j] = xs;
        }
    }
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__clang__) || __GNUC__ >= 9)
#define HAVE_Q8I 1
#define Q8I_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

/* Per output: acc = the offset term (a float dot of sb with add), then per 64 k (two groups)
 * one vpdpbusd, its int32 lanes to float, times s * xs per lane, added; a tail group of 32 in
 * the low half. One horizontal sum at the end: a fixed order whatever M and the thread split. */
static inline __attribute__((always_inline)) Q8I_TARGET void dot_rows_q8i(const qact *restrict a,
        const int M, const uint8_t *restrict q, const float *restrict sb, const int K, float *restrict y,
        const int N, int n0, int n1) {
    const int G2 = 2 * (K / QG), B = K / 64, tail = (K % 64) != 0, XS = a->XS;
    const __m512i pick_s = _mm512_set_epi32(2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0);
    for (int n = n0; n < n1; n++) {
        const uint8_t *qr = q + (size_t)n * K;
        const float *sr = sb + (size_t)n * G2;
        __m512 acc[MAXM];
        for (int m = 0; m < M; m++) acc[m] = _mm512_setzero_ps();
        for (int j = 0; j < G2; j += 16) {
            const __mmask16 mk = G2 - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (G2 - j)) - 1);
            const __m512 sv = _mm512_maskz_loadu_ps(mk, sr + j);
            for (int m = 0; m < M; m++)
                acc[m] = _mm512_fmadd_ps(sv, _mm512_maskz_loadu_ps(mk, a->add + (size_t)m * G2 + j), acc[m]);
        }
        for (int b = 0; b < B; b++) {
            const __m512 sv = _mm512_permutexvar_ps(pick_s, _mm512_broadcast_f32x4(_mm_loadu_ps(sr + 4 * b)));
            const __m512i wv = _mm512_loadu_si512((const void *)(qr + 64 * b));
            for (int m = 0; m < M; m++) {
                const __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv,
                        _mm512_loadu_si512((const void *)(a->aq + (size_t)m * K + 64 * b)));
                const __m512 sc = _mm512_mul_ps(sv, _mm512_loadu_ps(a->axs + (size_t)m * XS + 16 * b));
                acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), sc, acc[m]);
            }
        }
        if (tail) {  /* the last group of 32: the low 8 lanes (axs is zero above them) */
            const __m512 sv = _mm512_set1_ps(sr[2 * (2 * B)]);
            const __m512i wv = _mm512_zextsi256_si512(_mm256_loadu_si256((const void *)(qr + 64 * B)));
            for (int m = 0; m < M; m++) {
                const __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv,
                        _mm512_zextsi256_si512(_mm256_loadu_si256((const void *)(a->aq + (size_t)m * K + 64 * B))));
                const __m512 sc = _mm512_mul_ps(sv, _mm512_loadu_ps(a->axs + (size_t)m * XS + 16 * B));
                acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), sc, acc[m]);
            }
        }
        for (int m = 0; m < M; m++) {
            v16 v; memcpy(&v, &acc[m], sizeof v);
            y[(size_t)m * N + n] = hsum16(v);
        }
    }
}

#define SPECI(MM) \
    static Q8I_TARGET void q8irows_##MM(const float *x, const void *w, const float *s, int K, float *y, int N, int n0, int n1) \
        { dot_rows_q8i((const qact *)(const void *)x, MM, (const uint8_t *)w, s, K, y, N, n0, n1); }
SPECI(1) SPECI(2) SPECI(3) SPECI(4) SPECI(5) SPECI(6) SPECI(7) SPECI(8)
static const rows_fn Q8IROWS[MAXM + 1] = {0, q8irows_1, q8irows_2, q8irows_3, q8irows_4, q8irows_5,
                                          q8irows_6, q8irows_7, q8irows_8};
#endif

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t call_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t helper;
static struct { rows_fn fn; const float *x, *s; const void *w; float *y; int K, N, chunk, nchunks; } job;
/* ticket = (generation << 32) | next chunk; a chunk is taken by a compare-and-swap on it. */
static uint64_t ticket = 0;
#ifndef WAIT_SPINS
#define WAIT_SPINS 256
#endif
#define CLOSED 0xFFFFFFFFu  /* the chunk number of a generation whose job is being replaced */
static int completed = 0, sleeping = 0, started = 0;
static long spin_ns = 2000000;  /* how long the helper polls before it sleeps */
static long helper_chunks = 0, caller_chunks = 0;

static void after_fork_child(void) {  /* the helper thread does not exist in a forked child */
    started = 0; ticket = 0; completed = 0; sleeping = 0;
    pthread_mutex_init(&mu, 0); pthread_cond_init(&cv, 0); pthread_mutex_init(&call_mu, 0);
}

/* Take and compute chunks of generation g until none is left; how many were taken. */
static long work(uint32_t g) {
    long taken = 0;
    for (;;) {
        uint64_t t = __atomic_load_n(&ticket, __ATOMIC_ACQUIRE);
        if ((uint32_t)(t >> 32) != g) return taken;
        uint32_t c = (uint32_t)t;
        if (c >= (uint32_t)job.nchunks) return taken;  /* also a closed generation (c = CLOSED) */
        if (!__atomic_compare_exchange_n(&ticket, &t, t + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
        int n0 = (int)c * job.chunk, n1 = n0 + job.chunk;
        if (n1 > job.N) n1 = job.N;
        job.fn(job.x, job.w, job.s, job.K, job.y, job.N, n0, n1);
        __atomic_add_fetch(&completed, 1, __ATOMIC_RELEASE);
        taken++;
    }
}

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void *helper_main(void *arg) {
    (void)arg;
    uint32_t seen = 0;
    for (;;) {
        long spins = 0, t0 = now_ns();
        while ((uint32_t)(__atomic_load_n(&ticket, __ATOMIC_ACQUIRE) >> 32) == seen) {
            ++spins;
            if (spins < 64) { cpu_relax(); continue; }
            /* then yield until spin_ns have passed (the clock read every 16 polls), then sleep */
            if (spin_ns > 0 && ((spins & 15) || now_ns() - t0 < spin_ns)) { sched_yield(); continue; }
            pthread_mutex_lock(&mu);
            __atomic_store_n(&sleeping, 1, __ATOMIC_SEQ_CST);
            while ((uint32_t)(__atomic_load_n(&ticket, __ATOMIC_SEQ_CST) >> 32) == seen)
                pthread_cond_wait(&cv, &mu);
            __atomic_store_n(&sleeping, 0, __ATOMIC_SEQ_CST);
            pthread_mutex_unlock(&mu);
        }
        seen = (uint32_t)(__atomic_load_n(&ticket, __ATOMIC_ACQUIRE) >> 32);
        long n = work(seen);
        __atomic_add_fetch(&helper_chunks, n, __ATOMIC_RELAXED);
    }
    return 0;
}

int skinny_max_rows(void) { return MAXM; }
int skinny_q8_group(void) { return QG; }
void skinny_set_spin(long microseconds) { spin_ns = microseconds < 0 ? 0 : microseconds * 1000L; }
/* Chunks computed by the helper and by callers since the last reset (for calibration). */
long skinny_helper_chunks(int reset) { long n = helper_chunks; if (reset) helper_chunks = 0; return n; }
long skinny_caller_chunks(int reset) { long n = caller_chunks; if (reset) caller_chunks = 0; return n; }

/* fn over rows [0, N) of w, cut into chunks of `chunk` rows (0: about 32 chunks of at least 8) and
 * shared with the helper thread; alone when threads < 2, when the product is small (unless
 * `chunk` is given: decode.c's attention units are few but not small) or the helper is busy. */
static int run_chunks(rows_fn fn, const float *x, const void *w, const float *s, int K, float *y, int N,
                      int threads, int chunk) {
    if (threads < 2 || (chunk == 0 && (long)N * K < 65536) || N < 2 || pthread_mutex_trylock(&call_mu) != 0) {
        fn(x, w, s, K, y, N, 0, N);
        return 0;
    }
    if (!started) {
        pthread_atfork(0, 0, after_fork_child);
        if (pthread_create(&helper, 0, helper_main, 0) != 0) {
            pthread_mutex_unlock(&call_mu);
            fn(x, w, s, K, y, N, 0, N);
            return 0;
        }
        pthread_detach(helper);
        started = 1;
    }
    if (chunk <= 0) {
        chunk = (N + 31) / 32;  /* 32 chunks: fine enough to balance, coarse enough to be cheap */
        if (chunk < 8) chunk = 8;
    }
    /* Close the last generation before the job's fields change: a helper still in work() with
     * a ticket of it (its chunks all taken) must not read this job's nchunks, find its stale
     * chunk number below it and take that chunk by a compare-and-swap on the unchanged ticket
     * (it did: a chunk computed on half-written fields and counted into the next job, whose
     * caller then waited for ever). A closed ticket fails that compare-and-swap, and its chunk
     * number is above any job's count. */
    uint64_t cur = __atomic_load_n(&ticket, __ATOMIC_RELAXED);
    __atomic_store_n(&ticket, (cur & ~(uint64_t)0xFFFFFFFFu) | CLOSED, __ATOMIC_SEQ_CST);
    job.fn = fn; job.x = x; job.w = w; job.s = s; job.y = y; job.K = K; job.N = N;
    job.chunk = chunk; job.nchunks = (N + chunk - 1) / chunk;
    __atomic_store_n(&completed, 0, __ATOMIC_RELAXED);
    uint32_t g = (uint32_t)(__atomic_load_n(&ticket, __ATOMIC_RELAXED) >> 32) + 1;
    __atomic_store_n(&ticket, (uint64_t)g << 32, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&sleeping, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&mu); pthread_cond_signal(&cv); pthread_mutex_unlock(&mu);
    }
    caller_chunks += work(g);
    long spins = 0;
    while (__atomic_load_n(&completed, __ATOMIC_ACQUIRE) != job.nchunks) {
        if (++spins < WAIT_SPINS) cpu_relax(); else sched_yield();  /* the helper may share our core */
    }
    pthread_mutex_unlock(&call_mu);
    return 0;
}

static int run(rows_fn fn, const float *x, int M, const void *w, const float *s, int K, float *y, int N,
               int threads) {
    (void)M;
    return run_chunks(fn, x, w, s, K, y, N, threads, 0);
}

/* threads: 1 = the calling thread alone; 2 = with the helper thread. Returns 0, or -1 for an
 * M out of range (nothing written). */
int skinny_matmul(const float *x, int M, const float *w, int K, float *y, int N, int threads) {
    if (M < 1 || M > MAXM || K < 1 || N < 1) return -1;
    return run(ROWS[M], x, M, w, 0, K, y, N, threads);
}

/* q: uint8 (N, K), s: float32 (N, K / 32, 2), scale and offset. Returns -1 (nothing written) for
 * an M out of range or a K that is not a multiple of 32. */
int skinny_matmul_q8(const float *x, int M, const uint8_t *q, const float *s, int K, float *y, int N,
                     int threads) {
    if (M < 1 || M > MAXM || K < QG || K % QG || N < 1) return -1;
    return run(Q8ROWS[M], x, M, q, s, K, y, N, threads);
}

/* 1 when q8i can run here: built with the VNNI target (the compiler accepts it) and the CPU
 * reports AVX512-VNNI (cpuid, with the OS saving the AVX-512 state); 0 otherwise. */
int skinny_q8i_supported(void) {
#ifdef HAVE_Q8I
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

/* q8i: the q8 weights (as skinny_matmul_q8) times x quantized to int8 per row and group.
 * Returns -1 (nothing written) for shapes out of range, -2 where q8i cannot run. */
int skinny_matmul_q8i(const float *x, int M, const uint8_t *q, const float *s, int K, float *y, int N,
                      int threads) {
    if (M < 1 || M > MAXM || K < QG || K % QG || N < 1) return -1;
#ifdef HAVE_Q8I
    if (!skinny_q8i_supported()) return -2;
    const int G = K / QG, XS = ((K / 4 + 15) / 16) * 16;
    char *buf = malloc((size_t)M * K + sizeof(float) * ((size_t)M * XS + (size_t)M * 2 * G) + 64);
    if (!buf) return -3;
    float *axs = (float *)(void *)buf, *add = axs + (size_t)M * XS;
    int8_t *aq = (int8_t *)(add + (size_t)M * 2 * G);
    quant_rows(x, M, K, aq, axs, add, XS);
    qact a = {aq, axs, add, XS};
    int r = run(Q8IROWS[M], (const float *)(const void *)&a, M, q, s, K, y, N, threads);
    free(buf);
    return r;
#else
    (void)x; (void)q; (void)s; (void)y; (void)threads;
    return -2;
#endif
}
