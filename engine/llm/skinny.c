/* Skinny float32 products for decode steps: y[m][n] = sum_k x[m][k] * w[n][k], for m < M <= 8.
 *
 * Part of World Texture Console (engine/llm/skinny.py builds and loads it). A decode step
 * multiplies a handful of rows (one per stream) by every weight matrix of the model. BLAS
 * packs the whole matrix for such a product, so 4 rows cost 2-3 times 1 row; here each weight
 * row is read once and used for all M rows, so the step costs about what reading the weights
 * costs, whatever M is.
 *
 * Determinism: each output is a dot product accumulated in a fixed order (16 lanes over k,
 * then a fixed tree), so a row's result does not depend on M, on the other rows, or on how the
 * rows of w are split between threads.
 *
 * Threads: the caller computes the first half of the rows of w and one helper thread the
 * second. Between calls (a decode step makes a few hundred, microseconds apart) the helper
 * yields its core in a loop for a few milliseconds, then sleeps on a condition variable. One caller at a time uses the
 * helper; a concurrent caller computes its product alone.
 */
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>

#define MAXM 8
typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));

static inline v16 ld16(const float *p) { v16 v; memcpy(&v, p, sizeof v); return v; }

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

#define SPEC(MM) static void rows_##MM(const float *x, const float *w, int K, float *y, int N, \
                                       int n0, int n1) { dot_rows(x, MM, w, K, y, N, n0, n1); }
SPEC(1) SPEC(2) SPEC(3) SPEC(4) SPEC(5) SPEC(6) SPEC(7) SPEC(8)
typedef void (*rows_fn)(const float *, const float *, int, float *, int, int, int);
static const rows_fn ROWS[MAXM + 1] = {0, rows_1, rows_2, rows_3, rows_4, rows_5, rows_6, rows_7, rows_8};

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
static struct { const float *x, *w; float *y; int M, K, N, n0, n1; } job;
static int gen = 0, done = 0, sleeping = 0, started = 0;
static long spin_limit = 4000;  /* about 2-4 ms of yields, then sleep */

static void after_fork_child(void) {  /* the helper thread does not exist in a forked child */
    started = 0; gen = 0; done = 0; sleeping = 0;
    pthread_mutex_init(&mu, 0); pthread_cond_init(&cv, 0); pthread_mutex_init(&call_mu, 0);
}

static void *helper_main(void *arg) {
    (void)arg;
    int seen = 0;
    for (;;) {
        long spins = 0;
        while (__atomic_load_n(&gen, __ATOMIC_SEQ_CST) == seen) {
            /* A few microseconds of pause, then yield: a runnable thread (the console's, say)
             * gets this core at once, and the helper still answers without a wake-up. */
            if (++spins < spin_limit) { if (spins < 64) cpu_relax(); else sched_yield(); continue; }
            pthread_mutex_lock(&mu);
            __atomic_store_n(&sleeping, 1, __ATOMIC_SEQ_CST);
            while (__atomic_load_n(&gen, __ATOMIC_SEQ_CST) == seen) pthread_cond_wait(&cv, &mu);
            __atomic_store_n(&sleeping, 0, __ATOMIC_SEQ_CST);
            pthread_mutex_unlock(&mu);
        }
        seen = __atomic_load_n(&gen, __ATOMIC_SEQ_CST);
        ROWS[job.M](job.x, job.w, job.K, job.y, job.N, job.n0, job.n1);
        __atomic_store_n(&done, seen, __ATOMIC_RELEASE);
    }
    return 0;
}

int skinny_max_rows(void) { return MAXM; }

/* threads: 1 = the calling thread alone; 2 = with the helper thread. Returns 0, or -1 for an
 * M out of range (nothing written). */
int skinny_matmul(const float *x, int M, const float *w, int K, float *y, int N, int threads) {
    if (M < 1 || M > MAXM || K < 1 || N < 1) return -1;
    if (threads < 2 || (long)N * K < 65536 || pthread_mutex_trylock(&call_mu) != 0) {
        ROWS[M](x, w, K, y, N, 0, N);
        return 0;
    }
    if (!started) {
        pthread_atfork(0, 0, after_fork_child);
        if (pthread_create(&helper, 0, helper_main, 0) != 0) {
            pthread_mutex_unlock(&call_mu);
            ROWS[M](x, w, K, y, N, 0, N);
            return 0;
        }
        pthread_detach(helper);
        started = 1;
    }
    int half = N / 2;
    job.x = x; job.w = w; job.y = y; job.M = M; job.K = K; job.N = N; job.n0 = half; job.n1 = N;
    int g = gen + 1;
    __atomic_store_n(&gen, g, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&sleeping, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&mu); pthread_cond_signal(&cv); pthread_mutex_unlock(&mu);
    }
    ROWS[M](x, w, K, y, N, 0, half);
    while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) != g) cpu_relax();
    pthread_mutex_unlock(&call_mu);
    return 0;
}
