/* Few-row matrix products with half-precision weights, float32 everything else.

   y[m, :] = b + x[m, :] @ W   for m < M,   W: K x N half floats

   The bundled language model ships its weights as float16. Generating one
   token multiplies one row of activations by every weight matrix: the time
   goes into streaming the weights through the memory system, not into
   arithmetic. PyTorch multiplies float32 copies (17 MB per token); this
   kernel streams the float16 values as they are stored (8.5 MB) and widens
   them to float32 in registers, so it computes with exactly the same weights,
   accumulating in float32, in about half the time. Rows are processed
   together (up to 6 per pass over a panel), so verifying a few speculative
   tokens costs hardly more than one.

   Weights are first packed (`f16_pack`) into N / 64 panels of K x 64 values,
   each contiguous, so the kernel reads memory strictly in order.

   Built by setup.py with -O3 -fopenmp for any x86-64: the AVX-512 and the
   AVX2 + F16C + FMA paths are compiled with per-function target attributes
   and chosen at run time from what this CPU supports, so a build never
   executes an instruction the CPU lacks. `f16_simd` reports the path (0: none,
   e.g. on ARM; PyTorch is then faster and is used instead). Called through
   ctypes: plain C, no Python API. */

#include <stddef.h>
#include <stdint.h>

#include "f16gemm.h"

#define COLS 64 /* columns per panel */

/* W (K x N half floats, row-major) -> P: panel c holds W[:, 64c : 64c + 64]. N % 64 == 0. */
void f16_pack(const uint16_t *restrict W, uint16_t *restrict P, int K, int N) {
    for (int c = 0; c < N / COLS; c++)
        for (int k = 0; k < K; k++)
            for (int j = 0; j < COLS; j++)
                P[((size_t)c * K + k) * COLS + j] = W[(size_t)k * N + (size_t)c * COLS + j];
}

int f16_panel_cols(void) { return COLS; }

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,f16c,fma")))
#define MAX_ROWS_512 6 /* 6 rows x 4 accumulators + 4 weights + 1 broadcast <= 32 registers */

static inline __attribute__((always_inline)) AVX512 void
panel512(const float *restrict x, const uint16_t *restrict p, const float *restrict b,
         float *restrict y, int K, int ldy, const int R) {
    __m512 acc[MAX_ROWS_512][4];
    for (int r = 0; r < R; r++)
        for (int i = 0; i < 4; i++)
            acc[r][i] = b ? _mm512_loadu_ps(b + 16 * i) : _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        const uint16_t *w = p + (size_t)k * COLS;
        __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w)));
        __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + 16)));
        __m512 w2 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + 32)));
        __m512 w3 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + 48)));
        for (int r = 0; r < R; r++) {
            __m512 xv = _mm512_set1_ps(x[(size_t)r * K + k]);
            acc[r][0] = _mm512_fmadd_ps(xv, w0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(xv, w1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(xv, w2, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(xv, w3, acc[r][3]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int i = 0; i < 4; i++)
            _mm512_storeu_ps(y + (size_t)r * ldy + 16 * i, acc[r][i]);
}

/* Panels c0 <= c < c1 of y = b + x @ W: panel c lands at y + (c - c0) * 64, rows ldy apart. */
static AVX512 void panels512(const float *restrict x, const uint16_t *restrict P,
                             const float *restrict b, float *restrict y, int ldy, int M, int K,
                             int c0, int c1) {
    for (int c = c0; c < c1; c++) {
        const uint16_t *p = P + (size_t)c * K * COLS;
        const float *bc = b ? b + (size_t)c * COLS : 0;
        for (int m = 0; m < M; m += MAX_ROWS_512) {
            const float *xm = x + (size_t)m * K;
            float *ym = y + (size_t)m * ldy + (size_t)(c - c0) * COLS;
            switch (M - m < MAX_ROWS_512 ? M - m : MAX_ROWS_512) {
            case 1: panel512(xm, p, bc, ym, K, ldy, 1); break;
            case 2: panel512(xm, p, bc, ym, K, ldy, 2); break;
            case 3: panel512(xm, p, bc, ym, K, ldy, 3); break;
            case 4: panel512(xm, p, bc, ym, K, ldy, 4); break;
            case 5: panel512(xm, p, bc, ym, K, ldy, 5); break;
            default: panel512(xm, p, bc, ym, K, ldy, 6); break;
            }
        }
    }
}

/* 16 registers: one row at a time, 8 accumulators + 1 weight + 1 broadcast. */
static AVX2 void panels256(const float *restrict x, const uint16_t *restrict P,
                           const float *restrict b, float *restrict y, int ldy, int M, int K,
                           int c0, int c1) {
    for (int c = c0; c < c1; c++) {
        const uint16_t *p = P + (size_t)c * K * COLS;
        const float *bc = b ? b + (size_t)c * COLS : 0;
        for (int m = 0; m < M; m++) {
            const float *xm = x + (size_t)m * K;
            __m256 acc[8];
            for (int i = 0; i < 8; i++)
                acc[i] = bc ? _mm256_loadu_ps(bc + 8 * i) : _mm256_setzero_ps();
            for (int k = 0; k < K; k++) {
                const uint16_t *w = p + (size_t)k * COLS;
                __m256 xv = _mm256_set1_ps(xm[k]);
                for (int i = 0; i < 8; i++) {
                    __m256 wv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 8 * i)));
                    acc[i] = _mm256_fmadd_ps(xv, wv, acc[i]);
                }
            }
            float *ym = y + (size_t)m * ldy + (size_t)(c - c0) * COLS;
            for (int i = 0; i < 8; i++)
                _mm256_storeu_ps(ym + 8 * i, acc[i]);
        }
    }
}

int f16_simd(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return 512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 256; /* every AVX2 CPU also has F16C */
    return 0;
}

/* y[m, :] = b + x[m, :] @ W for m < M, with W packed by f16_pack; b may be NULL.
   x: M x K, y: M x N, both float32 and contiguous. With threads > 1 the panels
   are shared among that many OpenMP threads (the caller passes PyTorch's
   thread count; PyTorch's own libgomp is already loaded and is reused).
   Only call it when f16_simd() is not 0. */
static int simd = -1; /* the path f16_gemm takes; -1: not chosen yet */

/* Use `path` (512, 256 or 0) if this CPU can run it, else the best it can;
   returns the path now in use. The tests run every path the CPU supports. */
int f16_use(int path) {
    int best = f16_simd();
    simd = path == 512 ? best : path == 256 ? (best ? 256 : 0) : 0;
    return simd;
}

void f16_panels(const float *restrict x, const uint16_t *restrict P, const float *restrict b,
                float *restrict y, int ldy, int M, int K, int c0, int c1) {
    if (simd < 0)
        simd = f16_simd();
    if (simd == 512)
        panels512(x, P, b, y, ldy, M, K, c0, c1);
    else if (simd == 256)
        panels256(x, P, b, y, ldy, M, K, c0, c1);
}

void f16_gemm(const float *restrict x, const uint16_t *restrict P, const float *restrict b,
              float *restrict y, int M, int K, int N, int threads) {
    if (simd < 0)
        simd = f16_simd(); /* before the threads, which only read it */
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int c = 0; c < N / COLS; c++)
        f16_panels(x, P, b, y + (size_t)c * COLS, N, M, K, c, c + 1);
}

#else /* not x86-64 with GCC/Clang: no vector path, callers use PyTorch */

int f16_simd(void) { return 0; }

int f16_use(int path) {
    (void)path;
    return 0;
}

void f16_gemm(const float *restrict x, const uint16_t *restrict P, const float *restrict b,
              float *restrict y, int M, int K, int N, int threads) {
    (void)x, (void)P, (void)b, (void)y, (void)M, (void)K, (void)N, (void)threads;
}

void f16_panels(const float *restrict x, const uint16_t *restrict P, const float *restrict b,
                float *restrict y, int ldy, int M, int K, int c0, int c1) {
    (void)x, (void)P, (void)b, (void)y, (void)ldy, (void)M, (void)K, (void)c0, (void)c1;
}

#endif
