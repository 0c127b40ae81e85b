/* A whole decode step of a llama / qwen2 model in C: M rows (one token each, one per stream)
 * through every layer to the logits, on the skinny products of skinny.c.
 *
 * Part of World Texture Console (engine/llm/native.py builds the model description and calls
 * it; engine/llm/skinny.py compiles this file, which includes skinny.c, into one library).
 *
 * Why: run through MLX, a decode step of SmolLM2-135M on a 2-vCPU KVM guest cost 44 ms for one
 * row and 52 ms for four, of which the products themselves (skinny.c, 211 of them) were 12 and
 * 16 ms: the rest was MLX building and evaluating a graph of about a thousand small operations,
 * the products breaking it into 211 synchronous pieces, and the copies between MLX and numpy at
 * each. Here a step is the products plus a few thousand floating-point operations per row, with
 * no graph, no copies and no allocation beyond one scratch buffer.
 *
 * What a layer does, per row (as mlx-lm's llama.py / qwen2.py do it):
 *   xn = rms_norm(x) * w_in; q, k, v = xn @ Wq.T (+ bq), xn @ Wk.T (+ bk), xn @ Wv.T (+ bv);
 *   rope(q), rope(k) at the row's position; k, v appended to the row's cache;
 *   a = softmax(q . K / sqrt(d)) V per head (grouped-query: n_heads / n_kv query heads per kv head);
 *   x += a @ Wo.T; xn = rms_norm(x) * w_post; x += (silu(xn @ Wg.T) * (xn @ Wu.T)) @ Wd.T.
 * Then logits = rms_norm(x) * w_final @ Whead.T.
 *
 * Determinism: every value of a row is computed from that row's own inputs in a fixed order (the
 * products as in skinny.c; norms, softmax and the exp below in fixed vector lanes, then a fixed
 * tree; attention of one (row, kv head) by one thread), so a row's logits are bit-identical
 * whatever M, the other rows, or the thread split. They are not bit-identical to MLX's step (other
 * summation orders), which is why the model id names this recipe.
 *
 * The KV cache of a row is one float16 block owned by the caller: [layer][k|v][kv head][cap][d]
 * (as llama.cpp keeps it by default). A step reads every row's whole cache: at 200 positions
 * SmolLM2's is 9 MB a row in float32, a fifth of what the weights cost to read at 4 rows.
 */
#include "skinny.c"

#if defined(__AVX512F__) || defined(__F16C__)  /* float16 <-> float32 in one instruction */
typedef uint16_t kvt;  /* a KV cache element: float16 bits */
static inline v16 ldkv16(const kvt *p) {
#if defined(__AVX512F__)
    __m512 f = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)p));
    v16 v; memcpy(&v, &f, sizeof v); return v;
#else
    __m256 lo = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)p));
    __m256 hi = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(p + 8)));
    v16 v; memcpy(&v, &lo, 32); memcpy((char *)&v + 32, &hi, 32); return v;
#endif
}
static inline void stkv(kvt *dst, const float *src, int n) {  /* n a multiple of 16 */
    for (int i = 0; i < n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128((__m128i *)(void *)(dst + i), h);
    }
}
#else                 /* otherwise float32 (dec_kv_bytes tells the caller) */
typedef float kvt;
static inline v16 ldkv16(const kvt *p) { return ld16(p); }
static inline void stkv(kvt *dst, const float *src, int n) { memcpy(dst, src, sizeof(float) * (size_t)n); }
#endif

/* A weight matrix: fmt 0 = float32 (N, K); 1 = q8 (uint8 (N, K) + sb (N, K/32, 2)), what decode
 * steps read; wf the float32 weights (N, K) prefill's BLAS products read; 2 = MLX's affine 4-bit
 * layout where MLX holds it (w: uint32 (N, K/8), qs / qb: float16 or bfloat16 scales and biases
 * (N, K/gs); q4.c), read by decode steps and prompts alike; 3 = the same for MLX's 8-bit layout. */
typedef struct {
    int fmt, N, K; const void *w; const float *s; const float *bias; const float *wf;
    const uint16_t *wb; /* the weights in bfloat16 packed for AMX tiles (dec_pack_bf16), or NULL */
    const uint8_t *qp;  /* q8 weights reordered for AMX decode steps (dec_pack_q8), or NULL */
    const float *sp;    /* their scales and offsets, 16 rows at a time */
    const uint16_t *qs, *qb; /* fmt 2: scales and biases, (N, K / gs) */
    int gs, bf;              /* fmt 2: the group size; 1 when qs / qb are bfloat16 (else float16) */
} dmat;

typedef struct {
    int n_layers, hidden, inter, n_heads, n_kv, head_dim, vocab, rope_dims, rope_trad;
    float eps, attn_scale, rope_scale;
    const float *inv_freq;   /* rope_dims / 2 */
    const float *embed;      /* vocab x hidden, float32 */
    const float *final_norm; /* hidden */
    const float *const *norms; /* 2 per layer: input, post-attention */
    const dmat *mats;        /* 7 per layer: q, k, v, o, gate, up, down */
    dmat head;
    /* With embed NULL (no float32 copy kept), a token's embedding row is dequantized from these
     * q8 bytes and scales (the tied output projection's, or the embedding's own q8 copy). */
    const uint8_t *embq;
    const float *embs;
    int prefill_idot;        /* prompts' q8 products with int8 activations (AVX512-VNNI) when 1 */
    const dmat *emb4;        /* with embed and embq NULL: the embedding as an MLX matrix (fmt 2 or 3) */
    int prefill_q4i;         /* prompts' 4-bit and 8-bit (fmt 2, 3) products with int8 activations (q4.c) when 1 */
    int decode_q4i;          /* decode steps' 4-bit and 8-bit products with int8 activations (q4.c's q4d) when 1 */
} dmodel;

#include "q4.c"

/* token tok's embedding row into x (hidden floats) */
static void embed_row(const dmodel *md, int tok, float *x) {
    const int Hd = md->hidden;
    if (md->embed) { memcpy(x, md->embed + (size_t)tok * Hd, sizeof(float) * (size_t)Hd); return; }
    if (md->emb4) { q4_row(md->emb4, tok, x); return; }
    const int G = Hd / QG;
    const uint8_t *q = md->embq + (size_t)tok * Hd;
    const float *sb = md->embs + (size_t)tok * 2 * G;
    for (int g = 0; g < G; g++)
        for (int k = 0; k < QG; k++) x[g * QG + k] = (float)q[g * QG + k] * sb[2 * g] + sb[2 * g + 1];
}

/* ---------------------------------------------------------------- vector helpers */
/* exp(x) for 16 lanes: 2^(x log2 e) as 2^n * p(f), p a degree-6 polynomial on [-0.5, 0.5]
 * (relative error ~2e-7). Pure lane-wise arithmetic: the same inputs give the same bits. */
/* lane-wise m ? a : b for a compare's mask m (all ones or all zeros per lane) */
static inline v16 sel16(i16v m, v16 a, v16 b) { return (v16)(((i16v)a & m) | ((i16v)b & ~m)); }

static inline v16 vexp16(v16 x) {
    const v16 lo = (v16){0} - 87.0f, hi = (v16){0} + 88.0f;
    x = sel16(x < lo, lo, x);
    x = sel16(x > hi, hi, x);
    v16 y = x * 1.4426950408889634f;
    const v16 magic = (v16){0} + 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    v16 t = y + magic;
    v16 n = t - magic;
    v16 f = y - n;
    v16 p = (v16){0} + 1.535336188319500e-4f;
    p = p * f + 1.339887440266574e-3f;
    p = p * f + 9.618437357674640e-3f;
    p = p * f + 5.550332471162809e-2f;
    p = p * f + 2.402264791363012e-1f;
    p = p * f + 6.931472028550421e-1f;
    p = p * f + 1.0f;
    i16v ni = __builtin_convertvector(n, i16v);
    i16v bits = (ni + 127) << 23;
    v16 scale; memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* sum of squares of x[0..n), n a multiple of 16, in a fixed order. */
static inline float sumsq(const float *x, int n) {
    v16 a = (v16){0};
    for (int i = 0; i < n; i += 16) { v16 v = ld16(x + i); a += v * v; }
    return hsum16(a);
}

static void rms_norm(const float *x, const float *w, float *y, int n, float eps) {
    float r = 1.0f / sqrtf(sumsq(x, n) / (float)n + eps);
    for (int i = 0; i < n; i++) y[i] = (x[i] * r) * w[i];
}

/* ---------------------------------------------------------------- AMX bfloat16 prefill products
 * On a CPU with AMX (Sapphire Rapids and later) a prompt's products run on the tile unit in
 * bfloat16 with float32 sums: the weights are packed once (dec_pack_bf16), the activations
 * rounded to bfloat16 per product. Each output is the tile unit's sum over K in 32-wide steps in
 * a fixed order, and depends on its own row and column alone: the same prompt gives the same
 * bits whatever the padding rows or the thread split (not the same bits as the float32 BLAS
 * products: the model id names the recipe). The OS must grant the tile state (Linux 5.16+,
 * arch_prctl); dec_amx_enable says whether it did. */
#if defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__AVX512BF16__) && defined(__linux__)
#define HAVE_AMX 1
#include <sys/syscall.h>
#include <unistd.h>
#endif
static int g_amx = 0;

/* float32 -> bfloat16, round to nearest even (NaN kept a NaN) */
static inline uint16_t f2bf(float f) {
    uint32_t u; memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* w (N x K float32, row-major) into out (N*K): for each block of 16 output rows and 32 inputs, a
 * 16 x 64-byte tile whose row p holds, for each of the 16 outputs, inputs 2p and 2p+1 (the tile
 * unit's pair layout). Returns 0; -1 unless N % 16 == 0 and K % 32 == 0. */
int dec_pack_bf16(const float *w, int N, int K, uint16_t *out) {
    if (N % 16 || K % 32 || N < 16 || K < 32) return -1;
    const int KB = K / 32;
    for (int nb = 0; nb < N / 16; nb++)
        for (int kb = 0; kb < KB; kb++) {
            uint16_t *t = out + ((size_t)nb * KB + kb) * 512;
            for (int p = 0; p < 16; p++)
                for (int n = 0; n < 16; n++)
                    for (int e = 0; e < 2; e++)
                        t[p * 32 + n * 2 + e] = f2bf(w[(size_t)(nb * 16 + n) * K + kb * 32 + 2 * p + e]);
        }
    return 0;
}

/* 1 when the tile unit is used from now on (on: 1 asks for it, 0 turns it off). */
int dec_amx_enable(int on) {
#ifdef HAVE_AMX
    static int granted = -1;
    if (on && granted < 0) granted = syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) == 0;
    g_amx = on && granted == 1;
#else
    (void)on;
    g_amx = 0;
#endif
    return g_amx;
}
int dec_amx_compiled(void) {
#ifdef HAVE_AMX
    return 1;
#else
    return 0;
#endif
}

#ifdef HAVE_AMX
typedef struct { uint8_t palette, start; uint8_t reserved[14]; uint16_t colsb[16]; uint8_t rows[16]; } tilecfg;
static __thread int t_cfg = -1;  /* the tile configuration this thread has loaded (its A rows), -1 none */

/* tiles 0-3 and 6-7: 16 rows of 64 bytes; 4-5 (A) and, with rows < 16, 0-3 (C): `rows` rows */
static void amx_config(int rows) {
    if (t_cfg == rows) return;
    tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) { cfg.rows[t] = 16; cfg.colsb[t] = 64; }
    for (int t = 0; t < 6; t++) cfg.rows[t] = (uint8_t)rows;  /* C (0-3) and A (4-5) */
    _tile_loadconfig(&cfg);
    t_cfg = rows;
}
#endif

/* q8 weights (uint8 q (N, K), sb (N, K/32, 2): w = s q + b per group of 32) reordered for decode
 * steps on the tile unit: per block of 16 rows and group kb, qp holds 16 rows p of 32 bytes, row p
 * the pair (2p, 2p+1) of each of the 16 outputs (the tile unit's B layout, still uint8); sp the
 * group's 16 scales then 16 offsets. Returns 0; -1 unless N % 16 == 0 and K % 32 == 0. */
int dec_pack_q8(const uint8_t *q, const float *sb, int N, int K, uint8_t *qp, float *sp) {
    if (N % 16 || K % 32 || N < 16 || K < 32) return -1;
    const int KB = K / 32;
    for (int nb = 0; nb < N / 16; nb++)
        for (int kb = 0; kb < KB; kb++) {
            uint8_t *t = qp + ((size_t)nb * KB + kb) * 512;
            float *f = sp + ((size_t)nb * KB + kb) * 32;
            for (int n = 0; n < 16; n++) {
                const size_t row = (size_t)(nb * 16 + n);
                for (int p = 0; p < 16; p++)
                    for (int e = 0; e < 2; e++) t[p * 32 + n * 2 + e] = q[row * K + kb * 32 + 2 * p + e];
                f[n] = sb[(row * KB + kb) * 2];
                f[16 + n] = sb[(row * KB + kb) * 2 + 1];
            }
        }
    return 0;
}

#ifdef HAVE_AMX
/* Rows [n0, n1) (multiples of 16) of y (M x N) = xb (M x K bfloat16) @ W.T, W the q8 matrix m: per
 * block of 16 outputs and group of 32 inputs the group's weights dequantized (s q + b in float32,
 * then rounded to bfloat16) into a B tile in L1, and one tile product into the block's float32
 * sums. Every output is summed over the groups in order by the tile unit, from its own row of xb
 * and its own weights: the same bits whatever M, the other rows or the thread split. */
#ifndef AMX_PF
#define AMX_PF 4
#endif
static void amx_q8_rows(const uint16_t *xb, int M, const dmat *m, float *y, int n0, int n1) {
    amx_config(M);
    const int K = m->K, N = m->N, KB = K / 32;
    const __m512i lo_i = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    const __m512i hi_i = _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
    _Alignas(64) uint16_t bt[2][512];  /* two B tiles: one is built while the other is multiplied */
    for (int nb = n0 / 16; nb < n1 / 16; nb++) {
        const uint8_t *qb = m->qp + (size_t)nb * KB * 512;
        const float *fb = m->sp + (size_t)nb * KB * 32;
        _tile_zero(0);
        for (int kb = 0; kb < KB; kb++) {
            const uint8_t *qt = qb + (size_t)kb * 512;
            for (int o = 0; o < 512; o += 64) __builtin_prefetch(qt + AMX_PF * 512 + o, 0, 3);
            __builtin_prefetch(fb + (size_t)(kb + AMX_PF) * 32, 0, 3);
            __builtin_prefetch(fb + (size_t)(kb + AMX_PF) * 32 + 16, 0, 3);
            const __m512 s16 = _mm512_loadu_ps(fb + (size_t)kb * 32), b16 = _mm512_loadu_ps(fb + (size_t)kb * 32 + 16);
            const __m512 slo = _mm512_permutexvar_ps(lo_i, s16), shi = _mm512_permutexvar_ps(hi_i, s16);
            const __m512 blo = _mm512_permutexvar_ps(lo_i, b16), bhi = _mm512_permutexvar_ps(hi_i, b16);
            uint16_t *t = bt[kb & 1];
            for (int p = 0; p < 16; p++) {
                const __m512 wl = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(qt + p * 32))));
                const __m512 wh = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(qt + p * 32 + 16))));
                const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_fmadd_ps(wh, shi, bhi), _mm512_fmadd_ps(wl, slo, blo));
                _mm512_store_si512((void *)(t + p * 32), (__m512i)h);
            }
            _tile_loadd(6, t, 64);
            _tile_loadd(4, xb + (size_t)kb * 32, K * 2);
            _tile_loadd(5, xb + (size_t)M * K + (size_t)kb * 32, K * 2);
            _tile_dpbf16ps(0, 4, 6);  /* the activations' bfloat16 part, then what it left */
            _tile_dpbf16ps(0, 5, 6);
        }
        _tile_stored(0, y + (size_t)nb * 16, N * 4);
    }
}
#endif

/* ---------------------------------------------------------------- products of several matrices */
/* One job over up to 3 matrices that share the input rows (q, k, v; gate, up): the rows of the
 * matrices are numbered one after the other and cut into chunks as one product. */
typedef struct {
    int nseg, M; const dmat *m[3]; const float *x; float *y[3]; int start[4]; const uint16_t *xb;
    const void *qd;  /* the rows quantized for q4d (q4dx), or NULL */
} segjob;

static void seg_rows(const float *x, const void *w, const float *s, int K, float *y, int N, int n0, int n1) {
    (void)w; (void)s; (void)K; (void)y; (void)N;
    const segjob *j = (const segjob *)(const void *)x;
    for (int g = 0; g < j->nseg; g++) {
        int a = n0 > j->start[g] ? n0 : j->start[g], b = n1 < j->start[g + 1] ? n1 : j->start[g + 1];
        if (a >= b) continue;
        const dmat *m = j->m[g];
        int o = j->start[g];
#ifdef HAVE_AMX
        if (j->xb) { amx_q8_rows(j->xb, j->M, m, j->y[g], a - o, b - o); continue; }
#endif
        if (m->fmt >= 2 && j->qd) { q4d_rows((const q4dx *)j->qd, m, j->y[g], m->N, a - o, b - o); continue; }
        if (m->fmt >= 2) Q4ROWS[j->M](j->x, m, 0, m->K, j->y[g], m->N, a - o, b - o);
        else if (m->fmt == 1) Q8ROWS[j->M](j->x, m->w, m->s, m->K, j->y[g], m->N, a - o, b - o);
        else ROWS[j->M](j->x, m->w, 0, m->K, j->y[g], m->N, a - o, b - o);
    }
}

#ifdef HAVE_AMX
/* x as two bfloat16 parts: hi = bf16(x), lo = bf16(x - hi) (the tile unit's A rows: a step's
 * activations to about 16 bits, where bf16 alone cost the quality guard's top-1 agreement) */
static void to_bf16_split(const float *x, size_t n, uint16_t *hi, uint16_t *lo) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512 a = _mm512_loadu_ps(x + i), b = _mm512_loadu_ps(x + i + 16);
        const __m512bh h = _mm512_cvtne2ps_pbh(b, a);
        const __m512i hw = (__m512i)h;
        const __m512 ah = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(hw)), 16));
        const __m512 bh = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(hw, 1)), 16));
        _mm512_storeu_si512((void *)(hi + i), hw);
        _mm512_storeu_si512((void *)(lo + i), (__m512i)_mm512_cvtne2ps_pbh(_mm512_sub_ps(b, bh), _mm512_sub_ps(a, ah)));
    }
    for (; i < n; i++) {
        hi[i] = f2bf(x[i]);
        uint32_t u = (uint32_t)hi[i] << 16;
        float h; memcpy(&h, &u, sizeof h);
        lo[i] = f2bf(x[i] - h);
    }
}
#endif

/* With every matrix packed for the tile unit (dec_pack_q8) and AMX granted, the rows run there
 * (in chunks of whole 16-row blocks); with idot and every matrix 4-bit or 8-bit (fmt 2, 3), on
 * q4.c's q4d (int8 activations, where the build has it); otherwise on the q8 / float32 kernels of
 * skinny.c and q4.c. */
static void products(int M, const float *x, int nseg, const dmat *const *ms, float *const *ys, int idot, int threads) {
    segjob j;
    j.nseg = nseg; j.M = M; j.x = x; j.start[0] = 0; j.xb = 0; j.qd = 0;
    q4dx qd;
    int q4d = idot && M <= MAXM;
    for (int g = 0; g < nseg; g++) q4d = q4d && ms[g]->fmt >= 2 && q4_ok(ms[g]) && ms[g]->K == ms[0]->K;
    if (q4d && q4d_prep(x, M, ms[0]->K, &qd) == 0) j.qd = &qd;
    int tiles = g_amx && M <= 16;
    for (int g = 0; g < nseg; g++) {
        j.m[g] = ms[g]; j.y[g] = ys[g]; j.start[g + 1] = j.start[g] + ms[g]->N;
        tiles = tiles && ms[g]->qp;
    }
#ifdef HAVE_AMX
    _Alignas(64) uint16_t xb_stack[2 * 8 * 1536];
    uint16_t *xb = 0;
    if (tiles) {
        const size_t n = (size_t)M * ms[0]->K;
        xb = 2 * n <= sizeof xb_stack / sizeof xb_stack[0] ? xb_stack : aligned_alloc(64, ((n * 4 + 63) / 64) * 64);
        if (xb) to_bf16_split(x, n, xb, xb + n);
    }
    if (xb) {
        j.xb = xb;
        const int blocks = j.start[nseg] / 16, per = (blocks + 31) / 32;  /* about 32 chunks of whole blocks */
        run_chunks(seg_rows, (const float *)(const void *)&j, 0, 0, ms[0]->K, 0, j.start[nseg], threads, 16 * per);
        if (xb != xb_stack) free(xb);
    } else
#else
    (void)tiles;
#endif
    run(seg_rows, (const float *)(const void *)&j, M, 0, 0, ms[0]->K, 0, j.start[nseg], threads);
    for (int g = 0; g < nseg; g++) {
        const float *b = ms[g]->bias;
        if (!b) continue;
        for (int r = 0; r < M; r++)
            for (int n = 0; n < ms[g]->N; n++) ys[g][(size_t)r * ms[g]->N + n] += b[n];
    }
}

/* ---------------------------------------------------------------- attention */
/* 16 vectors' horizontal sums as one vector (lane i: v[i]'s), by a tree of pairwise adds:
 * level k adds lanes l and l ^ 2^k of two vectors at once. Every lane's sum is the same balanced
 * tree (adds commute exactly), so a vector's sum does not depend on the lane it lands in. */
static inline v16 comb0(v16 a, v16 b) {
    return __builtin_shufflevector(a, b, 0, 17, 2, 19, 4, 21, 6, 23, 8, 25, 10, 27, 12, 29, 14, 31) +
           __builtin_shufflevector(a, b, 1, 16, 3, 18, 5, 20, 7, 22, 9, 24, 11, 26, 13, 28, 15, 30);
}
static inline v16 comb1(v16 a, v16 b) {
    return __builtin_shufflevector(a, b, 0, 1, 18, 19, 4, 5, 22, 23, 8, 9, 26, 27, 12, 13, 30, 31) +
           __builtin_shufflevector(a, b, 2, 3, 16, 17, 6, 7, 20, 21, 10, 11, 24, 25, 14, 15, 28, 29);
}
static inline v16 comb2(v16 a, v16 b) {
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 20, 21, 22, 23, 8, 9, 10, 11, 28, 29, 30, 31) +
           __builtin_shufflevector(a, b, 4, 5, 6, 7, 16, 17, 18, 19, 12, 13, 14, 15, 24, 25, 26, 27);
}
static inline v16 comb3(v16 a, v16 b) {
    return __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 24, 25, 26, 27, 28, 29, 30, 31) +
           __builtin_shufflevector(a, b, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23);
}
static inline v16 hsum16x16(const v16 *v) {
    v16 c0[8], c1[4], c2[2];
    for (int i = 0; i < 8; i++) c0[i] = comb0(v[2 * i], v[2 * i + 1]);
    for (int i = 0; i < 4; i++) c1[i] = comb1(c0[2 * i], c0[2 * i + 1]);
    for (int i = 0; i < 2; i++) c2[i] = comb2(c1[2 * i], c1[2 * i + 1]);
    return comb3(c2[0], c2[1]);
}

typedef struct {
    const dmodel *md; int layer, M; const float *q; float *out;
    kvt *const *kv; const int *len, *cap;
} attjob;

static kvt *kv_at(const dmodel *md, kvt *base, int cap, int layer, int which, int g) {
    return base + ((((size_t)layer * 2 + which) * md->n_kv + g) * (size_t)cap) * md->head_dim;
}

/* Units are (row, kv head) pairs; each is computed whole by one thread. */
/* Units are (row, kv head) pairs; each is computed whole by one thread. The query heads of a kv
 * head (grouped-query attention) share each key and value as it is read and converted: keys
 * through a float buffer, values four heads at a time. Per head the arithmetic is the same
 * as computing that head alone (scores in d order, the weighted values summed over even and
 * odd positions apart), so the grouping changes no bit. */
#define HB 4   /* query heads per pass over the values */
#define MAX_HEAD_DIM 256
#define MAX_GROUP 64  /* query heads per kv head */
static void att_units(const float *x, const void *w, const float *s, int K, float *y, int N, int u0, int u1) {
    (void)w; (void)s; (void)K; (void)y; (void)N;
    const attjob *j = (const attjob *)(const void *)x;
    const dmodel *md = j->md;
    const int D = md->head_dim, Hkv = md->n_kv, rep = md->n_heads / md->n_kv, HD = md->n_heads * D;
    float kbuf[16 * MAX_HEAD_DIM];
    for (int u = u0; u < u1; u++) {
        const int r = u / Hkv, g = u % Hkv, T = j->len[r] + 1;  /* keys 0..len (this token's included) */
        const kvt *Kc = kv_at(md, j->kv[r], j->cap[r], j->layer, 0, g);
        const kvt *Vc = kv_at(md, j->kv[r], j->cap[r], j->layer, 1, g);
        const int Tp = (T + 15) & ~15;
        float stackbuf[8192];
        float *sc = (size_t)rep * Tp <= 8192 ? stackbuf : malloc(sizeof(float) * (size_t)rep * Tp);
        if (!sc) continue;
        const float *q0 = j->q + (size_t)r * HD + (size_t)g * rep * D;
        float mx[MAX_GROUP];
        for (int h = 0; h < rep; h++) mx[h] = -INFINITY;
        /* scores, 16 keys at a time: the keys converted once for all the group's heads, each
         * key's dot product in 16 lanes (d order), then the 16 sums at once (hsum16x16) */
        for (int t0 = 0; t0 < T; t0 += 16) {
            const int nk = T - t0 < 16 ? T - t0 : 16;
            for (int i = 0; i < nk; i++) {
                const kvt *kr = Kc + (size_t)(t0 + i) * D;
                for (int o = 0; o < D; o += 32) __builtin_prefetch(kr + 16 * D + o, 0, 3);  /* every line, a block ahead */
                for (int d = 0; d < D; d += 16) { v16 kv16 = ldkv16(kr + d); memcpy(kbuf + i * D + d, &kv16, sizeof kv16); }
            }
            for (int i = nk; i < 16; i++) memset(kbuf + i * D, 0, sizeof(float) * D);
            for (int h = 0; h < rep; h++) {
                const float *q = q0 + (size_t)h * D;
                v16 acc[16];
                for (int i = 0; i < 16; i++) {
                    v16 a = (v16){0};
                    for (int d = 0; d < D; d += 16) a += ld16(q + d) * ld16(kbuf + i * D + d);
                    acc[i] = a;
                }
                v16 sv = hsum16x16(acc) * md->attn_scale;
                float *dst = sc + (size_t)h * Tp + t0;
                memcpy(dst, &sv, sizeof sv);
                for (int i = 0; i < nk; i++) mx[h] = dst[i] > mx[h] ? dst[i] : mx[h];
            }
        }
        float inv[MAX_GROUP];
        for (int h = 0; h < rep; h++) {
            float *sh = sc + (size_t)h * Tp;
            for (int t = T; t < Tp; t++) sh[t] = -INFINITY;
            v16 tot = (v16){0};
            for (int t = 0; t < Tp; t += 16) {
                const v16 st = ld16(sh + t);
                v16 e = sel16(st == (v16){0} - INFINITY, (v16){0}, vexp16(st - mx[h]));
                memcpy(sh + t, &e, sizeof e);
                tot += e;
            }
            inv[h] = 1.0f / hsum16(tot);
        }
        /* out_h = sum_t p_ht V_t in t order: each value row read once for up to HB heads and 64
         * dims (HB x 4 accumulators in registers) */
        for (int h0 = 0; h0 < rep; h0 += HB) {
            const int nh = rep - h0 < HB ? rep - h0 : HB;
            for (int d0 = 0; d0 < D; d0 += 64) {
                const int nc = (D - d0 < 64 ? D - d0 : 64) / 16;
                v16 acc[HB][4];
                for (int h = 0; h < HB; h++)
                    for (int c = 0; c < 4; c++) acc[h][c] = (v16){0};
                for (int t = 0; t < T; t++) {
                    const kvt *vr = Vc + (size_t)t * D + d0;
                    if (d0 == 0) for (int o = 0; o < D; o += 32) __builtin_prefetch(vr + 16 * D + o, 0, 3);
                    v16 vv[4];
                    for (int c = 0; c < nc; c++) vv[c] = ldkv16(vr + 16 * c);
                    for (int h = 0; h < nh; h++) {
                        const float p = sc[(size_t)(h0 + h) * Tp + t];
                        for (int c = 0; c < nc; c++) acc[h][c] += vv[c] * p;
                    }
                }
                for (int h = 0; h < nh; h++)
                    for (int c = 0; c < nc; c++) {
                        v16 o = acc[h][c] * inv[h0 + h];
                        memcpy(j->out + (size_t)r * HD + (size_t)(g * rep + h0 + h) * D + d0 + 16 * c, &o, sizeof o);
                    }
            }
        }
        if (sc != stackbuf) free(sc);
    }
}

/* ---------------------------------------------------------------- rope */
/* cos and sin of each rotated pair's angle at position pos: cs[0..half) cos, cs[half..2 half) sin */
static void rope_table(const dmodel *md, int pos, float *cs) {
    const int half = md->rope_dims / 2;
    const float p = (float)pos * md->rope_scale;
    for (int i = 0; i < half; i++) {
        const float th = p * md->inv_freq[i];
        cs[i] = cosf(th);
        cs[half + i] = sinf(th);
    }
}

static void rope(const dmodel *md, float *v, const float *cs) {
    const int half = md->rope_dims / 2;
    for (int i = 0; i < half; i++) {
        const float c = cs[i], s = cs[half + i];
        const int a = md->rope_trad ? 2 * i : i, b = md->rope_trad ? 2 * i + 1 : i + half;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * c - x1 * s;
        v[b] = x0 * s + x1 * c;
    }
}

/* rope on one row's q and k at pos, and its k and v into the cache at pos */
static void rope_and_store(const dmodel *md, int l, float *q, float *k, const float *v, kvt *kvb, int cap,
                           int pos, const float *cs) {
    const int D = md->head_dim;
    for (int h = 0; h < md->n_heads; h++) rope(md, q + (size_t)h * D, cs);
    for (int g = 0; g < md->n_kv; g++) {
        float *kr = k + (size_t)g * D;
        rope(md, kr, cs);
        stkv(kv_at(md, kvb, cap, l, 0, g) + (size_t)pos * D, kr, D);
        stkv(kv_at(md, kvb, cap, l, 1, g) + (size_t)pos * D, v + (size_t)g * D, D);
    }
}

/* ---------------------------------------------------------------- the step */
int dec_max_rows(void) { return MAXM; }
int dec_kv_bytes(void) { return (int)sizeof(kvt); }  /* the caller's cache element size (2) */

/* M rows (1..8): tokens[M]; kv[M] each row's cache block, len[M] the tokens already in it (this
 * step's token goes at position len[r]; the caller adds 1 afterwards), cap[M] its capacity.
 * logits: M x vocab. Returns 0; -1 for bad arguments; -2 when out of memory; -3 for a full cache. */
int dec_step(const dmodel *md, int M, const int *tokens, kvt *const *kv, const int *len, const int *cap,
             float *logits, int threads) {
    if (!md || M < 1 || M > MAXM) return -1;
    const int Hd = md->hidden, I = md->inter, D = md->head_dim;
    const int QD = md->n_heads * D, KD = md->n_kv * D;
    if (Hd % 16 || I % 16 || D % 16 || D > MAX_HEAD_DIM || md->n_heads / md->n_kv > MAX_GROUP) return -1;
    for (int r = 0; r < M; r++) {
        if (tokens[r] < 0 || tokens[r] >= md->vocab) return -1;
        if (len[r] < 0 || len[r] >= cap[r]) return -3;
    }
    size_t nf = (size_t)M * (2 * Hd + QD + 2 * KD + QD + 2 * I + Hd + md->rope_dims);
    float *buf = malloc(sizeof(float) * nf);
    if (!buf) return -2;
    float *x = buf, *xn = x + (size_t)M * Hd, *q = xn + (size_t)M * Hd, *k = q + (size_t)M * QD,
          *v = k + (size_t)M * KD, *att = v + (size_t)M * KD, *gt = att + (size_t)M * QD,
          *up = gt + (size_t)M * I, *tmp = up + (size_t)M * I, *cs = tmp + (size_t)M * Hd;
    for (int r = 0; r < M; r++) {
        embed_row(md, tokens[r], x + (size_t)r * Hd);
        rope_table(md, len[r], cs + (size_t)r * md->rope_dims);
    }

    for (int l = 0; l < md->n_layers; l++) {
        const dmat *mt = md->mats + (size_t)l * 7;
        for (int r = 0; r < M; r++)
            rms_norm(x + (size_t)r * Hd, md->norms[2 * l], xn + (size_t)r * Hd, Hd, md->eps);
        {
            const dmat *ms[3] = {&mt[0], &mt[1], &mt[2]};
            float *ys[3] = {q, k, v};
            products(M, xn, 3, ms, ys, md->decode_q4i, threads);
        }
        for (int r = 0; r < M; r++)
            rope_and_store(md, l, q + (size_t)r * QD, k + (size_t)r * KD, v + (size_t)r * KD, kv[r], cap[r], len[r],
                           cs + (size_t)r * md->rope_dims);
        {
            attjob aj = {md, l, M, q, att, kv, len, cap};
            run_chunks(att_units, (const float *)(const void *)&aj, 0, 0, 0, 0, M * md->n_kv, threads, 1);
        }
        {
            const dmat *ms[1] = {&mt[3]};
            float *ys[1] = {tmp};
            products(M, att, 1, ms, ys, md->decode_q4i, threads);
            for (size_t i = 0; i < (size_t)M * Hd; i++) x[i] += tmp[i];
        }
        for (int r = 0; r < M; r++)
            rms_norm(x + (size_t)r * Hd, md->norms[2 * l + 1], xn + (size_t)r * Hd, Hd, md->eps);
        {
            const dmat *ms[2] = {&mt[4], &mt[5]};
            float *ys[2] = {gt, up};
            products(M, xn, 2, ms, ys, md->decode_q4i, threads);
        }
        for (size_t i = 0; i < (size_t)M * I; i += 16) {  /* silu(g) * u */
            v16 g = ld16(gt + i), u = ld16(up + i);
            v16 a = g / (1.0f + vexp16(-g)) * u;
            memcpy(gt + i, &a, sizeof a);
        }
        {
            const dmat *ms[1] = {&mt[6]};
            float *ys[1] = {tmp};
            products(M, gt, 1, ms, ys, md->decode_q4i, threads);
            for (size_t i = 0; i < (size_t)M * Hd; i++) x[i] += tmp[i];
        }
    }
    for (int r = 0; r < M; r++) rms_norm(x + (size_t)r * Hd, md->final_norm, xn + (size_t)r * Hd, Hd, md->eps);
    {
        const dmat *ms[1] = {&md->head};
        float *ys[1] = {logits};
        products(M, xn, 1, ms, ys, md->decode_q4i, threads);
    }
    free(buf);
    return 0;
}

/* ---------------------------------------------------------------- prefill */
/* A prompt's tokens through every layer into its row's cache, on the blocked 4-bit products of
 * q4.c for a model's 4-bit and 8-bit matrices (q4i, int8 activations on integer dot products,
 * each product input quantized once: md->prefill_q4i), on the blocked q8 products below
 * (when no float32 copy of the weights is kept: the default), on the AMX tile unit (weights
 * packed in bfloat16), or on BLAS float32 products (cblas_sgemm, handed over by the caller: the
 * OpenBLAS the process already loaded, for float32 weights), and the
 * causal attention of att_units, one (token, kv head) per unit. Chunks of at most PCHUNK tokens
 * bound the scratch memory. The same prompt always runs the same chunks and shapes, so its
 * cache and logits are the same bits every time, alone or while other rows wait. */
typedef void (*sgemm_fn)(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                         const float *B, int ldb, float beta, float *C, int ldc);
static sgemm_fn g_sgemm = 0;
#define PCHUNK 256

void dec_set_sgemm(void *fn) { g_sgemm = (sgemm_fn)fn; }
int dec_has_sgemm(void) { return g_sgemm != 0; }

#ifdef HAVE_AMX
typedef struct { const uint16_t *a, *b; float *y; int M, N, K; } amxjob;

/* Units are blocks of 32 outputs (two B tiles); each runs over all rows, 32 at a time. */
static void amx_units(const float *x, const void *w, const float *s, int K_, float *y_, int N_, int u0, int u1) {
    (void)w; (void)s; (void)K_; (void)y_; (void)N_;
    const amxjob *j = (const amxjob *)(const void *)x;
    amx_config(16);
    const int K = j->K, N = j->N, KB = K / 32, MB = j->M / 16;
    for (int u = u0; u < u1; u++) {
        const uint16_t *b0 = j->b + (size_t)(2 * u) * KB * 512, *b1 = b0 + (size_t)KB * 512;
        for (int m = 0; m < MB; m += 2) {
            const uint16_t *a0 = j->a + (size_t)m * 16 * K;
            float *y0 = j->y + (size_t)m * 16 * N + (size_t)u * 32;
            if (m + 1 < MB) {
                const uint16_t *a1 = a0 + (size_t)16 * K;
                _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
                for (int kb = 0; kb < KB; kb++) {
                    if (m == 0 && u + 1 < u1) {  /* the next unit's weights into L2 while these compute */
                        const char *nb = (const char *)(b0 + (size_t)2 * KB * 512 + (size_t)kb * 1024);
                        for (int o = 0; o < 2048; o += 64) _mm_prefetch(nb + o, _MM_HINT_T1);
                    }
                    _tile_loadd(6, b0 + (size_t)kb * 512, 64);
                    _tile_loadd(7, b1 + (size_t)kb * 512, 64);
                    _tile_loadd(4, a0 + (size_t)kb * 32, K * 2);
                    _tile_loadd(5, a1 + (size_t)kb * 32, K * 2);
                    _tile_dpbf16ps(0, 4, 6);
                    _tile_dpbf16ps(1, 4, 7);
                    _tile_dpbf16ps(2, 5, 6);
                    _tile_dpbf16ps(3, 5, 7);
                }
                float *y1 = y0 + (size_t)16 * N;
                _tile_stored(0, y0, N * 4); _tile_stored(1, y0 + 16, N * 4);
                _tile_stored(2, y1, N * 4); _tile_stored(3, y1 + 16, N * 4);
            } else {
                _tile_zero(0); _tile_zero(1);
                for (int kb = 0; kb < KB; kb++) {
                    _tile_loadd(6, b0 + (size_t)kb * 512, 64);
                    _tile_loadd(7, b1 + (size_t)kb * 512, 64);
                    _tile_loadd(4, a0 + (size_t)kb * 32, K * 2);
                    _tile_dpbf16ps(0, 4, 6);
                    _tile_dpbf16ps(1, 4, 7);
                }
                _tile_stored(0, y0, N * 4); _tile_stored(1, y0 + 16, N * 4);
            }
        }
    }
    _tile_release();
    t_cfg = -1;
}

/* x (T x K float32) rounded to bfloat16 into xb */
static void to_bf16(const float *x, size_t n, uint16_t *xb) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512bh h = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
        _mm512_storeu_si512((void *)(xb + i), (__m512i)h);
    }
    for (; i < n; i++) xb[i] = f2bf(x[i]);
}
#endif

/* ---------------------------------------------------------------- blocked q8 products
 * T rows (a prompt's tokens, any number) times a q8 matrix, from the q8 weights alone (no float32
 * copy): the output rows of w are cut into chunks small enough to stay in the core's L2 (at most
 * 256 KiB of weights), shared between the threads, and each chunk is used for all T rows, 8 at a
 * time, on the decode step's own kernels (Q8ROWS; Q8IROWS, int8 activations on AVX512-VNNI
 * vpdpbusd, when the model asks for it and cpuid says the CPU has it). So the weights come from
 * memory once per product, and every row's result is what that row gets alone, bit for bit:
 * those kernels sum each output in a fixed order whatever the rows beside it. */
typedef struct { int T, XS, G; const float *x; const int8_t *aq; const float *axs, *add; } blkjob;

static void blk_rows(const float *x_, const void *w, const float *s, int K, float *y, int N, int n0, int n1) {
    const blkjob *j = (const blkjob *)(const void *)x_;
    for (int r = 0; r < j->T; r += MAXM) {
        const int m = j->T - r < MAXM ? j->T - r : MAXM;
#ifdef HAVE_Q8I
        if (j->aq) {
            const qact a = {j->aq + (size_t)r * K, j->axs + (size_t)r * j->XS, j->add + (size_t)r * 2 * j->G, j->XS};
            Q8IROWS[m]((const float *)(const void *)&a, w, s, K, y + (size_t)r * N, N, n0, n1);
            continue;
        }
#endif
        Q8ROWS[m](j->x + (size_t)r * K, w, s, K, y + (size_t)r * N, N, n0, n1);
    }
}

/* y (T x N) = x (T x K) @ dequantize(q, sb).T; idot: int8 activations where the CPU can.
 * Returns 0; -1 bad shapes; -2 out of memory. */
static int gemm_q8_rows(int T, const float *x, const uint8_t *q, const float *sb, int K, float *y, int N,
                        int idot, int threads) {
    if (T < 1 || K < QG || K % QG || N < 1) return -1;
    blkjob j = {T, 0, K / QG, x, 0, 0, 0};
    char *buf = 0;
#ifdef HAVE_Q8I
    if (idot && skinny_q8i_supported()) {
        const int XS = ((K / 4 + 15) / 16) * 16;
        buf = malloc((size_t)T * K + sizeof(float) * ((size_t)T * XS + (size_t)T * 2 * j.G) + 64);
        if (!buf) return -2;
        float *axs = (float *)(void *)buf, *add = axs + (size_t)T * XS;
        int8_t *aq = (int8_t *)(add + (size_t)T * 2 * j.G);
        quant_rows(x, T, K, aq, axs, add, XS);
        j.XS = XS; j.aq = aq; j.axs = axs; j.add = add;
    }
#else
    (void)idot;
#endif
    int chunk = (N + 31) / 32, fit = 262144 / K;
    if (chunk > fit) chunk = fit;
    if (chunk < 8) chunk = 8;
    run_chunks(blk_rows, (const float *)(const void *)&j, q, sb, K, y, N, threads, chunk);
    free(buf);
    return 0;
}

/* y (T x N) = x (T x K) @ W.T for a 4-bit matrix (a dmat of fmt 2), any T: the kernel of decode
 * steps and prompts, for the caller (tests, the kernel bench). Returns 0; -1 bad shapes. */
int dec_matmul_q4(const dmat *m, const float *x, int T, float *y, int threads) {
    return gemm_q4_rows(T, x, m, y, 0, threads);
}

/* y (T x N, T 1..8) = x @ W.T as a decode step computes it: on q4d (int8 activations) with idot,
 * else the float32 kernel. Returns 0; -1 bad shapes. */
int dec_step_q4(const dmat *m, const float *x, int T, float *y, int idot, int threads) {
    if (T < 1 || T > MAXM || !q4_ok(m)) return -1;
    const dmat *ms[1] = {m};
    float *ys[1] = {y};
    products(T, x, 1, ms, ys, idot, threads);
    return 0;
}

/* the same with int8 activations (q4.c's q4i: what prompts run on when the model asks for it) */
int dec_matmul_q4i(const dmat *m, const float *x, int T, float *y, int threads) {
    return gemm_q4_rows(T, x, m, y, 1, threads);
}

/* the same for the caller (MLX's products of more than 8 rows when no float32 copy is kept) */
int dec_matmul_q8_rows(const float *x, int T, const uint8_t *q, const float *sb, int K, float *y, int N, int idot,
                       int threads) {
    return gemm_q8_rows(T, x, q, sb, K, y, N, idot, threads);
}

/* whether m's prompt products run on the tile unit at T rows */
static int amx_for(int T, const dmat *m) {
    return g_amx && m->wb && T % 16 == 0 && m->N % 32 == 0 && m->K % 32 == 0;
}

/* y = x @ m.T on the tile unit; xb: scratch of T * K bfloat16 */
static void gemm_amx(int T, const float *x, const dmat *m, float *y, uint16_t *xb, int threads) {
#ifdef HAVE_AMX
    to_bf16(x, (size_t)T * m->K, xb);
    amxjob j = {xb, m->wb, y, T, m->N, m->K};
    run_chunks(amx_units, (const float *)(const void *)&j, 0, 0, 0, 0, m->N / 32, threads, 1);
#else
    (void)T; (void)x; (void)m; (void)y; (void)xb; (void)threads;
#endif
}

/* T rows of which the first n are real (the rest padding, zero in x): without a float32 copy
 * (or without BLAS) a q8 matrix runs the blocked q8 kernel on the n real rows, the padding rows
 * of y set to zero; a 4-bit or 8-bit one the blocked 4-bit products, on qa (x's n rows
 * quantized by q4i_quant) when the model asks for int8 activations. */
static void gemm(int T, int n, const dmodel *md, const float *x, const dmat *m, float *y, uint16_t *xb,
                 const q4ix *qa, int threads) {
    if (amx_for(T, m)) gemm_amx(T, x, m, y, xb, threads);
    else if (m->fmt >= 2) {
        if (qa && qa->K == m->K && qa->T == n) gemm_q4i_q(qa, m, y, threads);
        else gemm_q4_rows(n, x, m, y, md->prefill_q4i, threads);
        memset(y + (size_t)n * m->N, 0, sizeof(float) * (size_t)(T - n) * m->N);
    } else if (m->fmt == 1 && (!m->wf || !g_sgemm)) {
        gemm_q8_rows(n, x, (const uint8_t *)m->w, m->s, m->K, y, m->N, md->prefill_idot, threads);
        memset(y + (size_t)n * m->N, 0, sizeof(float) * (size_t)(T - n) * m->N);
    } else g_sgemm(101 /* row-major */, 111 /* x as is */, 112 /* w transposed */, T, m->N, m->K, 1.0f, x, m->K, m->wf,
            m->K, 0.0f, y, m->N);
    if (m->bias)
        for (int t = 0; t < n; t++)
            for (int o = 0; o < m->N; o++) y[(size_t)t * m->N + o] += m->bias[o];
}

/* T tokens at positions len..len+T-1 of one row (kv, cap). logits (vocab floats, may be NULL):
 * the last token's. Returns 0; -1 bad arguments; -2 out of memory; -3 the cache is too small;
 * -4 a float32 matrix and no BLAS handed over. */
int dec_prefill(const dmodel *md, int T, const int *tokens, kvt *kv, int len, int cap, float *logits, int threads) {
    if (!md || T < 1 || len < 0) return -1;
    for (int i = 0; i < 7 * md->n_layers; i++)  /* BLAS for a float32 matrix only */
        if (!g_sgemm && md->mats[i].fmt == 0) return -4;
    if (len + T > cap) return -3;
    const int Hd = md->hidden, I = md->inter, D = md->head_dim, QD = md->n_heads * D, KD = md->n_kv * D;
    if (Hd % 16 || I % 16 || D % 16 || D > MAX_HEAD_DIM || md->n_heads / md->n_kv > MAX_GROUP) return -1;
    for (int t = 0; t < T; t++) if (tokens[t] < 0 || tokens[t] >= md->vocab) return -1;
    const int C = T < PCHUNK ? T : PCHUNK, Cp = (C + 15) & ~15;
    const int KX = QD > (I > Hd ? I : Hd) ? QD : (I > Hd ? I : Hd);  /* the widest product input */
    size_t nf = (size_t)Cp * (2 * Hd + QD + 2 * KD + QD + 2 * I + Hd + md->rope_dims);
    float *buf = malloc(sizeof(float) * nf);
    kvt **kvs = malloc(sizeof(kvt *) * (size_t)C);
    int *lens = malloc(sizeof(int) * (size_t)C), *caps = malloc(sizeof(int) * (size_t)C);
    /* its bfloat16 copy (AMX), 64-byte aligned: tile loads across cache lines cost ~1.4x */
    uint16_t *xb = aligned_alloc(64, ((sizeof(uint16_t) * (size_t)Cp * KX + 63) / 64) * 64);
    /* a product input's rows quantized once for all the products that take it (q4i) */
    q4ix qx = {0, 0, 0, 0, 0};
    const q4ix *qa = 0;
    if (md->prefill_q4i && q4i_alloc(&qx, C, KX)) qx.sx = 0;
    if (!buf || !kvs || !lens || !caps || !xb || (md->prefill_q4i && !qx.sx)) {
        free(buf); free(kvs); free(lens); free(caps); free(xb); free(qx.sx); return -2;
    }
    float *x = buf, *xn = x + (size_t)Cp * Hd, *q = xn + (size_t)Cp * Hd, *k = q + (size_t)Cp * QD,
          *v = k + (size_t)Cp * KD, *att = v + (size_t)Cp * KD, *gt = att + (size_t)Cp * QD,
          *up = gt + (size_t)Cp * I, *tmp = up + (size_t)Cp * I, *cs = tmp + (size_t)Cp * Hd;
    for (int t0 = 0; t0 < T; t0 += C) {
        const int n = T - t0 < C ? T - t0 : C;
        /* The products run on np rows, n rounded up to 16, the padding rows zero: OpenBLAS's
         * sgemm was 23 % faster on 96 rows than on 91 (its edge kernels). A prompt's chunks, and
         * so its padding, depend on its length alone. */
        const int np = (n + 15) & ~15;
        memset(xn + (size_t)n * Hd, 0, sizeof(float) * (size_t)(np - n) * Hd);
        memset(att + (size_t)n * QD, 0, sizeof(float) * (size_t)(np - n) * QD);
        for (int t = 0; t < n; t++) {
            embed_row(md, tokens[t0 + t], x + (size_t)t * Hd);
            rope_table(md, len + t0 + t, cs + (size_t)t * md->rope_dims);
            kvs[t] = kv; lens[t] = len + t0 + t; caps[t] = cap;
        }
        for (int l = 0; l < md->n_layers; l++) {
            const dmat *mt = md->mats + (size_t)l * 7;
            for (int t = 0; t < n; t++)
                rms_norm(x + (size_t)t * Hd, md->norms[2 * l], xn + (size_t)t * Hd, Hd, md->eps);
            if (qx.sx) { q4i_quant(xn, n, Hd, &qx); qa = &qx; }
            gemm(np, n, md, xn, &mt[0], q, xb, qa, threads);
            gemm(np, n, md, xn, &mt[1], k, xb, qa, threads);
            gemm(np, n, md, xn, &mt[2], v, xb, qa, threads);
            for (int t = 0; t < n; t++)
                rope_and_store(md, l, q + (size_t)t * QD, k + (size_t)t * KD, v + (size_t)t * KD, kv, cap, len + t0 + t,
                               cs + (size_t)t * md->rope_dims);
            attjob aj = {md, l, n, q, att, kvs, lens, caps};
            run_chunks(att_units, (const float *)(const void *)&aj, 0, 0, 0, 0, n * md->n_kv, threads, 1);
            if (qx.sx) q4i_quant(att, n, QD, &qx);
            gemm(np, n, md, att, &mt[3], tmp, xb, qa, threads);
            for (size_t i = 0; i < (size_t)n * Hd; i++) x[i] += tmp[i];
            for (int t = 0; t < n; t++)
                rms_norm(x + (size_t)t * Hd, md->norms[2 * l + 1], xn + (size_t)t * Hd, Hd, md->eps);
            if (qx.sx) q4i_quant(xn, n, Hd, &qx);
            gemm(np, n, md, xn, &mt[4], gt, xb, qa, threads);
            gemm(np, n, md, xn, &mt[5], up, xb, qa, threads);
            for (size_t i = 0; i < (size_t)np * I; i += 16) {  /* padding rows: silu(0) * 0 = 0 */
                v16 g = ld16(gt + i), u = ld16(up + i);
                v16 a = g / (1.0f + vexp16(-g)) * u;
                memcpy(gt + i, &a, sizeof a);
            }
            if (qx.sx) q4i_quant(gt, n, I, &qx);
            gemm(np, n, md, gt, &mt[6], tmp, xb, qa, threads);
            for (size_t i = 0; i < (size_t)n * Hd; i++) x[i] += tmp[i];
        }
        if (t0 + n == T && logits) {
            rms_norm(x + (size_t)(n - 1) * Hd, md->final_norm, xn, Hd, md->eps);
            const dmat *ms[1] = {&md->head};
            float *ys[1] = {logits};
            products(1, xn, 1, ms, ys, md->decode_q4i, threads);
        }
    }
    free(buf); free(kvs); free(lens); free(caps); free(xb); free(qx.sx);
    return 0;
}

/* ---------------------------------------------------------------- sampling */
/* One token per row of logits (M x V): with inv_t[r] <= 0 the first largest logit; otherwise
 * the inverse-CDF draw from softmax(logits * inv_t[r]) at u[r] in [0, 1): the exponentials
 * (vexp16) summed in index order in double, then the first index whose running sum exceeds
 * u * total. A row's token depends on its own logits and u alone. Returns 0; -2 out of memory. */
int dec_sample(const float *logits, int M, int V, const float *inv_t, const double *u, int *out) {
    const int Vp = (V + 15) & ~15;
    float *e = malloc(sizeof(float) * (size_t)Vp);
    if (!e) return -2;
    for (int r = 0; r < M; r++) {
        const float *l = logits + (size_t)r * V;
        int best = 0;
        for (int i = 1; i < V; i++) if (l[i] > l[best]) best = i;
        if (!(inv_t[r] > 0.0f)) { out[r] = best; continue; }
        const float it = inv_t[r], top = l[best] * it;
        for (int i = 0; i < V; i++) e[i] = l[i] * it - top;
        for (int i = V; i < Vp; i++) e[i] = -INFINITY;
        for (int i = 0; i < Vp; i += 16) {
            v16 z = vexp16(ld16(e + i));
            memcpy(e + i, &z, sizeof z);
        }
        double tot = 0.0;
        for (int i = 0; i < V; i++) tot += (double)e[i];
        const double target = u[r] * tot;
        double c = 0.0;
        int pick = best;
        for (int i = 0; i < V; i++) {
            c += (double)e[i];
            if (c > target) { pick = i; break; }
        }
        out[r] = pick;
    }
    free(e);
    return 0;
}
