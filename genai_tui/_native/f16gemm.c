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

   Built by setup.py with -O3 -march=native -fopenmp; `f16_simd` tells the caller
   whether a vector path was compiled in (without one, PyTorch is faster and
   is used instead). Called through ctypes: plain C, no Python API. */

#include <stddef.h>
#include <stdint.h>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__F16C__) && defined(__FMA__))
#include <immintrin.h>
#endif

#define COLS 64 /* columns per panel */

int f16_simd(void) {
#if defined(__AVX512F__)
    return 512;
#elif defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
    return 256;
#else
    return 0;
#endif
}

int f16_panel_cols(void) { return COLS; }

/* W (K x N half floats, row-major) -> P: panel c holds W[:, 64c : 64c + 64]. N % 64 == 0. */
void f16_pack(const uint16_t *restrict W, uint16_t *restrict P, int K, int N) {
    for (int c = 0; c < N / COLS; c++)
        for (int k = 0; k < K; k++)
            for (int j = 0; j < COLS; j++)
                P[((size_t)c * K + k) * COLS + j] = W[(size_t)k * N + (size_t)c * COLS + j];
}

#if defined(__AVX512F__)

#define MAX_ROWS 6 /* 6 rows x 4 accumulators + 4 weights + 1 broadcast <= 32 registers */

static inline __attribute__((always_inline)) void
panel(const float *restrict x, const uint16_t *restrict p, const float *restrict b,
      float *restrict y, int K, int N, const int R) {
    __m512 acc[MAX_ROWS][4];
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
            _mm512_storeu_ps(y + (size_t)r * N + 16 * i, acc[r][i]);
}

#elif defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)

#define MAX_ROWS 1 /* 8 accumulators + 1 weight + 1 broadcast of 16 registers */

static inline __attribute__((always_inline)) void
panel(const float *restrict x, const uint16_t *restrict p, const float *restrict b,
      float *restrict y, int K, int N, const int R) {
    (void)R;
    (void)N;
    __m256 acc[8];
    for (int i = 0; i < 8; i++)
        acc[i] = b ? _mm256_loadu_ps(b + 8 * i) : _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        const uint16_t *w = p + (size_t)k * COLS;
        __m256 xv = _mm256_set1_ps(x[k]);
        for (int i = 0; i < 8; i++) {
            __m256 wv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 8 * i)));
            acc[i] = _mm256_fmadd_ps(xv, wv, acc[i]);
        }
    }
    for (int i = 0; i < 8; i++)
        _mm256_storeu_ps(y + 8 * i, acc[i]);
}

#else /* no vector path: f16_simd() is 0 and callers use PyTorch instead */

#define MAX_ROWS 1

static void panel(const float *restrict x, const uint16_t *restrict p, const float *restrict b,
                  float *restrict y, int K, int N, const int R) {
    (void)x, (void)p, (void)b, (void)y, (void)K, (void)N, (void)R;
}

#endif

/* y[m, :] = b + x[m, :] @ W for m < M, with W packed by f16_pack; b may be NULL.
   x: M x K, y: M x N, both float32 and contiguous. With threads > 1 the panels
   are shared among that many OpenMP threads (the caller passes PyTorch's
   thread count; PyTorch's own libgomp is already loaded and is reused). */
void f16_gemm(const float *restrict x, const uint16_t *restrict P, const float *restrict b,
              float *restrict y, int M, int K, int N, int threads) {
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int c = 0; c < N / COLS; c++) {
        const uint16_t *p = P + (size_t)c * K * COLS;
        const float *bc = b ? b + (size_t)c * COLS : 0;
        for (int m = 0; m < M; m += MAX_ROWS) {
            const float *xm = x + (size_t)m * K;
            float *ym = y + (size_t)m * N + (size_t)c * COLS;
            switch (M - m < MAX_ROWS ? M - m : MAX_ROWS) {
#if MAX_ROWS >= 6
            case 5: panel(xm, p, bc, ym, K, N, 5); break;
            case 4: panel(xm, p, bc, ym, K, N, 4); break;
            case 3: panel(xm, p, bc, ym, K, N, 3); break;
            case 2: panel(xm, p, bc, ym, K, N, 2); break;
            case 1: panel(xm, p, bc, ym, K, N, 1); break;
#endif
            default: panel(xm, p, bc, ym, K, N, MAX_ROWS); break;
            }
        }
    }
}
