/* The sampler chain and the per-token "X-ray" of the generation service, in C.

   For each token the service runs the chain (temperature, top-k, top-p,
   min-p, ...) on the raw logits, keeps every stage's distribution, draws a
   token from the last one, and reports for every row (raw and each stage)
   the chosen token's probability, the survivors, the top-N candidates, and
   the raw entropy. With PyTorch that is ~30 small tensor operations, about
   as long as the whole decode pass of the bundled model. This file does the
   same arithmetic in two calls:

   smp_prepare  the stages, each row from the one before, with exactly the
                rules of genai_tui/sampling/stages.py (ties: lower ids first;
                top-p looks at the 128 best tokens, as there), then a softmax
                per row. Returns 0, or -1 when a case is not handled here
                (top-p needing more than 128 tokens, or a tie at its edge):
                the caller then runs its PyTorch chain for this token;
   smp_finish   greedy (the first maximum of the last row) or the draw by
                inverting the last row's CDF with the caller's uniform number
                (as sampling/chain.py `draw`: a float32 CDF accumulated in
                double, u * total, the first entry above), then the X-ray.

   Stage kinds: 1 temperature t (> 0), 2 top-k k, 3 top-p p, 4 min-p p.
   The caller's buffers: work (2 * rows + 1) * V floats + V ints. V % 8 == 0.
   Needs AVX2 + FMA (callers check f16_simd() != 0). */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SMP_TEMPERATURE 1
#define SMP_TOP_K 2
#define SMP_TOP_P 3
#define SMP_MIN_P 4
#define FAST_PREFIX 128 /* stages.py's _FAST_PREFIX */

#if defined(__x86_64__) && defined(__GNUC__)
#include "vecmath.h"

/* p = softmax(x); -inf entries get exactly 0. */
static VEC void softmax(const float *restrict x, float *restrict p, int V) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    for (int i = 0; i < V; i += 8)
        m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    const __m256 mx = _mm256_set1_ps(_mm_cvtss_f32(h)), ninf = _mm256_set1_ps(-INFINITY);
    __m256 total = _mm256_setzero_ps();
    for (int i = 0; i < V; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 e = _mm256_and_ps(exp8(_mm256_sub_ps(v, mx)), _mm256_cmp_ps(v, ninf, _CMP_NEQ_OQ));
        _mm256_storeu_ps(p + i, e);
        total = _mm256_add_ps(total, e);
    }
    const __m256 inv = _mm256_set1_ps(1.0f / hsum8(total));
    for (int i = 0; i < V; i += 8)
        _mm256_storeu_ps(p + i, _mm256_mul_ps(_mm256_loadu_ps(p + i), inv));
}

/* The k-th largest of v[0..n) (k >= 1), reordering v (quickselect). */
static float kth_largest(float *v, int n, int k) {
    int lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        float pivot = v[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] > pivot)
                i++;
            while (v[j] < pivot)
                j--;
            if (i <= j) {
                float t = v[i];
                v[i] = v[j], v[j] = t;
                i++, j--;
            }
        }
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            return v[want];
    }
    return v[want];
}

/* The k-th largest of x[0..V) with a min-heap of the k best so far: one
   well-predicted comparison per entry when k is small against V. heap: k floats. */
static float kth_largest_heap(const float *x, int V, int k, float *heap) {
    for (int i = 0; i < k; i++) { /* heapify the first k */
        int j = i;
        heap[j] = x[i];
        while (j > 0 && heap[(j - 1) / 2] > heap[j]) {
            float t = heap[j];
            heap[j] = heap[(j - 1) / 2], heap[(j - 1) / 2] = t;
            j = (j - 1) / 2;
        }
    }
    for (int i = k; i < V; i++) {
        if (!(x[i] > heap[0]))
            continue;
        heap[0] = x[i]; /* replace the smallest, sift down */
        int j = 0;
        for (;;) {
            int l = 2 * j + 1, r = l + 1, m = j;
            if (l < k && heap[l] < heap[m])
                m = l;
            if (r < k && heap[r] < heap[m])
                m = r;
            if (m == j)
                break;
            float t = heap[j];
            heap[j] = heap[m], heap[m] = t;
            j = m;
        }
    }
    return heap[0];
}

/* Keep the k highest finite entries of x (ties at the k-th place: lower ids
   first), the rest -inf. tmp: V floats. */
static void keep_top_k(const float *x, float *out, int V, int k, float *tmp) {
    float kth;
    if (k <= 512 && k * 8 <= V) {
        kth = kth_largest_heap(x, V, k, tmp);
    } else {
        memcpy(tmp, x, sizeof(float) * V);
        kth = kth_largest(tmp, V, k);
    }
    int room = k;
    for (int i = 0; i < V; i++)
        room -= x[i] > kth;
    for (int i = 0; i < V; i++) {
        int keep = x[i] > kth || (x[i] == kth && room-- > 0);
        out[i] = keep && x[i] > -INFINITY ? x[i] : -INFINITY;
    }
}

typedef struct {
    float p;
    int id;
} Cand;

static int by_prob_then_id(const void *a, const void *b) {
    const Cand *x = a, *y = b;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return x->id - y->id;
}

/* top-p as stages.top_p's fast path: among the 128 most likely tokens, the
   shortest prefix whose mass reaches p; 0, or -1 where stages.py would sort
   the whole vocabulary (the caller then uses it). */
static int keep_top_p(const float *x, float *out, int V, double mass, float *probs, float *tmp,
                      int *idx) {
    softmax(x, probs, V);
    const int nc = V < FAST_PREFIX ? V : FAST_PREFIX;
    if (V <= FAST_PREFIX)
        return -1; /* stages.py sorts everything then */
    int nz = 0;
    for (int i = 0; i < V; i++)
        if (probs[i] > 0.0f)
            idx[nz++] = i;
    Cand c[FAST_PREFIX];
    int n = 0;
    if (nz <= nc) {
        for (int i = 0; i < nz; i++)
            c[n++] = (Cand){probs[idx[i]], idx[i]};
    } else {
        const float kth = kth_largest_heap(probs, V, nc, tmp);
        for (int i = 0; i < V && n < nc; i++)
            if (probs[i] > kth)
                c[n++] = (Cand){probs[i], i};
        for (int i = 0; i < V && n < nc; i++)
            if (probs[i] == kth)
                c[n++] = (Cand){probs[i], i};
    }
    qsort(c, (size_t)n, sizeof(Cand), by_prob_then_id);
    /* the 128 best values: the candidates, then zeros */
    const float mf = (float)mass;
    double cum = 0.0, total = 0.0;
    int m = 0;
    for (int i = 0; i < nc; i++) {
        const float v = i < n ? c[i].p : 0.0f;
        cum += v;
        total += v;
        const float before = (float)cum - v;
        m += before < mf;
    }
    if (m == nc)
        return -1; /* the 128 best do not reach the mass: stages.py sorts everything */
    if (m < 1)
        m = 1;
    const float at_m = m < n ? c[m].p : 0.0f;
    if (!(c[m - 1].p > at_m))
        return -1; /* a tie at the edge: stages.py breaks it on the whole vocabulary */
    for (int i = 0; i < V; i++)
        out[i] = -INFINITY;
    for (int i = 0; i < m; i++)
        out[c[i].id] = x[c[i].id];
    return 0;
}

/* sum p log p of the raw row, log p = x - max - log(sum exp(x - max)) as log_softmax. */
static VEC double p_log_p_raw(const float *restrict x, const float *restrict p, int V) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    for (int i = 0; i < V; i += 8)
        m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
    float lanes[8], mx = -INFINITY;
    _mm256_storeu_ps(lanes, m);
    for (int i = 0; i < 8; i++)
        mx = lanes[i] > mx ? lanes[i] : mx;
    const __m256 vmx = _mm256_set1_ps(mx);
    __m256 total = _mm256_setzero_ps();
    for (int i = 0; i < V; i += 8)
        total = _mm256_add_ps(total, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmx)));
    const __m256 shift = _mm256_set1_ps(mx + logf(hsum8(total)));
    __m256 s = _mm256_setzero_ps();
    for (int i = 0; i < V; i += 8) {
        __m256 pv = _mm256_loadu_ps(p + i);
        __m256 lp = _mm256_sub_ps(_mm256_loadu_ps(x + i), shift);
        s = _mm256_fmadd_ps(pv, lp, s); /* raw logits are finite */
    }
    return hsum8(s);
}

int smp_prepare(const float *logits, int V, int n_stages, const int *kinds, const double *params,
                float *work, int *idx) {
    if (V % 8 || V < 8)
        return -1;
    const int R = 1 + n_stages;
    float *rows = work, *probs = work + (size_t)R * V, *tmp = probs + (size_t)R * V;
    memcpy(rows, logits, sizeof(float) * V);
    for (int s = 0; s < n_stages; s++) {
        const float *x = rows + (size_t)s * V;
        float *y = rows + (size_t)(s + 1) * V;
        const double q = params[s];
        switch (kinds[s]) {
        case SMP_TEMPERATURE: {
            const float t = (float)q;
            for (int i = 0; i < V; i++)
                y[i] = x[i] / t;
            break;
        }
        case SMP_TOP_K: {
            const int k = (int)q;
            if (k <= 0 || k >= V)
                memcpy(y, x, sizeof(float) * V);
            else
                keep_top_k(x, y, V, k, tmp);
            break;
        }
        case SMP_TOP_P:
            if (q >= 1.0)
                memcpy(y, x, sizeof(float) * V);
            else if (keep_top_p(x, y, V, q, probs, tmp, idx))
                return -1;
            break;
        case SMP_MIN_P: {
            if (q <= 0.0) {
                memcpy(y, x, sizeof(float) * V);
                break;
            }
            float mx = -INFINITY;
            for (int i = 0; i < V; i++)
                mx = x[i] > mx ? x[i] : mx;
            const float threshold = mx + (float)log(q);
            for (int i = 0; i < V; i++)
                y[i] = x[i] < threshold ? -INFINITY : x[i];
            break;
        }
        default:
            return -1;
        }
    }
    for (int r = 0; r < R; r++)
        softmax(rows + (size_t)r * V, probs + (size_t)r * V, V);
    return 0;
}

/* The top_n largest positive entries of p (descending, lower ids first among
   equals; the rest of the list: probability 0, id 0) and the number of
   positive entries. Blocks of 8 below the current n-th best are skipped. */
static VEC int top_positive(const float *restrict p, int V, int top_n, float *restrict tv,
                            int64_t *restrict ti) {
    int have = 0, live = 0;
    float floor = 0.0f; /* an entry must beat this to enter the list */
    const __m256 zero = _mm256_setzero_ps();
    for (int b = 0; b < V; b += 8) {
        __m256 v = _mm256_loadu_ps(p + b);
        live += __builtin_popcount(_mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ)));
        int mask = _mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_set1_ps(floor), _CMP_GT_OQ));
        if (!top_n)
            continue;
        while (mask) {
            const int i = b + __builtin_ctz(mask);
            mask &= mask - 1;
            const float x = p[i];
            if (!(x > floor))
                continue; /* the floor rose inside this block */
            int j = have < top_n ? have++ : top_n - 1;
            while (j > 0 && x > tv[j - 1]) {
                tv[j] = tv[j - 1], ti[j] = ti[j - 1];
                j--;
            }
            tv[j] = x, ti[j] = i;
            if (have == top_n)
                floor = tv[top_n - 1];
        }
    }
    for (int j = have; j < top_n; j++)
        tv[j] = 0.0f, ti[j] = 0;
    return live;
}

/* After smp_prepare: the token (greedy: first maximum of the last row's
   logits; else the draw with uniform u in [0, 1)), and per row r < R: the
   token's probability, the survivors, the top_n probabilities and ids
   (descending, lower ids first among equals); the raw entropy's
   sum p log p; per top id of the raw row, whether the last row removed it. */
int smp_finish(int V, int n_stages, int greedy, float u, int top_n, float *work,
               float *token_probs, int *kept, float *top_probs, int64_t *top_ids, int *cut,
               double *p_log_p) {
    const int R = 1 + n_stages;
    const float *rows = work, *probs = work + (size_t)R * V;
    const float *last = probs + (size_t)(R - 1) * V;
    float *cdf_row = work + (size_t)2 * R * V;
    int token = 0;
    if (greedy) {
        const float *x = rows + (size_t)(R - 1) * V;
        for (int i = 1; i < V; i++)
            if (x[i] > x[token])
                token = i;
    } else {
        /* the float32 CDF as torch.cumsum makes it (double accumulation); zeros
           add nothing, so only live entries are summed */
        float *cdf = cdf_row;
        double acc = 0.0;
        for (int i = 0; i < V; i++) {
            if (last[i] != 0.0f)
                acc += last[i];
            cdf[i] = (float)acc;
        }
        const float target = u * cdf[V - 1];
        token = V;
        for (int i = 0; i < V; i++)
            if (cdf[i] > target) {
                token = i;
                break;
            }
        if (token >= V) /* u * total rounded up to the total: the last live token */
            for (token = V - 1; token > 0 && !(last[token] > 0.0f); token--)
                ;
    }
    for (int r = 0; r < R; r++) {
        const float *p = probs + (size_t)r * V;
        token_probs[r] = p[token];
        kept[r] = top_positive(p, V, top_n, top_probs + (size_t)r * top_n,
                               top_ids + (size_t)r * top_n);
    }
    for (int j = 0; j < top_n; j++)
        cut[j] = last[top_ids[j]] == 0.0f;
    *p_log_p = p_log_p_raw(rows, probs, V);
    return token;
}

#else

int smp_prepare(const float *logits, int V, int n_stages, const int *kinds, const double *params,
                float *work, int *idx) {
    (void)logits, (void)V, (void)n_stages, (void)kinds, (void)params, (void)work, (void)idx;
    return -1;
}

int smp_finish(int V, int n_stages, int greedy, float u, int top_n, float *work,
               float *token_probs, int *kept, float *top_probs, int64_t *top_ids, int *cut,
               double *p_log_p) {
    (void)V, (void)n_stages, (void)greedy, (void)u, (void)top_n, (void)work, (void)token_probs;
    (void)kept, (void)top_probs, (void)top_ids, (void)cut, (void)p_log_p;
    return -1;
}

#endif
