/* One decode pass of the GPT-2-architecture model in one native call.

   gpt_decode(g, ids, T, pos, k_cache, v_cache, logits, threads, last_only) runs what
   `GPT.decode` does in PyTorch for T new positions of one sequence: token +
   position embedding; per layer layer norm, QKV product, attention of each
   new row over the cached keys and values (causal inside the new rows; the
   new keys and values are written into the caller's float32 cache tensors,
   so the `KVCache` stays the one source of truth), output projection +
   residual, layer norm, fc product + GELU (tanh), projection + residual;
   then the final layer norm and the tied lm_head, into the caller's
   (T, vocab) float32 logits (last_only: the last row's, for a prompt).

   Why: at one token per pass the products are bound by reading the float16
   weights (f16gemm.c, ~0.3 ms on one core here for the bundled model), but
   the PyTorch path around them (about 60 tensor operations, each with its
   dispatch, allocation and Python call) cost as much again. Here the glue is
   a few microseconds.

   Threads. A product's 64-column panels, and attention's heads, are chunks
   that the calling thread and the helper threads claim one at a time from
   a shared counter (a compare-and-swap). Nothing is assigned to a helper in
   advance, so a helper that the OS has not scheduled (a busy machine) delays
   nothing: the caller does the work itself and waits only for a chunk a
   helper has already claimed. Helpers spin briefly for the next phase, then
   sleep on a condition variable (passive waiting between tokens). A chunk's
   arithmetic does not depend on the thread that runs it, so 1 and n threads
   give bit-identical logits. On top of that, each handle times its passes
   with 1 and with n threads and uses the faster (probing the other now and
   then), so asking for 2 threads costs at most the probes on a busy machine.

   Needs a vector path (f16_simd() != 0); the vector code of this file is
   compiled for AVX2 + FMA, which every such CPU has. Plain C otherwise, no
   Python API; called through ctypes, which releases the GIL. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "f16gemm.h"

#define COLS 64     /* panel width of f16gemm.c */
#define MAX_T 64    /* rows per fused pass (a prompt goes in several); longer: per product */
#define MAX_THREADS 8
#define BURST_MAX 32 /* >= BURST */

typedef struct {
    const float *ln1_w, *ln1_b;
    const uint16_t *qkv;
    const float *qkv_b;
    const uint16_t *proj;
    const float *proj_b;
    const float *ln2_w, *ln2_b;
    const uint16_t *fc;
    const float *fc_b;
    const uint16_t *mproj;
    const float *mproj_b;
} Layer;

#define PTRS_PER_LAYER 12

typedef struct {
    float *x, *h, *qkv, *y, *a; /* MAX_T rows each: C, C, 3C, C, 4C */
    float *scores[MAX_THREADS]; /* block_size each */
    float *tmp[MAX_THREADS];    /* MAX_T x COLS each */
    void *mem;
} Work;

typedef struct Gpt {
    int L, C, nh, hs, V, block;
    const float *wte, *wpe, *lnf_w, *lnf_b;
    const uint16_t *head;
    Layer *layers;
    Work work;
    int busy; /* the handle's own work buffers are in use (atomic) */
    /* the pass being run */
    const int64_t *ids;
    int T, pos;
    float *kc, *vc, *logits;
    Work *w;
    /* adaptive choice between 1 and n threads: smoothed seconds per pass */
    double ema[2];
    int since_probe, probe_every;
    int burst, burst_multi, burst_n; /* a probe of the other thread count */
    double burst_times[BURST_MAX];
    int last_use; /* threads the last pass used */
    int stalls; /* this pass: phases where the caller waited for a helper the OS had not run */
    long passes[2], stalled; /* counts, for gpt_stats */
    int fixed; /* 1: always the requested thread count (no timing; benchmarks) */
} Gpt;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "vecmath.h"

/* GELU, tanh approximation (GPT-2's "gelu_new"), in place over n % 8 == 0 floats:
   0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3); tanh |u| = (1 - e) / (1 + e),
   e = exp(-2|u|) (no overflow). */
static VEC void gelu_tanh(float *restrict v, int n) {
    const __m256 beta = _mm256_set1_ps(0.7978845608028654f), kappa = _mm256_set1_ps(0.044715f);
    const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int i = 0; i < n; i += 8) {
        __m256 x = _mm256_loadu_ps(v + i);
        __m256 u = _mm256_mul_ps(beta, _mm256_fmadd_ps(_mm256_mul_ps(kappa, x),
                                                       _mm256_mul_ps(x, x), x));
        __m256 e = exp8(_mm256_mul_ps(_mm256_set1_ps(-2.0f), _mm256_andnot_ps(sign, u)));
        __m256 t = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));
        t = _mm256_or_ps(t, _mm256_and_ps(sign, u)); /* tanh is odd */
        _mm256_storeu_ps(v + i, _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, t)));
    }
}

/* out = (x - mean) / sqrt(var + 1e-5) * w + b over C % 8 == 0 floats (b may be NULL). */
static VEC void layer_norm(const float *restrict x, const float *restrict w,
                           const float *restrict b, float *restrict out, int C) {
    __m256 s = _mm256_setzero_ps();
    for (int i = 0; i < C; i += 8)
        s = _mm256_add_ps(s, _mm256_loadu_ps(x + i));
    const float mean = hsum8(s) / (float)C;
    const __m256 m = _mm256_set1_ps(mean);
    __m256 q = _mm256_setzero_ps();
    for (int i = 0; i < C; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), m);
        q = _mm256_fmadd_ps(d, d, q);
    }
    const __m256 rstd = _mm256_set1_ps(1.0f / sqrtf(hsum8(q) / (float)C + 1e-5f));
    for (int i = 0; i < C; i += 8) {
        __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), m), rstd);
        __m256 bias = b ? _mm256_loadu_ps(b + i) : _mm256_setzero_ps();
        _mm256_storeu_ps(out + i, _mm256_fmadd_ps(d, _mm256_loadu_ps(w + i), bias));
    }
}

/* ---- the chunks of a pass ------------------------------------------------ */

typedef void (*chunk_fn)(Gpt *g, int layer, int chunk, int tid);

static void qkv_chunk(Gpt *g, int l, int c, int tid) {
    (void)tid;
    const int C3 = 3 * g->C;
    f16_panels(g->w->h, g->layers[l].qkv, g->layers[l].qkv_b, g->w->qkv + (size_t)c * COLS, C3,
               g->T, g->C, c, c + 1);
}

/* Head `hd`: store the new keys/values in the cache, then each new row's
   attention over positions 0..pos + i (scores scaled by 1/sqrt(hs), softmax). */
static VEC void attention_chunk(Gpt *g, int l, int hd, int tid) {
    const int C = g->C, hs = g->hs, T = g->T, pos = g->pos, block = g->block;
    const float *qkv = g->w->qkv;
    const size_t head_off = ((size_t)l * g->nh + hd) * block * hs; /* cache (L, 1, nh, block, hs) */
    float *kc = g->kc + head_off, *vc = g->vc + head_off;
    for (int i = 0; i < T; i++) {
        memcpy(kc + (size_t)(pos + i) * hs, qkv + (size_t)i * 3 * C + C + hd * hs,
               sizeof(float) * hs);
        memcpy(vc + (size_t)(pos + i) * hs, qkv + (size_t)i * 3 * C + 2 * C + hd * hs,
               sizeof(float) * hs);
    }
    float *s = g->w->scores[tid];
    const float scale = 1.0f / sqrtf((float)hs);
    for (int i = 0; i < T; i++) {
        const float *q = qkv + (size_t)i * 3 * C + hd * hs;
        const int S = pos + i + 1;
        float mx = -INFINITY;
        for (int j = 0; j < S; j++) {
            const float *k = kc + (size_t)j * hs;
            __m256 acc = _mm256_setzero_ps();
            for (int d = 0; d < hs; d += 8)
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(k + d), acc);
            s[j] = hsum8(acc) * scale;
            mx = s[j] > mx ? s[j] : mx;
        }
        const __m256 m = _mm256_set1_ps(mx);
        __m256 total = _mm256_setzero_ps();
        int j = 0;
        for (; j + 8 <= S; j += 8) {
            __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), m));
            _mm256_storeu_ps(s + j, e);
            total = _mm256_add_ps(total, e);
        }
        float sum = hsum8(total);
        if (j < S) { /* the tail, padded with -inf (exp: 0) */
            float pad[8];
            for (int t = 0; t < 8; t++)
                pad[t] = j + t < S ? s[j + t] - mx : -INFINITY;
            __m256 e = exp8(_mm256_loadu_ps(pad));
            e = _mm256_and_ps(e, _mm256_cmp_ps(_mm256_loadu_ps(pad), _mm256_set1_ps(-INFINITY),
                                               _CMP_NEQ_OQ));
            _mm256_storeu_ps(pad, e);
            for (int t = 0; j + t < S; t++)
                s[j + t] = pad[t];
            sum += hsum8(e);
        }
        const float inv = 1.0f / sum;
        float *y = g->w->y + (size_t)i * C + hd * hs;
        for (int d = 0; d < hs; d += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (int jj = 0; jj < S; jj++)
                acc = _mm256_fmadd_ps(_mm256_set1_ps(s[jj]),
                                      _mm256_loadu_ps(vc + (size_t)jj * hs + d), acc);
            _mm256_storeu_ps(y + d, _mm256_mul_ps(acc, _mm256_set1_ps(inv)));
        }
    }
}

/* x[:, panel c] += b + in @ W[:, panel c] */
static void residual_product(Gpt *g, const float *in, const uint16_t *P, const float *b, int K,
                             int c, int tid) {
    float *tmp = g->w->tmp[tid];
    const int C = g->C, T = g->T;
    f16_panels(in, P, b, tmp, COLS, T, K, c, c + 1);
    for (int i = 0; i < T; i++) {
        float *x = g->w->x + (size_t)i * C + (size_t)c * COLS;
        for (int j = 0; j < COLS; j++)
            x[j] += tmp[i * COLS + j];
    }
}

static void proj_chunk(Gpt *g, int l, int c, int tid) {
    residual_product(g, g->w->y, g->layers[l].proj, g->layers[l].proj_b, g->C, c, tid);
}

static void fc_chunk(Gpt *g, int l, int c, int tid) {
    (void)tid;
    const int C4 = 4 * g->C;
    float *a = g->w->a + (size_t)c * COLS;
    f16_panels(g->w->h, g->layers[l].fc, g->layers[l].fc_b, a, C4, g->T, g->C, c, c + 1);
    for (int i = 0; i < g->T; i++)
        gelu_tanh(a + (size_t)i * C4, COLS);
}

static void mproj_chunk(Gpt *g, int l, int c, int tid) {
    residual_product(g, g->w->a, g->layers[l].mproj, g->layers[l].mproj_b, 4 * g->C, c, tid);
}

static void head_chunk(Gpt *g, int l, int c, int tid) {
    (void)l, (void)tid;
    f16_panels(g->w->h, g->head, 0, g->logits + (size_t)c * COLS, g->V, g->T, g->C, c, c + 1);
}

/* ---- the thread pool ------------------------------------------------------ */

typedef struct {
    _Atomic uint64_t work;   /* (phase << 32) | next unclaimed chunk */
    _Atomic int done;        /* chunks of the current phase finished */
    _Atomic int posted;      /* the current phase number */
    _Atomic int sleepers;    /* helpers waiting on `wake` */
    _Atomic int wake_pending; /* a broadcast no helper has answered yet */
    _Atomic int active;      /* helpers with tid < active take part */
    /* the phase: written before `work`/`posted` are released, read relaxed */
    _Atomic(chunk_fn) fn;
    _Atomic(Gpt *) g;
    _Atomic int layer, n;
    int started;             /* helper threads running (tids 1..started) */
    pthread_mutex_t lock, owner;
    pthread_cond_t wake;
} Pool;

static Pool pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .owner = PTHREAD_MUTEX_INITIALIZER,
                    .wake = PTHREAD_COND_INITIALIZER};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define SPIN_SECONDS 100e-6 /* a helper spins this long for the next phase, then sleeps */

/* Claim and run chunks of phase `seq` until none is left. */
static void claim_chunks(uint32_t seq, int tid) {
    for (;;) {
        uint64_t w = atomic_load_explicit(&pool.work, memory_order_acquire);
        if ((uint32_t)(w >> 32) != seq)
            return;
        chunk_fn fn = atomic_load_explicit(&pool.fn, memory_order_relaxed);
        Gpt *g = atomic_load_explicit(&pool.g, memory_order_relaxed);
        int layer = atomic_load_explicit(&pool.layer, memory_order_relaxed);
        int n = atomic_load_explicit(&pool.n, memory_order_relaxed);
        if ((int)(uint32_t)w >= n)
            return;
        /* success proves the phase (and so fn, g, layer, n) did not change meanwhile */
        if (!atomic_compare_exchange_weak_explicit(&pool.work, &w, w + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        fn(g, layer, (int)(uint32_t)w, tid);
        atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
    }
}

static void *helper(void *arg) {
    const int tid = (int)(intptr_t)arg;
    int seen = atomic_load(&pool.posted);
    for (;;) {
        double since = 0.0;
        int spins = 0, cur;
        while ((cur = atomic_load_explicit(&pool.posted, memory_order_acquire)) == seen ||
               tid >= atomic_load_explicit(&pool.active, memory_order_relaxed) + 1) {
            seen = cur;
            _mm_pause();
            if (++spins % 64)
                continue;
            double t = now();
            if (since == 0.0) {
                since = t;
            } else if (t - since > SPIN_SECONDS) { /* passive wait */
                pthread_mutex_lock(&pool.lock);
                atomic_fetch_add(&pool.sleepers, 1);
                while (atomic_load(&pool.posted) == seen)
                    pthread_cond_wait(&pool.wake, &pool.lock);
                atomic_fetch_sub(&pool.sleepers, 1);
                atomic_store(&pool.wake_pending, 0);
                pthread_mutex_unlock(&pool.lock);
                since = 0.0;
            }
        }
        seen = cur;
        claim_chunks((uint32_t)cur, tid);
    }
    return 0;
}

/* Run chunks 0..n-1 of `fn` on this thread and the active helpers. */
static void parallel(Gpt *g, chunk_fn fn, int layer, int n, int threads) {
    if (threads <= 1) {
        for (int c = 0; c < n; c++)
            fn(g, layer, c, 0);
        return;
    }
    const uint32_t seq = (uint32_t)atomic_load_explicit(&pool.posted, memory_order_relaxed) + 1;
    atomic_store_explicit(&pool.fn, fn, memory_order_relaxed);
    atomic_store_explicit(&pool.g, g, memory_order_relaxed);
    atomic_store_explicit(&pool.layer, layer, memory_order_relaxed);
    atomic_store_explicit(&pool.n, n, memory_order_relaxed);
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.work, (uint64_t)seq << 32, memory_order_release);
    atomic_store(&pool.posted, (int)seq); /* seq_cst: ordered before the load of sleepers */
    /* wake sleeping helpers once: until one of them has run, the later phases
       of this pass do not pay for another broadcast (on a busy machine a woken
       helper can wait long for a core) */
    if (atomic_load(&pool.sleepers) && !atomic_load(&pool.wake_pending)) {
        atomic_store(&pool.wake_pending, 1);
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    claim_chunks(seq, 0);
    /* only chunks a helper has claimed are left: wait for them */
    for (int spins = 0; atomic_load_explicit(&pool.done, memory_order_acquire) < n; spins++) {
        _mm_pause();
        if (spins > 2000) { /* ~30 us, several chunks' time: the helper is not running */
            if (spins == 2001)
                g->stalls++;
            sched_yield(); /* it may share this core on a busy machine */
        }
    }
}

/* A forked child has this thread only: forget the parent's helpers (and any
   lock one of them held at the fork). */
static void pool_after_fork_in_child(void) {
    pool.started = 0;
    atomic_store(&pool.sleepers, 0);
    atomic_store(&pool.wake_pending, 0);
    pthread_mutex_init(&pool.lock, 0);
    pthread_mutex_init(&pool.owner, 0);
    pthread_cond_init(&pool.wake, 0);
}

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void pool_init(void) { pthread_atfork(0, 0, pool_after_fork_in_child); }

/* Make sure `threads - 1` helpers run; returns how many threads the pool gives. */
static int pool_threads(int threads) {
    pthread_once(&pool_once, pool_init);
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    while (pool.started < threads - 1) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int ok = pthread_create(&t, &attr, helper, (void *)(intptr_t)(pool.started + 1)) == 0;
        pthread_attr_destroy(&attr);
        if (!ok)
            break;
        pool.started++;
    }
    if (threads - 1 > pool.started)
        threads = pool.started + 1;
    atomic_store(&pool.active, threads - 1);
    return threads;
}

/* ---- the pass --------------------------------------------------------------- */

static void run_pass(Gpt *g, int threads, int last_only) {
    const int C = g->C, T = g->T;
    Work *w = g->w;
    for (int l = 0; l < g->L; l++) {
        const Layer *ly = &g->layers[l];
        for (int i = 0; i < T; i++)
            layer_norm(w->x + (size_t)i * C, ly->ln1_w, ly->ln1_b, w->h + (size_t)i * C, C);
        parallel(g, qkv_chunk, l, 3 * C / COLS, threads);
        parallel(g, attention_chunk, l, g->nh, threads);
        parallel(g, proj_chunk, l, C / COLS, threads);
        for (int i = 0; i < T; i++)
            layer_norm(w->x + (size_t)i * C, ly->ln2_w, ly->ln2_b, w->h + (size_t)i * C, C);
        parallel(g, fc_chunk, l, 4 * C / COLS, threads);
        parallel(g, mproj_chunk, l, C / COLS, threads);
    }
    if (last_only) { /* a prompt: only the last row's logits are wanted */
        layer_norm(w->x + (size_t)(T - 1) * C, g->lnf_w, g->lnf_b, w->h, C);
        g->T = 1; /* the private copy of the pass; published to helpers with the phase */
    } else {
        for (int i = 0; i < T; i++)
            layer_norm(w->x + (size_t)i * C, g->lnf_w, g->lnf_b, w->h + (size_t)i * C, C);
    }
    parallel(g, head_chunk, 0, g->V / COLS, threads);
}

static int work_init(Work *w, int C, int block) {
    const size_t rows = (size_t)MAX_T * C * 10; /* x, h, y: C; qkv: 3C; a: 4C */
    const size_t per_thread = (size_t)block + (size_t)MAX_T * COLS;
    float *m = malloc(sizeof(float) * (rows + per_thread * MAX_THREADS));
    if (!m)
        return 0;
    w->mem = m;
    w->x = m;
    w->h = w->x + (size_t)MAX_T * C;
    w->y = w->h + (size_t)MAX_T * C;
    w->qkv = w->y + (size_t)MAX_T * C;
    w->a = w->qkv + (size_t)MAX_T * 3 * C;
    float *t = w->a + (size_t)MAX_T * 4 * C;
    for (int i = 0; i < MAX_THREADS; i++, t += per_thread) {
        w->scores[i] = t;
        w->tmp[i] = t + block;
    }
    return 1;
}

/* A handle for one model's weights (nothing is copied: the caller keeps them
   alive). ptrs: wte (V x C float32), wpe (block x C), lnf_w, lnf_b, head
   (packed float16, K = C, N = V), then per layer ln1_w, ln1_b, qkv, qkv_b,
   proj, proj_b, ln2_w, ln2_b, fc, fc_b, mproj, mproj_b (products packed by
   f16_pack; biases may be NULL). NULL when the shapes do not suit the fused
   pass (C, V multiples of 64, head size a multiple of 8) or there is no
   vector path. */
Gpt *gpt_new(int L, int C, int nh, int V, int block, void *const *ptrs) {
    if (!f16_simd() || L < 1 || nh < 1 || C % COLS || V % COLS || C % nh || (C / nh) % 8 ||
        block < 1)
        return 0;
    Gpt *g = calloc(1, sizeof(Gpt));
    if (!g)
        return 0;
    g->layers = calloc((size_t)L, sizeof(Layer));
    if (!g->layers || !work_init(&g->work, C, block)) {
        free(g->layers);
        free(g);
        return 0;
    }
    g->L = L, g->C = C, g->nh = nh, g->hs = C / nh, g->V = V, g->block = block;
    g->wte = ptrs[0], g->wpe = ptrs[1], g->lnf_w = ptrs[2], g->lnf_b = ptrs[3];
    g->head = ptrs[4];
    for (int l = 0; l < L; l++) {
        void *const *p = ptrs + 5 + (size_t)l * PTRS_PER_LAYER;
        Layer *ly = &g->layers[l];
        ly->ln1_w = p[0], ly->ln1_b = p[1], ly->qkv = p[2], ly->qkv_b = p[3];
        ly->proj = p[4], ly->proj_b = p[5], ly->ln2_w = p[6], ly->ln2_b = p[7];
        ly->fc = p[8], ly->fc_b = p[9], ly->mproj = p[10], ly->mproj_b = p[11];
    }
    g->probe_every = 64;
    return g;
}

void gpt_free(Gpt *g) {
    if (!g)
        return;
    free(g->work.mem);
    free(g->layers);
    free(g);
}

int gpt_max_rows(void) { return MAX_T; }

/* fixed = 1: use the requested thread count on every pass (to measure it);
   0 (the default): the faster of 1 and the requested count, as timed. */
void gpt_fixed_threads(Gpt *g, int fixed) {
    g->fixed = fixed;
    g->ema[0] = g->ema[1] = 0.0;
    g->since_probe = 0, g->probe_every = 64, g->burst = 0;
}

/* The thread count for the next pass when `threads` > 1 are allowed: the
   faster of 1 and `threads` so far (smoothed seconds per pass). Every
   `probe_every` passes the other count runs a burst of BURST passes; its
   first pass is not timed (a sleeping helper wakes up in it), the mean of
   the rest replaces that count's estimate (the mean, not the median: on a
   busy machine the cost of a second thread is exactly the rare pass that
   waits for a helper the OS did not run). A probe that loses doubles the
   interval (up to 2048 passes), one that wins makes it the count in use. */
#define BURST 16

static void start_burst(Gpt *g, int multi) {
    g->burst = BURST, g->burst_multi = multi, g->burst_n = 0;
}

static int choose(Gpt *g, int threads, int *probe) {
    *probe = 0;
    if (g->fixed)
        return threads;
    if (g->burst == 0) {
        if (g->ema[1] == 0.0)
            start_burst(g, 1);
        else if (g->ema[0] == 0.0)
            start_burst(g, 0);
        else if (g->since_probe >= g->probe_every)
            start_burst(g, !(g->ema[1] <= g->ema[0]));
    }
    if (g->burst > 0) {
        *probe = 1;
        return g->burst_multi ? threads : 1;
    }
    return g->ema[1] <= g->ema[0] ? threads : 1;
}

static void record(Gpt *g, int multi, int probe, int stalls, double seconds) {
    g->passes[multi]++;
    g->stalled += stalls > 0;
    if (!probe) {
        g->ema[multi] = 0.9 * g->ema[multi] + 0.1 * seconds;
        g->since_probe++;
        return;
    }
    if (g->burst < BURST) /* the burst's first pass is not timed */
        g->burst_times[g->burst_n++] = seconds;
    if (--g->burst > 0)
        return;
    double sum = 0.0;
    for (int i = 0; i < g->burst_n; i++)
        sum += g->burst_times[i];
    const double mean = sum / g->burst_n;
    const int was_best = g->ema[0] != 0.0 && g->ema[1] != 0.0 &&
                         (g->ema[1] <= g->ema[0]) == multi;
    g->ema[multi] = mean;
    g->since_probe = 0;
    const int now_best = g->ema[0] != 0.0 && g->ema[1] != 0.0 && (g->ema[1] <= g->ema[0]) == multi;
    if (!was_best && !now_best) /* lost again: probe less often */
        g->probe_every = g->probe_every < 2048 ? 2 * g->probe_every : 2048;
    else
        g->probe_every = 64;
}

/* The decode pass; see the top of the file. ids: T int64 token ids; k_cache,
   v_cache: (L, 1, nh, block, hs) float32; logits: T x V float32 (last_only:
   the last row's only, 1 x V). `threads`:
   at most this many threads (1: this thread only; > 1: the faster of 1 and
   `threads`, as measured). Returns 0, or -1 for a token id out of range,
   -2 for rows out of range (T > gpt_max_rows() or pos + T > block). */
int gpt_decode(Gpt *g, const int64_t *ids, int T, int pos, float *k_cache, float *v_cache,
               float *logits, int threads, int last_only) {
    if (T < 1 || T > MAX_T || pos < 0 || pos + T > g->block)
        return -2;
    for (int i = 0; i < T; i++)
        if (ids[i] < 0 || ids[i] >= g->V)
            return -1;
    Work own_scratch = {0}, *w = &g->work;
    int expected = 0;
    const int mine = __atomic_compare_exchange_n(&g->busy, &expected, 1, 0, __ATOMIC_ACQUIRE,
                                                 __ATOMIC_RELAXED);
    if (!mine) { /* another thread decodes with this model right now: own buffers, one thread */
        if (!work_init(&own_scratch, g->C, g->block))
            return -3;
        w = &own_scratch;
        threads = 1;
    }
    /* the shared pool serves one pass at a time */
    if (threads > 1 && pthread_mutex_trylock(&pool.owner) != 0)
        threads = 1;
    const int pooled = threads > 1;
    int use = 1, probe = 0;
    if (pooled) {
        threads = pool_threads(threads);
        use = threads > 1 ? choose(g, threads, &probe) : 1;
    }
    /* the pass's state lives in a private copy, so a concurrent pass on the
       same model (own buffers, one thread) never sees it */
    Gpt pass = *g;
    pass.w = w, pass.ids = ids, pass.T = T, pass.pos = pos;
    pass.kc = k_cache, pass.vc = v_cache, pass.logits = logits;
    pass.stalls = 0;
    const int C = g->C;
    for (int i = 0; i < T; i++) {
        const float *te = g->wte + (size_t)ids[i] * C, *pe = g->wpe + (size_t)(pos + i) * C;
        float *x = w->x + (size_t)i * C;
        for (int j = 0; j < C; j++)
            x[j] = te[j] + pe[j];
    }
    const double t0 = pooled ? now() : 0.0;
    run_pass(&pass, use, last_only);
    if (mine)
        g->last_use = use;
    if (pooled && threads > 1) /* seconds per pass, scaled for the rows (5 rows cost ~1.2x 1) */
        record(g, use > 1, probe, pass.stalls, (now() - t0) / (1.0 + 0.05 * (T - 1)));
    if (pooled)
        pthread_mutex_unlock(&pool.owner);
    if (mine)
        __atomic_store_n(&g->busy, 0, __ATOMIC_RELEASE);
    else
        free(own_scratch.mem);
    return 0;
}

/* Passes on one thread, on the pool, and pooled passes that waited for a
   helper, since the handle was made (for the benchmark). */
void gpt_stats(const Gpt *g, long *out) {
    out[0] = g->passes[0], out[1] = g->passes[1], out[2] = g->stalled;
}

/* The thread count the last pass used (1 or the pool's size); for the tests
   and the benchmark. */
int gpt_threads_choice(Gpt *g, int threads) {
    (void)threads;
    return g->last_use;
}

#else /* no vector path: no fused pass */

Gpt *gpt_new(int L, int C, int nh, int V, int block, void *const *ptrs) {
    (void)L, (void)C, (void)nh, (void)V, (void)block, (void)ptrs;
    return 0;
}

void gpt_free(Gpt *g) { (void)g; }

int gpt_max_rows(void) { return MAX_T; }

int gpt_decode(Gpt *g, const int64_t *ids, int T, int pos, float *k_cache, float *v_cache,
               float *logits, int threads, int last_only) {
    (void)g, (void)ids, (void)T, (void)pos, (void)k_cache, (void)v_cache, (void)logits;
    (void)threads, (void)last_only;
    return -2;
}

int gpt_threads_choice(Gpt *g, int threads) {
    (void)g, (void)threads;
    return 1;
}

void gpt_fixed_threads(Gpt *g, int fixed) { (void)g, (void)fixed; }

void gpt_stats(const Gpt *g, long *out) {
    (void)g;
    out[0] = out[1] = out[2] = 0;
}

#endif
