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
 * chunks or the thread that computes it.
 *
 * Prompts (dec_prefill) run on q4i below by default: the same weights times int8 activations on
 * the CPU's integer dot products (AVX512-VNNI vpdpbusd), as llama.cpp runs its prompts; each row
 * quantized alone, so a prompt's results are again the bits each row gets alone. With
 * FLUX_PREFILL_PRODUCTS=q4 they run 8 rows at a time on the decode step's float32 function.
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

/* ---------------------------------------------------------------- q4i: prompts on integer dot products
 * A prompt's product on 4-bit (or 8-bit) weights with int8 activations, as llama.cpp computes its
 * prompts. Each row of x is quantized per 32 values (xq = round(x / sx), |xq| <= 127, sx =
 * max|x| / 127: a row's scales are its own), and per output and group of 32
 *     sum_k w x ~ sum_k (s q + b) sx xq = (s * sx) * D + b * cx,   D = sum_k q xq,  cx = sx * sum_k xq
 * (the dot of the dequantized weights with the dequantized activations: the offset term uses the
 * quantized sum). D is exact in int32 (|D| <= 32 * 255 * 127 < 2^24, so exact as a float too).
 *
 * Layout: each chunk of output rows (a thread's share, at most ~384 KiB as bytes: it stays in L2)
 * is unpacked once into bytes in blocks of 16 rows, kq-major: 64 bytes per 4 inputs, row r's
 * four values k = 4 kq .. 4 kq + 3 at bytes 4 r .. 4 r + 3 (the B operand of vpdpbusd, one
 * output per int32 lane), with the block's scales and biases as float vectors of 16; then every
 * row of the prompt runs over it, a panel of 32 outputs x 512 inputs (16 KiB, in L1) at a time
 * and a tile of rows x blocks in it: per 4 inputs one weight vector load, a 4-byte broadcast of
 * each row's activations and one vpdpbusd per (row, block); per group of 32, per (row, block):
 * the int32 sums to float, one multiply (s * sx) and two FMAs. Between panels a tile's sums wait
 * in y (stored and loaded as they are: exact).
 *
 * Paths, chosen when the library is built for the CPU (-march=native): AVX512-VNNI (512-bit
 * vpdpbusd, 6 rows x 32 outputs a tile), AVX-VNNI or AVX512-VNNI with VL but no BW (256-bit
 * vpdpbusd, 2 rows x 16 outputs), AVX2 (vpmaddubsw into int16 sums, exact: 8 steps of two
 * products of at most 15 * 127 stay below 2^15; 8-bit values split into nibbles), and plain C. Q4I_FORCE=n (a build flag) takes a
 * lower path, for tests.
 *
 * Determinism: every output is, in every path, the same operations in the same order: per group
 * g in order, acc = fma((float)D, s * sx, acc), then acc = fma(b, cx, acc), from 0; from that
 * output's weights and its row's activations alone. So a row's result is the same bits whatever
 * the other rows, the tile it falls in, the chunks, the threads -- and whatever the path: the
 * plain C build gives the AVX512-VNNI build's bits. (Not the float path's bits: the model id
 * names the recipe.) */
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#define Q4I_BEST 3
#elif defined(__AVXVNNI__) || (defined(__AVX512VNNI__) && defined(__AVX512VL__))
#define Q4I_BEST 2
#elif defined(__AVX2__) && defined(__FMA__)
#define Q4I_BEST 1
#else
#define Q4I_BEST 0
#endif
#if defined(Q4I_FORCE) && Q4I_FORCE < Q4I_BEST
#define Q4I_PATH Q4I_FORCE
#else
#define Q4I_PATH Q4I_BEST
#endif

/* which path this build runs: 3 AVX512-VNNI, 2 256-bit VNNI, 1 AVX2, 0 plain C */
int dec_q4i_path(void) { return Q4I_PATH; }

/* A prompt's rows quantized for q4i: xq (T x K int8), sx and cx (T x K / 32) as above. */
typedef struct { int T, K; int8_t *xq; float *sx, *cx; } q4ix;

/* Rows of x (T x K) into a (its buffers sized by the caller). The same bits on every path: the
 * largest |x| of a group is exact whatever the order, x * (127 / max) is one rounded product,
 * rounded to the nearest integer, ties to even (lrintf, and the vector conversions in the
 * default rounding mode). */
static void q4i_quant(const float *x, int T, int K, q4ix *a) {
    const int G = K / QG;
    a->T = T; a->K = K;
    for (int t = 0; t < T; t++)
        for (int g = 0; g < G; g++) {
            const float *xr = x + (size_t)t * K + g * QG;
            int8_t *qr = a->xq + (size_t)t * K + g * QG;
            float amax = 0.0f;
            int sum = 0;
#if defined(__AVX512F__)
            const __m512 x0 = _mm512_loadu_ps(xr), x1 = _mm512_loadu_ps(xr + 16);
            amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
            const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
            const __m512 vi = _mm512_set1_ps(inv);
            const __m512i lim = _mm512_set1_epi32(127), nlim = _mm512_set1_epi32(-127);
            const __m512i q0 = _mm512_max_epi32(_mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(x0, vi)), lim), nlim);
            const __m512i q1 = _mm512_max_epi32(_mm512_min_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(x1, vi)), lim), nlim);
            _mm_storeu_si128((__m128i *)(void *)qr, _mm512_cvtepi32_epi8(q0));
            _mm_storeu_si128((__m128i *)(void *)(qr + 16), _mm512_cvtepi32_epi8(q1));
            sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
#elif defined(__AVX2__)
            const __m256 sign = _mm256_set1_ps(-0.0f);
            __m256 v[4], m = _mm256_setzero_ps();
            for (int i = 0; i < 4; i++) { v[i] = _mm256_loadu_ps(xr + 8 * i); m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[i])); }
            float mm[8];
            _mm256_storeu_ps(mm, m);
            for (int i = 0; i < 8; i++) amax = mm[i] > amax ? mm[i] : amax;
            const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
            const __m256 vi = _mm256_set1_ps(inv);
            const __m256i lim = _mm256_set1_epi32(127), nlim = _mm256_set1_epi32(-127);
            __m256i q[4], tot = _mm256_setzero_si256();
            for (int i = 0; i < 4; i++) {
                q[i] = _mm256_max_epi32(_mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(v[i], vi)), lim), nlim);
                tot = _mm256_add_epi32(tot, q[i]);
            }
            const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
            _mm256_storeu_si256((__m256i *)(void *)qr, _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
            int32_t ts[8];
            _mm256_storeu_si256((__m256i *)(void *)ts, tot);
            for (int i = 0; i < 8; i++) sum += ts[i];
#else
            for (int k = 0; k < QG; k++) { const float v = fabsf(xr[k]); amax = v > amax ? v : amax; }
            const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
            for (int k = 0; k < QG; k++) {
                long v = lrintf(xr[k] * inv);
                v = v > 127 ? 127 : (v < -127 ? -127 : v);
                qr[k] = (int8_t)v;
                sum += (int)v;
            }
#endif
            const float xs = amax / 127.0f;
            a->sx[(size_t)t * G + g] = xs;
            a->cx[(size_t)t * G + g] = xs * (float)sum;
        }
}

/* *p grown to at least n bytes, 64-byte aligned (never shrunk); NULL when out of memory */
static uint8_t *grown(uint8_t **p, size_t *cap, size_t n) {
    if (n > *cap) {
        free(*p);
        *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
        *cap = *p ? n : 0;
    }
    return *p;
}

/* a thread's scratch for its chunk's unpacked weights */
static uint8_t *q4i_scratch(size_t n) {
    static __thread uint8_t *p = 0;
    static __thread size_t cap = 0;
    return grown(&p, &cap, n);
}

/* rows n0 .. n0 + nrows - 1 (nrows <= 16) of m as one block: P (K * 16 bytes, kq-major as
 * above), S and B (SG x 16 floats); rows past nrows zero */
static void q4i_pack(const dmat *m, int n0, int nrows, uint8_t *restrict P, float *restrict S, float *restrict B) {
    const int K = m->K, SG = K / m->gs, b8 = m->fmt == 3, RB = b8 ? K : K / 2;
    const uint8_t *W = (const uint8_t *)m->w + (size_t)n0 * RB;
    float tmp[2][Q4_MAXSG];
    for (int r = 0; r < 16; r++) {
        if (r >= nrows) {
            for (int j = 0; j < SG; j++) S[j * 16 + r] = B[j * 16 + r] = 0.0f;
            continue;
        }
        q4_scales(m, m->qs + (size_t)(n0 + r) * SG, SG, tmp[0]);
        q4_scales(m, m->qb + (size_t)(n0 + r) * SG, SG, tmp[1]);
        for (int j = 0; j < SG; j++) { S[j * 16 + r] = tmp[0][j]; B[j * 16 + r] = tmp[1][j]; }
    }
#if defined(__AVX512BW__)
    if (nrows == 16) {  /* 4 rows x 16 inputs a vector, then a 4 x 4 transpose of dwords and one of 128-bit lanes */
        const __m512i idx = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
        const __m512i f = _mm512_set1_epi8(15);
        for (int g = 0; g < K / 32; g++) {
            __m512i a[4], b[4];
            for (int i = 0; i < 4; i++) {
                const uint8_t *p = W + (size_t)(4 * i) * RB;
                if (b8) {
                    const uint8_t *q = p + 32 * g;
                    __m512i lo = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(const void *)q));
                    lo = _mm512_inserti32x4(lo, _mm_loadu_si128((const __m128i *)(const void *)(q + RB)), 1);
                    lo = _mm512_inserti32x4(lo, _mm_loadu_si128((const __m128i *)(const void *)(q + 2 * (size_t)RB)), 2);
                    lo = _mm512_inserti32x4(lo, _mm_loadu_si128((const __m128i *)(const void *)(q + 3 * (size_t)RB)), 3);
                    __m512i hi = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(const void *)(q + 16)));
                    hi = _mm512_inserti32x4(hi, _mm_loadu_si128((const __m128i *)(const void *)(q + RB + 16)), 1);
                    hi = _mm512_inserti32x4(hi, _mm_loadu_si128((const __m128i *)(const void *)(q + 2 * (size_t)RB + 16)), 2);
                    hi = _mm512_inserti32x4(hi, _mm_loadu_si128((const __m128i *)(const void *)(q + 3 * (size_t)RB + 16)), 3);
                    a[i] = lo; b[i] = hi;
                } else {
                    const uint8_t *q = p + 16 * g;
                    __m512i c = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(const void *)q));
                    c = _mm512_inserti32x4(c, _mm_loadu_si128((const __m128i *)(const void *)(q + RB)), 1);
                    c = _mm512_inserti32x4(c, _mm_loadu_si128((const __m128i *)(const void *)(q + 2 * (size_t)RB)), 2);
                    c = _mm512_inserti32x4(c, _mm_loadu_si128((const __m128i *)(const void *)(q + 3 * (size_t)RB)), 3);
                    const __m512i lo = _mm512_and_si512(c, f), hi = _mm512_and_si512(_mm512_srli_epi16(c, 4), f);
                    a[i] = _mm512_unpacklo_epi8(lo, hi);  /* per 128-bit lane: a row's k 0..15 */
                    b[i] = _mm512_unpackhi_epi8(lo, hi);  /* k 16..31 */
                }
                a[i] = _mm512_permutexvar_epi32(idx, a[i]);  /* lane 4 q + r: row r's dword q */
                b[i] = _mm512_permutexvar_epi32(idx, b[i]);
            }
            for (int h = 0; h < 2; h++) {
                const __m512i *v = h ? b : a;
                const __m512i t0 = _mm512_shuffle_i32x4(v[0], v[1], 0x44), t1 = _mm512_shuffle_i32x4(v[0], v[1], 0xEE);
                const __m512i t2 = _mm512_shuffle_i32x4(v[2], v[3], 0x44), t3 = _mm512_shuffle_i32x4(v[2], v[3], 0xEE);
                uint8_t *o = P + (size_t)(8 * g + 4 * h) * 64;
                _mm512_store_si512((void *)o, _mm512_shuffle_i32x4(t0, t2, 0x88));
                _mm512_store_si512((void *)(o + 64), _mm512_shuffle_i32x4(t0, t2, 0xDD));
                _mm512_store_si512((void *)(o + 128), _mm512_shuffle_i32x4(t1, t3, 0x88));
                _mm512_store_si512((void *)(o + 192), _mm512_shuffle_i32x4(t1, t3, 0xDD));
            }
        }
        return;
    }
#endif
    for (int r = 0; r < 16; r++) {
        if (r >= nrows) {
            for (int kq = 0; kq < K / 4; kq++) memset(P + (size_t)kq * 64 + 4 * r, 0, 4);
            continue;
        }
        const uint8_t *q = W + (size_t)r * RB;
        for (int k = 0; k < K; k++)
            P[(size_t)(k >> 2) * 64 + 4 * r + (k & 3)] = b8 ? q[k] : (k & 1) ? q[k >> 1] >> 4 : q[k >> 1] & 15;
    }
}

/* One tile: MR rows of the prompt (xq, sx, cx at the first; strides K and G) times NR blocks of
 * 16 outputs (P, S, B at the first; strides K * 16 bytes and SG * 16 floats), groups [g0, g1):
 * the sums start from 0 at g0 = 0, else from what y holds (the groups before: exact, as stored),
 * and go back to y (stride N); nvalid of the tile's outputs are read and stored. b8: 8-bit
 * values in P (the AVX2 path splits them). */
#define Q4I_ARGS const int8_t *restrict xq, const float *restrict sx, const float *restrict cx, const int K, \
    const uint8_t *restrict P, const float *restrict S, const float *restrict B, const int SG, const int shift, \
    float *restrict y, const int N, const int nvalid, const int b8, const int g0, const int g1
#if Q4I_PATH == 3
#ifndef Q4I_MR
#define Q4I_MR 6  /* 12 int32 and 12 float accumulators */
#endif
#ifndef Q4I_NR
#define Q4I_NR 2
#endif
static inline __attribute__((always_inline)) void q4i_tile(const int MR, const int NR, Q4I_ARGS) {
    (void)b8;
    const int G = K / QG;
    const size_t PB = (size_t)K * 16, SB = (size_t)SG * 16;
    __m512 f[Q4I_MR][Q4I_NR];
    __mmask16 mk[Q4I_NR];
    for (int c = 0; c < NR; c++) {
        const int v = nvalid - 16 * c;
        mk[c] = v >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << v) - 1);
    }
    for (int r = 0; r < MR; r++)
        for (int c = 0; c < NR; c++)
            f[r][c] = g0 ? _mm512_maskz_loadu_ps(mk[c], y + (size_t)r * N + 16 * c) : _mm512_setzero_ps();
    for (int g = g0; g < g1; g++) {
        __m512i d[Q4I_MR][Q4I_NR];
        for (int r = 0; r < MR; r++)
            for (int c = 0; c < NR; c++) d[r][c] = _mm512_setzero_si512();
        const uint8_t *pg = P + (size_t)g * 512;
        for (int kk = 0; kk < 8; kk++) {
            __m512i w[Q4I_NR];
            for (int c = 0; c < NR; c++) w[c] = _mm512_load_si512((const void *)(pg + c * PB + 64 * kk));
            for (int r = 0; r < MR; r++) {
                int32_t xv;
                memcpy(&xv, xq + (size_t)r * K + 32 * g + 4 * kk, 4);
                const __m512i xb = _mm512_set1_epi32(xv);
                for (int c = 0; c < NR; c++) d[r][c] = _mm512_dpbusd_epi32(d[r][c], w[c], xb);
            }
        }
        const int j = g >> shift;
        for (int c = 0; c < NR; c++) {
            const __m512 s = _mm512_load_ps(S + c * SB + 16 * j), b = _mm512_load_ps(B + c * SB + 16 * j);
            for (int r = 0; r < MR; r++) {
                const __m512 sc = _mm512_mul_ps(s, _mm512_set1_ps(sx[(size_t)r * G + g]));
                f[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d[r][c]), sc, f[r][c]);
                f[r][c] = _mm512_fmadd_ps(b, _mm512_set1_ps(cx[(size_t)r * G + g]), f[r][c]);
            }
        }
    }
    for (int c = 0; c < NR; c++)
        for (int r = 0; r < MR; r++) _mm512_mask_storeu_ps(y + (size_t)r * N + 16 * c, mk[c], f[r][c]);
}
#elif Q4I_PATH == 2 || Q4I_PATH == 1
#define Q4I_MR 2
#define Q4I_NR 1
#if Q4I_PATH == 2
#if defined(__AVXVNNI__)
#define Q4I_DP(acc, w, x) _mm256_dpbusd_avx_epi32(acc, w, x)
#else
#define Q4I_DP(acc, w, x) _mm256_dpbusd_epi32(acc, w, x)
#endif
#endif
/* a block of 16 outputs as two vectors of 8 (h = 0, 1) */
static inline __attribute__((always_inline)) void q4i_tile(const int MR, const int NR, Q4I_ARGS) {
    (void)NR; (void)SG;
#if Q4I_PATH == 2
    (void)b8;
#endif
    const int G = K / QG;
    __m256 f[Q4I_MR][2];
    const int nv = nvalid < 16 ? nvalid : 16;
    for (int r = 0; r < MR; r++) {
        float o[16] = {0};
        if (g0) memcpy(o, y + (size_t)r * N, sizeof(float) * (size_t)nv);
        f[r][0] = _mm256_loadu_ps(o); f[r][1] = _mm256_loadu_ps(o + 8);
    }
#if Q4I_PATH == 1
    const __m256i ones = _mm256_set1_epi16(1), nib = _mm256_set1_epi8(15);
#endif
    for (int g = g0; g < g1; g++) {
        __m256i d[Q4I_MR][2];
        const uint8_t *pg = P + (size_t)g * 512;
#if Q4I_PATH == 2
        for (int r = 0; r < MR; r++) d[r][0] = d[r][1] = _mm256_setzero_si256();
        for (int kk = 0; kk < 8; kk++) {
            const __m256i w0 = _mm256_load_si256((const void *)(pg + 64 * kk)), w1 = _mm256_load_si256((const void *)(pg + 64 * kk + 32));
            for (int r = 0; r < MR; r++) {
                int32_t xv;
                memcpy(&xv, xq + (size_t)r * K + 32 * g + 4 * kk, 4);
                const __m256i xb = _mm256_set1_epi32(xv);
                d[r][0] = Q4I_DP(d[r][0], w0, xb);
                d[r][1] = Q4I_DP(d[r][1], w1, xb);
            }
        }
#else
        /* int16 sums of vpmaddubsw: a pair is at most 2 * 15 * 127, eight of them below 2^15 */
        __m256i lo[Q4I_MR][2], hi[Q4I_MR][2];
        for (int r = 0; r < MR; r++) lo[r][0] = lo[r][1] = hi[r][0] = hi[r][1] = _mm256_setzero_si256();
        for (int kk = 0; kk < 8; kk++) {
            __m256i w[2] = {_mm256_load_si256((const void *)(pg + 64 * kk)), _mm256_load_si256((const void *)(pg + 64 * kk + 32))};
            __m256i wh[2] = {w[0], w[1]};
            if (b8)
                for (int h = 0; h < 2; h++) {
                    wh[h] = _mm256_and_si256(_mm256_srli_epi16(w[h], 4), nib);
                    w[h] = _mm256_and_si256(w[h], nib);
                }
            for (int r = 0; r < MR; r++) {
                int32_t xv;
                memcpy(&xv, xq + (size_t)r * K + 32 * g + 4 * kk, 4);
                const __m256i xb = _mm256_set1_epi32(xv);
                for (int h = 0; h < 2; h++) {
                    lo[r][h] = _mm256_add_epi16(lo[r][h], _mm256_maddubs_epi16(w[h], xb));
                    if (b8) hi[r][h] = _mm256_add_epi16(hi[r][h], _mm256_maddubs_epi16(wh[h], xb));
                }
            }
        }
        for (int r = 0; r < MR; r++)
            for (int h = 0; h < 2; h++) {
                d[r][h] = _mm256_madd_epi16(lo[r][h], ones);
                if (b8) d[r][h] = _mm256_add_epi32(d[r][h], _mm256_slli_epi32(_mm256_madd_epi16(hi[r][h], ones), 4));
            }
#endif
        const int j = g >> shift;
        for (int h = 0; h < 2; h++) {
            const __m256 s = _mm256_load_ps(S + 16 * j + 8 * h), b = _mm256_load_ps(B + 16 * j + 8 * h);
            for (int r = 0; r < MR; r++) {
                const __m256 sc = _mm256_mul_ps(s, _mm256_set1_ps(sx[(size_t)r * G + g]));
                f[r][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d[r][h]), sc, f[r][h]);
                f[r][h] = _mm256_fmadd_ps(b, _mm256_set1_ps(cx[(size_t)r * G + g]), f[r][h]);
            }
        }
    }
    for (int r = 0; r < MR; r++) {
        float o[16];
        _mm256_storeu_ps(o, f[r][0]); _mm256_storeu_ps(o + 8, f[r][1]);
        memcpy(y + (size_t)r * N, o, sizeof(float) * (size_t)nv);
    }
}
#else
#define Q4I_MR 1
#define Q4I_NR 1
static void q4i_tile(const int MR, const int NR, Q4I_ARGS) {
    (void)MR; (void)NR; (void)b8; (void)SG; (void)N; (void)K;
    for (int n = 0; n < nvalid && n < 16; n++) {
        float acc = g0 ? y[n] : 0.0f;
        for (int g = g0; g < g1; g++) {
            int32_t d = 0;
            for (int k = 32 * g; k < 32 * g + 32; k++) d += (int32_t)P[(size_t)(k >> 2) * 64 + 4 * n + (k & 3)] * xq[k];
            const int j = g >> shift;
            const float sc = S[16 * j + n] * sx[g];
            acc = fmaf((float)d, sc, acc);
            acc = fmaf(B[16 * j + n], cx[g], acc);
        }
        y[n] = acc;
    }
}
#endif

#ifndef Q4I_KC
#define Q4I_KC 512  /* inputs per panel: a multiple of every group size (<= 256) */
#endif

/* the most output rows unpacked at once: whole 32-row tiles, ~384 KiB as bytes (L2) */
static int q4i_fit(int K) {
    const int fit = (384 * 1024 / K) / 32 * 32;
    return fit < 32 ? 32 : fit;
}

static void q4i_span(const q4ix *j, const dmat *m, float *y, int N, int n0, int n1);

/* rows [n0, n1) of y for all the job's rows (run_chunks' rows_fn; x_ the q4ix, w the dmat): a
 * range longer than q4i_fit (a caller alone: one thread, or the helper busy) in spans of it */
static void q4i_rows(const float *x_, const void *w, const float *s_, int K_, float *y, int N, int n0, int n1) {
    (void)s_; (void)K_;
    const dmat *m = (const dmat *)w;
    const int fit = q4i_fit(m->K);
    for (int a = n0; a < n1; a += fit) q4i_span((const q4ix *)(const void *)x_, m, y, N, a, n1 - a < fit ? n1 : a + fit);
}

static void q4i_span(const q4ix *j, const dmat *m, float *y, int N, int n0, int n1) {
    const int K = m->K, G = K / QG, SG = K / m->gs, b8 = m->fmt == 3, nblk = (n1 - n0 + 15) / 16;
    const int shift = m->gs == 32 ? 0 : m->gs == 64 ? 1 : m->gs == 128 ? 2 : 3;
    const size_t PB = (size_t)K * 16, SB = (size_t)SG * 16;
    uint8_t *P = q4i_scratch((size_t)nblk * PB + sizeof(float) * 2 * (size_t)nblk * SB);
    if (!P) {  /* no memory for the scratch: rows of zeros would be wrong; abort loudly */
        abort();
    }
    float *S = (float *)(void *)(P + (size_t)nblk * PB), *B = S + (size_t)nblk * SB;
    for (int b = 0; b < nblk; b++) {
        const int r = n1 - n0 - 16 * b;
        q4i_pack(m, n0 + 16 * b, r < 16 ? r : 16, P + (size_t)b * PB, S + (size_t)b * SB, B + (size_t)b * SB);
    }
    /* a panel of Q4I_NR blocks and Q4I_KC inputs (16 KiB at 32 outputs) stays in L1 while every
     * row of the prompt runs over it; the sums wait in y between panels */
    for (int b = 0; b < nblk; b += Q4I_NR) {
        const int nr = nblk - b < Q4I_NR ? nblk - b : Q4I_NR, nv = n1 - n0 - 16 * b;
        const uint8_t *Pb = P + (size_t)b * PB;
        const float *Sb = S + (size_t)b * SB, *Bb = B + (size_t)b * SB;
        for (int g0 = 0; g0 < G; g0 += Q4I_KC / QG) {
            const int g1 = g0 + Q4I_KC / QG < G ? g0 + Q4I_KC / QG : G;
            for (int t = 0; t < j->T; t += Q4I_MR) {
                const int mr = j->T - t < Q4I_MR ? j->T - t : Q4I_MR;
                const int8_t *xq = j->xq + (size_t)t * K;
                const float *sx = j->sx + (size_t)t * G, *cx = j->cx + (size_t)t * G;
                float *yt = y + (size_t)t * N + n0 + 16 * b;
#define Q4I_CALL(MRc, NRc) q4i_tile(MRc, NRc, xq, sx, cx, K, Pb, Sb, Bb, SG, shift, yt, N, nv, b8, g0, g1)
#if Q4I_NR >= 2
#define Q4I_C(M) case M: if (nr == 2) Q4I_CALL(M, 2); else Q4I_CALL(M, 1); break;
#else
#define Q4I_C(M) case M: Q4I_CALL(M, 1); break;
#endif
                (void)nr;
                switch (mr) {
#if Q4I_MR >= 8
                    Q4I_C(8)
#endif
#if Q4I_MR >= 7
                    Q4I_C(7)
#endif
#if Q4I_MR >= 6
                    Q4I_C(6)
#endif
#if Q4I_MR >= 5
                    Q4I_C(5)
#endif
#if Q4I_MR >= 4
                    Q4I_C(4)
#endif
#if Q4I_MR >= 3
                    Q4I_C(3)
#endif
#if Q4I_MR >= 2
                    Q4I_C(2)
#endif
                    default: Q4I_C(1)
                }
#undef Q4I_C
#undef Q4I_CALL
            }
        }
    }
}

/* y (a->T x N) = the quantized rows a (K = m->K) @ W.T. Returns 0; -1 bad shapes. */
static int gemm_q4i_q(const q4ix *a, const dmat *m, float *y, int threads) {
    if (a->T < 1 || !q4_ok(m) || a->K != m->K) return -1;
    /* chunks of whole 32-row tiles, about 8 or more, each at most ~384 KiB unpacked */
    const int fit = q4i_fit(m->K);
    int chunk = ((m->N + 7) / 8 + 31) / 32 * 32;
    if (chunk > fit) chunk = fit;
    run_chunks(q4i_rows, (const float *)(const void *)a, m, 0, m->K, y, m->N, threads, chunk);
    return 0;
}

/* buffers for T rows of K inputs (one allocation: free(a->sx)); 0, or -2 out of memory */
static int q4i_alloc(q4ix *a, int T, int K) {
    const size_t G = (size_t)K / QG;
    a->T = T; a->K = K;
    a->sx = malloc(sizeof(float) * 2 * (size_t)T * G + (size_t)T * K + 64);
    if (!a->sx) return -2;
    a->cx = a->sx + (size_t)T * G;
    a->xq = (int8_t *)(a->cx + (size_t)T * G);
    return 0;
}

/* y (T x N) = x (T x K) @ W.T on int8 activations (above). Returns 0; -1 bad shapes; -2 out of memory. */
static int gemm_q4i_rows(int T, const float *x, const dmat *m, float *y, int threads) {
    if (T < 1 || !q4_ok(m)) return -1;
    q4ix a;
    if (q4i_alloc(&a, T, m->K)) return -2;
    q4i_quant(x, T, m->K, &a);
    const int r = gemm_q4i_q(&a, m, y, threads);
    free(a.sx);
    return r;
}

/* ---------------------------------------------------------------- blocked 4-bit products
 * T rows (a prompt's tokens) times a 4-bit matrix on float32 FMAs: the output rows cut into
 * chunks of at most 128 KiB of weights (they stay in L2 while every row of the prompt uses them),
 * shared between the threads; each chunk runs all T rows, 8 at a time, on the decode step's
 * kernel. (Prompts take q4i above unless FLUX_PREFILL_PRODUCTS=q4.) */
typedef struct { int T; const float *x; } blk4job;

static void blk4_rows(const float *x_, const void *w, const float *s, int K, float *y, int N, int n0, int n1) {
    (void)s;
    const blk4job *j = (const blk4job *)(const void *)x_;
    for (int r = 0; r < j->T; r += MAXM) {
        const int mm = j->T - r < MAXM ? j->T - r : MAXM;
        Q4ROWS[mm](j->x + (size_t)r * K, w, 0, K, y + (size_t)r * N, N, n0, n1);
    }
}

static int gemm_q4_rows(int T, const float *x, const dmat *m, float *y, int idot, int threads) {
    if (idot) return gemm_q4i_rows(T, x, m, y, threads);
    if (T < 1 || !q4_ok(m)) return -1;
    blk4job j = {T, x};
    int chunk = (m->N + 31) / 32, fit = (m->fmt == 3 ? 131072 : 262144) / m->K;
    if (chunk > fit) chunk = fit;
    if (chunk < 8) chunk = 8;
    run_chunks(blk4_rows, (const float *)(const void *)&j, m, 0, m->K, y, m->N, threads, chunk);
    return 0;
}

/* ---------------------------------------------------------------- q4d: decode steps on integer dot products
 * A decode step's products (1..8 rows) on the 4-bit (or 8-bit) weights read where MLX holds them
 * (a step streams the whole model once: no unpacked copy), times int8 activations quantized per
 * row per 32 values exactly as q4i above (q4i_quant: sx, cx, xq), on AVX512-VNNI vpdpbusd.
 *
 * Each row's activations are laid out once per product input: for 4-bit weights, per 128 inputs
 * the 64 even ones then the 64 odd ones, so that 64 bytes of a weight row (128 weights, 4 groups)
 * split into low nibbles (even k) and high nibbles (odd k) meet them as they lie; two vpdpbusd
 * give 16 int32 lanes, 4 per group. For 8-bit weights the activations stay in k order and two 64-
 * byte loads (4 groups) fold the same way. Four such vectors (16 groups) are summed 4 lanes to 1
 * and transposed (integer adds: exact, any order), giving one int32 sum D per group in lane
 * l = 4 (g % 4) + g / 4 of the 16 groups; the groups' sx and cx are laid out in that lane order
 * once per step, the weight row's scales and biases permuted to it. Then per 16 groups, per row
 *     acc = fma((float)D, s * sx, acc);  acc = fma(b, cx, acc)
 * in lanes, blocks of 16 groups in order from 0 (groups past K: zero weights, activations, scales:
 * acc unchanged), and the 16 lanes summed by hsum16's fixed tree. A weight row is loaded and
 * split once per step for all its rows.
 *
 * Determinism: an output's operations depend on K, the group size and its row's and weight row's
 * values alone: the same bits whatever the other rows, M, the chunks or the threads. (Not the
 * float decode's bits, nor the prompt q4i's: the model id names the recipe.) */
typedef struct {
    int M, K, Kp, GB;       /* rows, inputs, inputs padded to whole blocks of 512 (16 groups), blocks */
    const int8_t *xq;       /* M x Kp, k order (for 8-bit weights), zero past K */
    const int8_t *xp;       /* M x Kp, per 128 inputs the 64 even then the 64 odd (4-bit weights) */
    const float *sx, *cx;   /* M x GB * 16, in lane order, zero past the last group */
} q4dx;

static inline int q4d_lane_group(int l) { return 4 * (l & 3) + (l >> 2); }

/* a grown buffer of the calling thread for q4d_prep (its own: a prompt's q4i chunks may hold theirs) */
static uint8_t *q4d_scratch(size_t n) {
    static __thread uint8_t *p = 0;
    static __thread size_t cap = 0;
    return grown(&p, &cap, n);
}

/* M rows of x (M x K) quantized (q4i_quant) and laid out for q4d_rows. 0, or -2 out of memory. */
static int q4d_prep(const float *x, int M, int K, q4dx *d) {
    const int G = K / QG, GB = (G + 15) / 16, Kp = GB * 512;
    const size_t nq = (size_t)M * K, nf = (size_t)M * G, np = (size_t)M * Kp, ns = (size_t)M * GB * 16;
    uint8_t *buf = q4d_scratch(2 * np + sizeof(float) * 2 * ns + nq + sizeof(float) * 2 * nf + 64);
    if (!buf) return -2;
    int8_t *xq = (int8_t *)buf, *xp = xq + np;
    float *sx = (float *)(void *)(buf + 2 * np), *cx = sx + ns;
    q4ix a;
    a.sx = cx + ns; a.cx = a.sx + nf; a.xq = (int8_t *)(a.cx + nf);
    q4i_quant(x, M, K, &a);
    memset(xq, 0, 2 * np);
    for (int r = 0; r < M; r++) {
        const int8_t *s = a.xq + (size_t)r * K;
        int8_t *o = xq + (size_t)r * Kp, *p = xp + (size_t)r * Kp;
        memcpy(o, s, (size_t)K);
        for (int k = 0; k < K; k++) p[(k & ~127) + ((k & 1) << 6) + ((k & 127) >> 1)] = s[k];
        for (int b = 0; b < GB; b++)
            for (int l = 0; l < 16; l++) {
                const int g = 16 * b + q4d_lane_group(l);
                sx[(size_t)r * GB * 16 + 16 * b + l] = g < G ? a.sx[(size_t)r * G + g] : 0.0f;
                cx[(size_t)r * GB * 16 + 16 * b + l] = g < G ? a.cx[(size_t)r * G + g] : 0.0f;
            }
    }
    d->M = M; d->K = K; d->Kp = Kp; d->GB = GB; d->xq = xq; d->xp = xp; d->sx = sx; d->cx = cx;
    return 0;
}

#if Q4I_PATH == 3 && defined(__AVX512VL__)
#define Q4D_OK 1
/* 16 scales (or biases) of a weight row for the 16 groups from g0 (a multiple of 16) in lane order */
static inline __m512 q4d_scales(const dmat *m, const uint16_t *p, int SG, int g0, int shift, __m512i idx) {
    const int j0 = g0 >> shift, nj = SG - j0 < 16 ? SG - j0 : 16;
    const __m256i h = _mm256_maskz_loadu_epi16((__mmask16)((1u << nj) - 1), (const void *)(p + j0));
    const __m512 f = m->bf ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)) : _mm512_cvtph_ps(h);
    return _mm512_permutexvar_ps(idx, f);
}

/* four vectors of 4 groups x 4 lanes (128-bit lane q: group q) to one int32 sum a group, group
 * 4 p + q of vector p in lane 4 q + p */
static inline __m512i q4d_fold(__m512i a, __m512i b, __m512i c, __m512i e) {
    const __m512i s1 = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    const __m512i s2 = _mm512_add_epi32(_mm512_unpacklo_epi32(c, e), _mm512_unpackhi_epi32(c, e));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(s1, s2), _mm512_unpackhi_epi64(s1, s2));
}

static inline __mmask64 q4d_mask(int nb) { return nb >= 64 ? ~(__mmask64)0 : nb <= 0 ? 0 : (((__mmask64)1 << nb) - 1); }

/* rows [n0, n1) of y (d->M x N) for the 4-bit or 8-bit matrix m */
static inline __attribute__((always_inline)) void q4d_rows_m(const q4dx *restrict d, const int M, const dmat *m,
                                                             float *restrict y, int N, int n0, int n1, const int b8) {
    const int K = m->K, SG = K / m->gs, RB = b8 ? K : K / 2, GB = d->GB, Kp = d->Kp;
    const int shift = m->gs == 32 ? 0 : m->gs == 64 ? 1 : m->gs == 128 ? 2 : 3;
    int li[16];
    for (int l = 0; l < 16; l++) li[l] = q4d_lane_group(l) >> shift;
    const __m512i idx = _mm512_loadu_si512((const void *)li), nib = _mm512_set1_epi8(15);
    const uint8_t *W = (const uint8_t *)m->w;
    for (int n = n0; n < n1; n++) {
        const uint8_t *q = W + (size_t)n * RB;
        const uint16_t *sr = m->qs + (size_t)n * SG, *br = m->qb + (size_t)n * SG;
        if (n + PF_ROWS < n1) {
            __builtin_prefetch(sr + (size_t)PF_ROWS * SG, 0, 3);
            __builtin_prefetch(br + (size_t)PF_ROWS * SG, 0, 3);
        }
        __m512 acc[MAXM];
        for (int r = 0; r < M; r++) acc[r] = _mm512_setzero_ps();
        for (int bk = 0; bk < GB; bk++) {
            const __m512 s = q4d_scales(m, sr, SG, 16 * bk, shift, idx), b = q4d_scales(m, br, SG, 16 * bk, shift, idx);
            __m512i D[MAXM];
            if (!b8 && K - 512 * bk <= 128) {
                /* the last block holds at most 4 groups (K = 576: 18 groups in two blocks): the
                 * 128 inputs past them are zero weights and activations, R[1..3] = 0 exactly, so
                 * only the first is computed (the same bits, about a third less work) */
                const int off = 4 * bk * 64;
                const __m512i c = _mm512_maskz_loadu_epi8(q4d_mask(RB - off), (const void *)(q + off));
                const __m512i lo = _mm512_and_si512(c, nib), hi = _mm512_and_si512(_mm512_srli_epi16(c, 4), nib);
                const __m512i z = _mm512_setzero_si512();
                for (int r = 0; r < M; r++) {
                    const int8_t *xr = d->xp + (size_t)r * Kp + 512 * bk;
                    __m512i R = _mm512_dpbusd_epi32(z, lo, _mm512_load_si512((const void *)xr));
                    R = _mm512_dpbusd_epi32(R, hi, _mm512_load_si512((const void *)(xr + 64)));
                    D[r] = q4d_fold(R, z, z, z);
                }
            } else if (!b8) {
                __m512i lo[4], hi[4];
                for (int p = 0; p < 4; p++) {
                    const int off = (4 * bk + p) * 64;
                    if (n + PF_ROWS < n1) __builtin_prefetch(q + (size_t)PF_ROWS * RB + off, 0, 3);
                    const __m512i c = _mm512_maskz_loadu_epi8(q4d_mask(RB - off), (const void *)(q + off));
                    lo[p] = _mm512_and_si512(c, nib);
                    hi[p] = _mm512_and_si512(_mm512_srli_epi16(c, 4), nib);
                }
                for (int r = 0; r < M; r++) {
                    const int8_t *xr = d->xp + (size_t)r * Kp + 512 * bk;
                    __m512i R[4];
                    for (int p = 0; p < 4; p++) {
                        R[p] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[p], _mm512_load_si512((const void *)(xr + 128 * p)));
                        R[p] = _mm512_dpbusd_epi32(R[p], hi[p], _mm512_load_si512((const void *)(xr + 128 * p + 64)));
                    }
                    D[r] = q4d_fold(R[0], R[1], R[2], R[3]);
                }
            } else if (K - 512 * bk <= 128) {  /* 8-bit, the same short last block */
                const int off = 8 * bk * 64;
                const __m512i w0 = _mm512_maskz_loadu_epi8(q4d_mask(RB - off), (const void *)(q + off));
                const __m512i w1 = _mm512_maskz_loadu_epi8(q4d_mask(RB - off - 64), (const void *)(q + off + 64));
                const __m512i z = _mm512_setzero_si512();
                for (int r = 0; r < M; r++) {
                    const int8_t *xr = d->xq + (size_t)r * Kp + 512 * bk;
                    const __m512i u = _mm512_dpbusd_epi32(z, w0, _mm512_load_si512((const void *)xr));
                    const __m512i v = _mm512_dpbusd_epi32(z, w1, _mm512_load_si512((const void *)(xr + 64)));
                    D[r] = q4d_fold(_mm512_add_epi32(_mm512_shuffle_i32x4(u, v, 0x88), _mm512_shuffle_i32x4(u, v, 0xDD)), z, z, z);
                }
            } else {
                __m512i w[8];
                for (int i = 0; i < 8; i++) {
                    const int off = (8 * bk + i) * 64;
                    if (n + PF_ROWS < n1) __builtin_prefetch(q + (size_t)PF_ROWS * RB + off, 0, 3);
                    w[i] = _mm512_maskz_loadu_epi8(q4d_mask(RB - off), (const void *)(q + off));
                }
                for (int r = 0; r < M; r++) {
                    const int8_t *xr = d->xq + (size_t)r * Kp + 512 * bk;
                    __m512i R[4];
                    for (int p = 0; p < 4; p++) {
                        const __m512i u = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[2 * p], _mm512_load_si512((const void *)(xr + 128 * p)));
                        const __m512i v = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[2 * p + 1], _mm512_load_si512((const void *)(xr + 128 * p + 64)));
                        R[p] = _mm512_add_epi32(_mm512_shuffle_i32x4(u, v, 0x88), _mm512_shuffle_i32x4(u, v, 0xDD));
                    }
                    D[r] = q4d_fold(R[0], R[1], R[2], R[3]);
                }
            }
            for (int r = 0; r < M; r++) {
                const size_t o = (size_t)r * GB * 16 + 16 * (size_t)bk;
                const __m512 sc = _mm512_mul_ps(s, _mm512_load_ps(d->sx + o));
                acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(D[r]), sc, acc[r]);
                acc[r] = _mm512_fmadd_ps(b, _mm512_load_ps(d->cx + o), acc[r]);
            }
        }
        for (int r = 0; r < M; r++) {
            v16 a;
            memcpy(&a, &acc[r], sizeof a);
            y[(size_t)r * N + n] = hsum16(a);
        }
    }
}

#define SPEC4D(MM) \
    static void q4d_rows_##MM(const q4dx *d, const dmat *m, float *y, int N, int n0, int n1) { \
        if (m->fmt == 3) q4d_rows_m(d, MM, m, y, N, n0, n1, 1); else q4d_rows_m(d, MM, m, y, N, n0, n1, 0); }
SPEC4D(1) SPEC4D(2) SPEC4D(3) SPEC4D(4) SPEC4D(5) SPEC4D(6) SPEC4D(7) SPEC4D(8)
typedef void (*q4d_fn)(const q4dx *, const dmat *, float *, int, int, int);
static const q4d_fn Q4DROWS[MAXM + 1] = {0, q4d_rows_1, q4d_rows_2, q4d_rows_3, q4d_rows_4, q4d_rows_5, q4d_rows_6,
                                         q4d_rows_7, q4d_rows_8};
static void q4d_rows(const q4dx *d, const dmat *m, float *y, int N, int n0, int n1) { Q4DROWS[d->M](d, m, y, N, n0, n1); }
#else
#define Q4D_OK 0
/* Portable: the same operations in the same order, lane by lane (lane l of a block of 16 groups:
 * group 16 b + q4d_lane_group(l)), so the same bits as the AVX512-VNNI build; used where asked
 * (FLUX_DECODE_PRODUCTS=q4i) and in tests. */
static void q4d_rows(const q4dx *d, const dmat *m, float *y, int N, int n0, int n1) {
    const int K = m->K, SG = K / m->gs, b8 = m->fmt == 3, RB = b8 ? K : K / 2, G = K / QG, GB = d->GB, M = d->M;
    const int shift = m->gs == 32 ? 0 : m->gs == 64 ? 1 : m->gs == 128 ? 2 : 3;
    const uint8_t *W = (const uint8_t *)m->w;
    for (int n = n0; n < n1; n++) {
        const uint8_t *q = W + (size_t)n * RB;
        const uint16_t *sr = m->qs + (size_t)n * SG, *br = m->qb + (size_t)n * SG;
        float acc[MAXM][16];
        memset(acc, 0, sizeof acc);
        for (int bk = 0; bk < GB; bk++)
            for (int l = 0; l < 16; l++) {
                const int g = 16 * bk + q4d_lane_group(l), j = g >> shift;
                const float s = j < SG ? q4_scale(m, sr + j) : 0.0f, b = j < SG ? q4_scale(m, br + j) : 0.0f;
                for (int r = 0; r < M; r++) {
                    int32_t D = 0;
                    if (g < G) {
                        const int8_t *xr = d->xq + (size_t)r * d->Kp;
                        for (int k = 32 * g; k < 32 * g + 32; k++)
                            D += (int32_t)(b8 ? q[k] : (k & 1) ? q[k >> 1] >> 4 : q[k >> 1] & 15) * xr[k];
                    }
                    const size_t o = (size_t)r * GB * 16 + 16 * (size_t)bk + l;
                    const float sc = s * d->sx[o];
                    acc[r][l] = fmaf((float)D, sc, acc[r][l]);
                    acc[r][l] = fmaf(b, d->cx[o], acc[r][l]);
                }
            }
        for (int r = 0; r < M; r++) {
            v16 a;
            memcpy(&a, acc[r], sizeof a);
            y[(size_t)r * N + n] = hsum16(a);
        }
    }
}
#endif

/* whether this build runs decode steps on q4d's AVX512-VNNI path: 1, else 0 (the portable one) */
int dec_q4d_path(void) { return Q4D_OK; }
