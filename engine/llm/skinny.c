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
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define MAXM 8
#define QG 32
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

/* q8: K is a multiple of 32. Two accumulators per row (the two halves of each group). */
static inline __attribute__((always_inline)) void dot_rows_q8(const float *restrict x, const int M,
        const uint8_t *restrict q, const float *restrict sb, const int K, float *restrict y,
        const int N, int n0, int n1) {
    const int G = K / QG;
    for (int n = n0; n < n1; n++) {
        const uint8_t *qr = q + (size_t)n * K;
        const float *sr = sb + (size_t)n * 2 * G;
        v16 a0[MAXM], a1[MAXM];
        for (int m = 0; m < M; m++) { a0[m] = (v16){0}; a1[m] = (v16){0}; }
        for (int g = 0; g < G; g++) {
            const int k = g * QG;
            const v16 s = (v16){0} + sr[2 * g], b = (v16){0} + sr[2 * g + 1];
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
        if ((int)c >= job.nchunks) return taken;
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

static int run(rows_fn fn, const float *x, int M, const void *w, const float *s, int K, float *y, int N,
               int threads) {
    (void)M;
    if (threads < 2 || (long)N * K < 65536 || pthread_mutex_trylock(&call_mu) != 0) {
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
    int chunk = (N + 31) / 32;  /* 32 chunks: fine enough to balance, coarse enough to be cheap */
    if (chunk < 8) chunk = 8;
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
        if (++spins < 256) cpu_relax(); else sched_yield();  /* the helper may share our core */
    }
    pthread_mutex_unlock(&call_mu);
    return 0;
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
