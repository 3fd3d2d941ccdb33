/*
 * cpu_internal.h - what the CPU backend's files share: the buffer type, element access, the thread pool and the
 * kernels.
 *
 * Kernels get ops checked by the front ends (4-dim tensors, outputs either the inputs' own views or disjoint from
 * them), so they cannot fail. They walk a tensor as rows: dims 0..2 pick a row, dim 3 runs along it. They split
 * their rows across the context's pool (vkattn__cpu_parallel_for); every output element is computed by one thread
 * with the same arithmetic whatever the thread count, so results never depend on it.
 */
#ifndef VKATTN_CPU_INTERNAL_H
#define VKATTN_CPU_INTERNAL_H

#include "core/internal.h"

#include <math.h>
#include <string.h>

/* Loops that gain from wider vectors: on x86-64 with GCC or Clang and glibc's ifunc, an AVX2 copy picked at load
 * time beside the baseline one. AVX2 alone (no FMA) keeps every product and sum rounded exactly as the baseline.
 * Not in sanitized builds: the ifunc resolvers run while the program is relocated, before a sanitizer's runtime is
 * set up, and crash there. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#  define VKATTN__CPU_SANITIZED 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#    define VKATTN__CPU_SANITIZED 1
#  endif
#endif
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && defined(__linux__) && \
    defined(__GLIBC__) && !defined(__ANDROID__) && !defined(VKATTN__CPU_SANITIZED)
#  define VKATTN__CPU_VECTOR __attribute__((target_clones("avx2", "default")))
#else
#  define VKATTN__CPU_VECTOR
#endif

/* Host memory of one storage (calloc'ed, so aligned for every dtype). */
typedef struct vkattn__cpu_buffer {
    unsigned char *data;
    uint64_t bytes;
} vkattn__cpu_buffer;

static inline unsigned char *vkattn__cpu_data(const vkattn__tensor *t)
{
    return ((const vkattn__cpu_buffer *)t->storage->impl)->data;
}

static inline int64_t vkattn__cpu_rows(const vkattn__tensor *t)
{
    return t->shape[0] * t->shape[1] * t->shape[2];
}

/* Storage index of element 0 of row r (r = (i0 * shape[1] + i1) * shape[2] + i2). */
static inline int64_t vkattn__cpu_row_start(const vkattn__tensor *t, int64_t r)
{
    int64_t i2 = r % t->shape[2];
    int64_t i1 = (r / t->shape[2]) % t->shape[1];
    int64_t i0 = r / (t->shape[2] * t->shape[1]);
    return t->offset + i0 * t->strides[0] + i1 * t->strides[1] + i2 * t->strides[2];
}

/* Element e of the storage (counted in t's dtype) as a double; exact for every f32, f16 and i32 value. */
static inline double vkattn__cpu_load(const vkattn__tensor *t, int64_t e)
{
    const unsigned char *p = vkattn__cpu_data(t);
    float f;
    int32_t i;
    uint16_t h;
    switch (t->dtype) {
    case VKATTN_F16:
        memcpy(&h, p + e * 2, sizeof h);
        return vkattn__half_to_float(h);
    case VKATTN_I32:
        memcpy(&i, p + e * 4, sizeof i);
        return i;
    case VKATTN_F32:
        break;
    }
    memcpy(&f, p + e * 4, sizeof f);
    return f;
}

/* Stores v into element e, rounded to f32 first (and from there to f16, nearest even). For i32, v must be an
 * integer in range (i32 data is only ever copied, never computed). */
static inline void vkattn__cpu_store(const vkattn__tensor *t, int64_t e, double v)
{
    unsigned char *p = vkattn__cpu_data(t);
    switch (t->dtype) {
    case VKATTN_F16: {
        uint16_t h = vkattn__float_to_half((float)v);
        memcpy(p + e * 2, &h, sizeof h);
        return;
    }
    case VKATTN_I32: {
        int32_t i = (int32_t)v;
        memcpy(p + e * 4, &i, sizeof i);
        return;
    }
    case VKATTN_F32:
        break;
    }
    float f = (float)v;
    memcpy(p + e * 4, &f, sizeof f);
}

/* Position of token (b, s) on `axis` for an op whose inputs[2] holds positions [1, axes, batch, seq] when
 * has_positions, else pos_offset + s. */
static inline int32_t vkattn__cpu_position(const vkattn__op *op, bool has_positions, int32_t pos_offset,
                                           uint32_t axis, int64_t b, int64_t s)
{
    if (!has_positions)
        return (int32_t)(pos_offset + s);
    const vkattn__tensor *p = &op->inputs[2];
    return (int32_t)vkattn__cpu_load(p, p->offset + axis * p->strides[1] + b * p->strides[2] + s * p->strides[3]);
}

/* Entry k of the phase table in inputs[1]. */
static inline vkattn__phase_entry vkattn__cpu_phase_entry(const vkattn__op *op, uint32_t k)
{
    vkattn__phase_entry e;
    memcpy(&e, vkattn__cpu_data(&op->inputs[1]) + (size_t)k * sizeof e, sizeof e);
    return e;
}

/* The angle in [-pi, pi) at position p: the wrapping product p * turn (internal.h) read as a signed fraction of
 * a turn, in float64 (the product is exact; the conversion keeps 53 bits). */
static inline double vkattn__cpu_phase_angle(int32_t p, vkattn__phase_entry e)
{
    uint64_t turn = (uint64_t)e.turn_hi << 32 | e.turn_lo;
    uint64_t phase = (uint64_t)(int64_t)p * turn;
    double signed_phase = phase >= (UINT64_C(1) << 63) ? (double)phase - 0x1p64 : (double)phase;
    return signed_phase * 0x1.921fb54442d18p-62; /* 2 pi / 2^64 */
}

/* ALiBi distance between positions q and k: |q - k|, or Euclidean on a grid of width grid_width > 0. */
static inline double vkattn__cpu_alibi_distance(uint32_t grid_width, int64_t q, int64_t k)
{
    if (grid_width == 0)
        return (double)(q > k ? q - k : k - q);
    int64_t w = grid_width;
    double dr = (double)(q / w - k / w), dc = (double)(q % w - k % w);
    return sqrt(dr * dr + dc * dc);
}

/* Softmax over a row of n scores given by score(c, j), in float64 (cpu_softmax.c), with vkattn.h's special values:
 * a NaN anywhere gives NaN everywhere; all -inf gives zeros; +inf entries share the mass equally. */
typedef double (*vkattn__cpu_score_fn)(const void *c, int64_t j);
typedef struct vkattn__cpu_row_stats {
    double max;
    double sum;      /* sum of exp(v - max) when max is finite */
    int64_t n_inf;   /* entries equal to +inf */
    bool nan;
} vkattn__cpu_row_stats;

vkattn__cpu_row_stats vkattn__cpu_row_stats_of(vkattn__cpu_score_fn score, const void *c, int64_t n);
/* The softmax weight of an entry of value v in a row with these stats. */
double vkattn__cpu_row_weight(const vkattn__cpu_row_stats *st, double v);

/* Score v (already scaled) of query row i, key j of head h in batch b after masking (internal.h's
 * vkattn__mask_params): plus the mask entry, minus the ALiBi bias, or -inf where causal or the window masks it.
 * mask and slopes are the op's mask and slopes inputs (read only when the params say so). */
double vkattn__cpu_masked(const vkattn__mask_params *m, const vkattn__tensor *mask, const vkattn__tensor *slopes,
                          int64_t b, int64_t h, int64_t i, int64_t j, double v);

/* ---- thread pool (cpu_pool.c) ---- */

/* VKATTN_CPU_THREADS accepts 1..this. */
#define VKATTN__CPU_MAX_THREADS 256

typedef struct vkattn__cpu_pool vkattn__cpu_pool;
/* Runs items [begin, end) of a job. */
typedef void (*vkattn__cpu_task_fn)(void *arg, int64_t begin, int64_t end);

/* Online cores, clamped to 1..VKATTN__CPU_MAX_THREADS. */
uint32_t vkattn__cpu_online_cores(void);
/* A pool of `threads` participants (the caller included); its workers start on the first job that needs them.
 * NULL when out of memory. */
vkattn__cpu_pool *vkattn__cpu_pool_create(uint32_t threads);
/* Joins the workers and frees the pool; NULL is a no-op. */
void vkattn__cpu_pool_destroy(vkattn__cpu_pool *pool);
uint32_t vkattn__cpu_pool_threads(const vkattn__cpu_pool *pool);
/* Runs fn over [0, n) in contiguous chunks on the pool's workers and the calling thread, and returns when all are
 * done. cost: work per item (about one unit per element touched); small jobs, a NULL pool or a one-thread pool
 * run inline as fn(arg, 0, n). */
void vkattn__cpu_parallel_for(vkattn__cpu_pool *pool, int64_t n, int64_t cost, vkattn__cpu_task_fn fn, void *arg);

/* ---- rows as double arrays (cpu_row.c) ---- */

/* n elements of t from storage index start, step apart, into out as doubles (exact, as vkattn__cpu_load). */
void vkattn__cpu_load_row(const vkattn__tensor *t, int64_t start, int64_t step, int64_t n, double *out);
/* n doubles into t from storage index start, step apart, rounded as vkattn__cpu_store. */
void vkattn__cpu_store_row(const vkattn__tensor *t, int64_t start, int64_t step, int64_t n, const double *v);

/* vkattn__cpu_masked over the n keys of a row in place (scratch: n doubles for the mask row). */
void vkattn__cpu_mask_row(const vkattn__mask_params *m, const vkattn__tensor *mask, const vkattn__tensor *slopes,
                          int64_t b, int64_t h, int64_t i, int64_t n, double *v, double *scratch);
/* Scores v[0, n) to their softmax weights in place: the values vkattn__cpu_row_weight gives for the row's stats. */
void vkattn__cpu_softmax_row(double *v, int64_t n);

/* Kernels (cpu_copy.c, cpu_softmax.c, cpu_rope.c, cpu_sinusoidal.c, cpu_alibi.c, cpu_matmul.c, cpu_attention.c). */
void vkattn__cpu_copy(vkattn__cpu_pool *pool, const vkattn__op *op);
void vkattn__cpu_copy_buffer(vkattn__cpu_pool *pool, const vkattn__op *op);
void vkattn__cpu_softmax(vkattn__cpu_pool *pool, const vkattn__op *op);
void vkattn__cpu_rope(vkattn__cpu_pool *pool, const vkattn__op *op);
void vkattn__cpu_sinusoidal(vkattn__cpu_pool *pool, const vkattn__op *op);
void vkattn__cpu_alibi(vkattn__cpu_pool *pool, const vkattn__op *op);
void vkattn__cpu_matmul(vkattn__cpu_pool *pool, const vkattn__op *op);
void vkattn__cpu_attention(vkattn__cpu_pool *pool, const vkattn__op *op);

/* Fills ctx->info for the host (cpu_info.c). */
void vkattn__cpu_device_info(vkattn_device_info *info);

#endif /* VKATTN_CPU_INTERNAL_H */
