/* Products on MLX's affine 4-bit (and 8-bit) weights, read where MLX holds them (no copy, no
 * repacking).
 *
 * Part of World Texture Console: decode.c includes this file after its matrix description
 * (dmat), and engine/llm/cpu/skinny.py compiles the whole into one library with -march=native,
 * so the vector paths below are the CPU's own (AVX-512, else AVX2, else plain C).
 *
 * The layout (mlx.core.quantize, mode "affine", bits 4): a row of K weights is K / 8 uint32
 * words, eight 4-bit values each, the first in the lowest bits; so, little-endian, byte b of a
 * row holds weight 2b in its low nibble and 2b + 1 in its high one. Each group of gs consecutive
 * weights of a row (gs a multiple of 32: the importer writes 32 for Q4_K / Q4_0 / Q4_1, MLX's
 * own models use 64) has a scale s and a bias b, float16 or bfloat16: w = s * q + b. The 8-bit
 * layout (fmt 3; the importer's requantized Q6_K / Q5_K, group 64) is the same with four bytes a
 * word, so byte k of a row is weight k: the kernel below with a plain byte load.
 *
 * Per 32 weights: 16 bytes loaded, split into low and high nibbles and interleaved back into k
 * order (two byte unpacks), widened to float32, w = q * s + b in registers (once for all the
 * step's rows), then one multiply-add per row and 16 weights into the row's accumulators: the
 * same shape as skinny.c's q8 kernel at half its memory traffic, which is what a decode step
 * costs on a model past the caches.
 *
 * Determinism: an output is its row's dot product accumulated in a fixed order (k 0..15 and
 * 16..31 of each group in two sets of lanes, groups in order, then skinny.c's fixed tree), from
 * that row's inputs and that weight row alone: the same bits whatever M, the other rows, the
 * chunks or the thread that computes it. A prompt's rows (dec_prefill) run 8 at a time on the
 * same function, so a prompt's results are the bits each row gets alone too.
 */

static inline float q4_half(uint16_t h) {  /* float16 bits -> float */
#if defined(__F16C__) || defined(__AVX512F__)
    return _cvtsh_ss(h);
#else
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, f = h & 0x3ffu;
    uint32_t u;
    if (e == 0) {
        if (f == 0) u = sign;
        else {  /* subnormal: normalise */
            int sh = 0;
            uint32_t ff = f;
            while (!(ff & 0x400u)) { ff <<= 1; sh++; }
            u = sign | ((uint32_t)(113 - sh) << 23) | ((ff & 0x3ffu) << 13);
        }
    } else if (e == 31) u = sign | 0x7f800000u | (f << 13);
    else u = sign | ((e + 112) << 23) | (f << 13);
    float v; memcpy(&v, &u, sizeof v); return v;
#endif
}

static inline float q4_bf16(uint16_t h) { uint32_t u = (uint32_t)h << 16; float v; memcpy(&v, &u, sizeof v); return v; }

static inline float q4_scale(const dmat *m, const uint16_t *p) { return m->bf ? q4_bf16(*p) : q4_half(*p); }

/* n scales (or biases) of a row to float32 (into out, n rounded up to 16 readable) */
static inline void q4_scales(const dmat *m, const uint16_t *p, int n, float *out) {
    int i = 0;
#if defined(__AVX512F__)
    if (!m->bf)
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(p + i))));
#elif defined(__F16C__)
    if (!m->bf)
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(p + i))));
#endif
    for (; i < n; i++) out[i] = q4_scale(m, p + i);
}
#define Q4_MAXSG 1024  /* scale groups a row may have (K / gs): K up to 32768 at groups of 32 */

/* the 32 weights of 16 bytes, in k order, as two vectors of 16 floats (k 0..15, k 16..31) */
static inline void q4_load32(const uint8_t *p, v16 *w0, v16 *w1) {
#if defined(__AVX512F__) || defined(__AVX2__)
    const __m128i c = _mm_loadu_si128((const __m128i *)(const void *)p), f = _mm_set1_epi8(15);
    const __m128i lo = _mm_and_si128(c, f), hi = _mm_and_si128(_mm_srli_epi16(c, 4), f);
    const __m128i a = _mm_unpacklo_epi8(lo, hi), b = _mm_unpackhi_epi8(lo, hi);
#if defined(__AVX512F__)
    const __m512 fa = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(a)), fb = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b));
    memcpy(w0, &fa, sizeof fa); memcpy(w1, &fb, sizeof fb);
#else
    const __m256 a0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(a)), a1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(a, 8)));
    const __m256 b0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b)), b1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(b, 8)));
    memcpy(w0, &a0, 32); memcpy((char *)w0 + 32, &a1, 32);
    memcpy(w1, &b0, 32); memcpy((char *)w1 + 32, &b1, 32);
#endif
#else
    uint8_t t[32];
    for (int i = 0; i < 16; i++) { t[2 * i] = p[i] & 15; t[2 * i + 1] = p[i] >> 4; }
    *w0 = ldq16(t); *w1 = ldq16(t + 16);
#endif
}

/* the 32 weights of 32 bytes (8-bit: uint32 words of four bytes, the first lowest: k order) */
static inline void q8b_load32(const uint8_t *p, v16 *w0, v16 *w1) { *w0 = ldq16(p); *w1 = ldq16(p + 16); }

/* the 32 weights of group g of a row (its bytes at p) */
#define QLOAD(BITS, p, g, w0, w1) \
    do { if ((BITS) == 4) q4_load32((p) + 16 * (g), (w0), (w1)); else q8b_load32((p) + 32 * (g), (w0), (w1)); } while (0)

/* Rows [n0, n1) of y (M x N) = x (M x K) @ W.T for the 4-bit (fmt 2) or 8-bit (fmt 3) matrix m. Up to 4 rows, two weight
 * rows at a time (each x vector loaded once for both: the load ports' limit in skinny.c's q8
 * kernel); an output's operations and their order are the same either way. */
static inline __attribute__((always_inline)) void dot_rows_q4(const float *restrict x, const int M,
        const dmat *m, float *restrict y, int n0, int n1, const int BITS) {
    const int K = m->K, N = m->N, G = K / 32, RB = K / 8 * BITS, SG = K / m->gs, GB = 4 * BITS;
    const int shift = m->gs == 32 ? 0 : m->gs == 64 ? 1 : m->gs == 128 ? 2 : 3;
    const uint8_t *W = (const uint8_t *)m->w;
    int n = n0;
    if (M <= 4) {
        for (; n + 1 < n1; n += 2) {
            const uint8_t *qa = W + (size_t)n * RB, *qb = qa + RB;
            const uint16_t *sa = m->qs + (size_t)n * SG, *ba = m->qb + (size_t)n * SG;
            float sf[4][Q4_MAXSG];  /* the two rows' scales and biases in float32 */
            q4_scales(m, sa, SG, sf[0]); q4_scales(m, ba, SG, sf[1]);
            q4_scales(m, sa + SG, SG, sf[2]); q4_scales(m, ba + SG, SG, sf[3]);
            v16 a0[4], a1[4], c0[4], c1[4];
            for (int r = 0; r < M; r++) { a0[r] = a1[r] = c0[r] = c1[r] = (v16){0}; }
            for (int g = 0; g < G; g++) {
                const int k = g * 32, j = g >> shift;
                if (!(g & (BITS == 4 ? 3 : 1)) && n + PF_ROWS + 1 < n1) {  /* a few rows on, a line at a time */
                    __builtin_prefetch(qa + (size_t)PF_ROWS * RB + GB * g, 0, 3);
                    __builtin_prefetch(qb + (size_t)PF_ROWS * RB + GB * g, 0, 3);
                    if (!(j & 31)) {
                        __builtin_prefetch(sa + (size_t)PF_ROWS * SG + j, 0, 3);
                        __builtin_prefetch(ba + (size_t)PF_ROWS * SG + j, 0, 3);
                    }
                }
                const v16 s = splat16(sf[0][j]), b = splat16(sf[1][j]);
                const v16 t = splat16(sf[2][j]), u = splat16(sf[3][j]);
                v16 w0, w1, v0, v1;
                QLOAD(BITS, qa, g, &w0, &w1);
                QLOAD(BITS, qb, g, &v0, &v1);
                w0 = w0 * s + b; w1 = w1 * s + b;
                v0 = v0 * t + u; v1 = v1 * t + u;
                for (int r = 0; r < M; r++) {
                    const v16 x0 = ld16(x + (size_t)r * K + k), x1 = ld16(x + (size_t)r * K + k + 16);
                    a0[r] += x0 * w0;
                    a1[r] += x1 * w1;
                    c0[r] += x0 * v0;
                    c1[r] += x1 * v1;
                }
            }
            for (int r = 0; r < M; r++) {
                y[(size_t)r * N + n] = hsum16(a0[r] + a1[r]);
                y[(size_t)r * N + n + 1] = hsum16(c0[r] + c1[r]);
            }
        }
    }
    for (; n < n1; n++) {
        const uint8_t *qr = W + (size_t)n * RB;
        const uint16_t *sr = m->qs + (size_t)n * SG, *br = m->qb + (size_t)n * SG;
        float sf[2][Q4_MAXSG];
        q4_scales(m, sr, SG, sf[0]); q4_scales(m, br, SG, sf[1]);
        v16 a0[MAXM], a1[MAXM];
        for (int r = 0; r < M; r++) { a0[r] = (v16){0}; a1[r] = (v16){0}; }
        for (int g = 0; g < G; g++) {
            const int k = g * 32, j = g >> shift;
            if (!(g & (BITS == 4 ? 3 : 1)) && n + PF_ROWS < n1) {
                __builtin_prefetch(qr + (size_t)PF_ROWS * RB + GB * g, 0, 3);
                if (!(j & 31)) {
                    __builtin_prefetch(sr + (size_t)PF_ROWS * SG + j, 0, 3);
                    __builtin_prefetch(br + (size_t)PF_ROWS * SG + j, 0, 3);
                }
            }
            const v16 s = splat16(sf[0][j]), b = splat16(sf[1][j]);
            v16 w0, w1;
            QLOAD(BITS, qr, g, &w0, &w1);
            w0 = w0 * s + b; w1 = w1 * s + b;
            for (int r = 0; r < M; r++) {
                a0[r] += ld16(x + (size_t)r * K + k) * w0;
                a1[r] += ld16(x + (size_t)r * K + k + 16) * w1;
            }
        }
        for (int r = 0; r < M; r++) y[(size_t)r * N + n] = hsum16(a0[r] + a1[r]);
    }
}

/* rows_fn signature: w is the dmat, s unused; fmt 2 (4 bits) or 3 (8 bits) picks the variant */
#define SPEC4(MM) \
    static void q4rows_##MM(const float *x, const void *w, const float *s, int K, float *y, int N, int n0, int n1) { \
        (void)s; (void)K; (void)N; \
        if (((const dmat *)w)->fmt == 3) dot_rows_q4(x, MM, (const dmat *)w, y, n0, n1, 8); \
        else dot_rows_q4(x, MM, (const dmat *)w, y, n0, n1, 4); }
SPEC4(1) SPEC4(2) SPEC4(3) SPEC4(4) SPEC4(5) SPEC4(6) SPEC4(7) SPEC4(8)
static const rows_fn Q4ROWS[MAXM + 1] = {0, q4rows_1, q4rows_2, q4rows_3, q4rows_4, q4rows_5, q4rows_6,
                                         q4rows_7, q4rows_8};

/* whether m is a 4-bit or 8-bit MLX matrix these kernels take */
static int q4_ok(const dmat *m) {
    return (m->fmt == 2 || m->fmt == 3) && m->w && m->qs && m->qb && m->K % 32 == 0 && m->gs >= 32 &&
           m->K / m->gs <= Q4_MAXSG && m->gs % 32 == 0 &&
           m->gs <= 256 && (m->gs & (m->gs - 1)) == 0 && m->K % m->gs == 0;
}

/* row `row` of the 4-bit or 8-bit matrix m dequantized into out (K floats): an embedding lookup */
static void q4_row(const dmat *m, int row, float *out) {
    const int K = m->K, SG = K / m->gs, b8 = m->fmt == 3;
    const uint8_t *q = (const uint8_t *)m->w + (size_t)row * (b8 ? K : K / 2);
    const uint16_t *s = m->qs + (size_t)row * SG, *b = m->qb + (size_t)row * SG;
    for (int k = 0; k < K; k++) {
        const int v = b8 ? q[k] : (k & 1) ? q[k >> 1] >> 4 : q[k >> 1] & 15;
        const int j = k / m->gs;
        out[k] = (float)v * q4_scale(m, s + j) + q4_scale(m, b + j);
    }
}

/* ---------------------------------------------------------------- blocked 4-bit products
 * T rows (a prompt's tokens) times a 4-bit matrix: the output rows cut into chunks of at most
 * 128 KiB of weights (they stay in L2 while every row of the prompt uses them), shared between
 * the threads; each chunk runs all T rows, 8 at a time, on the decode step's kernel. */
typedef struct { int T; const float *x; } blk4job;

static void blk4_rows(const float *x_, const void *w, const float *s, int K, float *y, int N, int n0, int n1) {
    (void)s;
    const blk4job *j = (const blk4job *)(const void *)x_;
    for (int r = 0; r < j->T; r += MAXM) {
        const int mm = j->T - r < MAXM ? j->T - r : MAXM;
        Q4ROWS[mm](j->x + (size_t)r * K, w, 0, K, y + (size_t)r * N, N, n0, n1);
    }
}

static int gemm_q4_rows(int T, const float *x, const dmat *m, float *y, int threads) {
    if (T < 1 || !q4_ok(m)) return -1;
    blk4job j = {T, x};
    int chunk = (m->N + 31) / 32, fit = (m->fmt == 3 ? 131072 : 262144) / m->K;
    if (chunk > fit) chunk = fit;
    if (chunk < 8) chunk = 8;
    run_chunks(blk4_rows, (const float *)(const void *)&j, m, 0, m->K, y, m->N, threads, chunk);
    return 0;
}
