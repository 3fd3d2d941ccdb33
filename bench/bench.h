/*
 * bench.h - the benchmark model that `vkattn bench` (cli/cmd_bench.c) fills and the writers read: the measurements
 * (bench/bench_run.c), results.json / results.csv and --compare (bench/report_json.c), report.html (bench/report_html.c).
 * Uses only the public header, as an embedding application would.
 *
 * A run is one device, one model shape and a list of figures; a figure is one timed thing (an op, a matmul, an
 * attention call, a whole layer) at one sequence length on one backend: median, min and max over the repetitions,
 * and the bytes it moves or the floating-point operations it does, from which GB/s, % of copy bandwidth and
 * GFLOP/s follow (bench_figure_gbps, bench_figure_gflops).
 */
#ifndef VKATTN_BENCH_H
#define VKATTN_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vkattn.h"

/* What a figure measures. */
typedef enum bench_group {
    BENCH_BANDWIDTH = 0, /* the device's practical bandwidth: buffer copy, copy shader */
    BENCH_OP = 1,        /* a bandwidth-bound op: every RoPE variant, sinusoidal, ALiBi, softmax */
    BENCH_MATMUL = 2,    /* Q K^T, P V */
    BENCH_ATTENTION = 3, /* vkattn_attention, fused or unfused, prefill or decode */
    BENCH_LAYER = 4,     /* the attention layer end to end (PE + attention), wall clock */
} bench_group;

#define BENCH_NAME_LEN 48

typedef struct bench_figure {
    bench_group group;
    char name[BENCH_NAME_LEN];  /* "buffer copy", "copy shader", "rope neox", "rope yarn", "softmax", "QK^T", ... */
    char encoding[16];          /* "nope", "rope", "alibi", "sinusoidal", or "" when not per encoding */
    char phase[16];             /* "prefill", "decode", or "" */
    char path[16];              /* "fused", "unfused", or "" */
    vkattn_backend backend;     /* VKATTN_BACKEND_VULKAN or VKATTN_BACKEND_CPU */
    int64_t seq;                /* the sequence length (decode: the KV-cache length) */
    int reps;                   /* timed repetitions after the warm-up */
    double median_ms, min_ms, max_ms;
    bool wall_clock;            /* timed with the host clock (end to end) rather than GPU timestamps */
    double bytes;               /* bytes read + written, for bandwidth-bound figures; 0 otherwise */
    double flops;               /* floating-point operations, for matmuls and attention; 0 otherwise */
} bench_figure;

/* The model shape of a run. */
typedef struct bench_shape {
    char preset[32];            /* "llama2-7b", "llama3-8b", "phone-1b", or "custom" */
    int64_t heads, kv_heads, head_dim;
    int64_t batch;              /* 1 */
    vkattn_dtype dtype;         /* f32 unless --f16 */
} bench_shape;

typedef struct bench_results {
    vkattn_device_info device;  /* the device benchmarked (the CPU backend's figures ride along, backend = CPU) */
    char vkattn_version[32];    /* "0.1.0" */
    char git_revision[48];      /* `git describe --always --dirty` at build time, or "unknown" */
    char date[32];              /* UTC, ISO 8601 */
    bench_shape shape;
    double budget_s;            /* the time budget per sequence length that stopped the sweep early */
    uint64_t memory_budget;     /* bytes */
    bench_figure *figures;
    size_t n_figures, cap_figures;
} bench_results;

/* Appends a copy of *f; false when out of memory. */
bool bench_results_add(bench_results *r, const bench_figure *f);
void bench_results_free(bench_results *r);
/* Sets the run's vkattn version, git revision (VKATTN_GIT_REVISION at build time) and date (now, UTC). */
void bench_results_stamp(bench_results *r);

/* Derived figures: GB/s = bytes / median (0 without bytes); GFLOP/s = flops / median (0 without flops); the copy
 * bandwidth of the run for the same backend and sequence length: the copy-shader figure ("copy shader", "copy shader
 * (scores size)") whose bytes are nearest `bytes` (the ratio nearest 1), as caches flatter copies smaller than an
 * op's data; 0 when the run has none. */
double bench_figure_gbps(const bench_figure *f);
double bench_figure_gflops(const bench_figure *f);
double bench_copy_gbps(const bench_results *r, vkattn_backend backend, int64_t seq, double bytes);
/* The same against the figures whose names start with `which` ("buffer copy": the driver's vkCmdCopyBuffer, the
 * memcpy of a CPU device). */
double bench_copy_gbps_of(const bench_results *r, vkattn_backend backend, int64_t seq, double bytes,
                          const char *which);

/* Writers: 0 on success, else -1 with errno set; they write to a temporary file and rename it into place. */
int bench_write_json(const bench_results *r, const char *path);
int bench_write_csv(const bench_results *r, const char *path);
/* A self-contained page (inline SVG charts, no network): time and throughput against sequence length per encoding,
 * the side-by-side layer table, the device and the run's metadata. */
int bench_write_html(const bench_results *r, const char *path);
/* Reads what bench_write_json wrote (for --compare); 0 on success, else -1 and a message in err. */
int bench_read_json(const char *path, bench_results *out, char *err, size_t err_len);

/* What bench_run measures. */
typedef struct bench_config {
    bench_shape shape;
    const int64_t *seqs;        /* sequence lengths, ascending */
    size_t n_seqs;
    int reps;                   /* timed repetitions after one warm-up, >= 1 */
    double budget_s;            /* time budget per sequence length, seconds */
    uint64_t memory_budget;     /* bytes */
    /* Bytes one Vulkan tensor may hold (the largest allocation; tensors past maxStorageBufferRange are bound in
     * windows): the sweep stops where the f32 scores [heads, seq, seq] would not fit. */
    uint64_t max_buffer;
    bool progress;              /* a progress line on stderr */
    FILE *notes;                /* where the reason a sweep stopped early goes (stdout) */
} bench_config;

/* Bytes one sequence length needs: Q, K, V and the output in the run's dtype, and the [heads, seq, seq] scores
 * twice: the bench's own in the run's dtype and the unfused path's in f32. */
uint64_t bench_memory_needed(const bench_shape *s, int64_t seq);
/* Measures every figure at each sequence length on ctx's backend and appends them to r. Stops before the first
 * length over the memory budget, with scores over max_buffer, or expected (4x the previous length's time:
 * attention is quadratic) to exceed the time budget, and within a length once its timed runs exceed the time
 * budget (its later figures are then missing); each stop is explained on c->notes. VKATTN_OK, or the failed
 * call's result (message in vkattn_context_last_error(ctx)). */
vkattn_result bench_run(vkattn_context *ctx, const bench_config *c, bench_results *r);

/* Most ops one timed command list holds: the PE op and the unfused attention's parts (matmul, softmax, matmul, RoPE
 * on q and k). */
#define BENCH_MAX_OPS 16

/* Records the ops of one timed list into cmd; the first failure's result. */
typedef vkattn_result (*bench_record_fn)(vkattn_context *ctx, vkattn_cmd *cmd, void *user);
/* One timed run (bench/bench_run.c): fn records into a fresh VKATTN_CMD_TIMESTAMPS list, which is submitted and
 * waited for. *op_ms = the GPU time of its ops from the skip-th on (wall time per op on the CPU backend); *wall_ms
 * (may be NULL) = the host clock from submit to the end of the wait. VKATTN_ERROR_INTERNAL when the list holds more
 * than BENCH_MAX_OPS ops. */
vkattn_result bench_time_once(vkattn_context *ctx, bench_record_fn fn, void *user, uint32_t skip, double *op_ms,
                              double *wall_ms);
/* The median of ms[0 .. n), n >= 1; sorts ms. */
double bench_median(double *ms, int n);

/* --peer (bench/bench_peer.c): softmax and RoPE GPT-J on the shapes issue 8 gives ggml Vulkan's figures for, each
 * printed to out with its GB/s, the peer's, the time on baseline (a context with VKATTN_CONTEXT_BASELINE_KERNELS,
 * or NULL), and this run's copy-shader and buffer-copy bandwidth on the same bytes. */
vkattn_result bench_peer(vkattn_context *ctx, vkattn_context *baseline, int reps, FILE *out);

#endif /* VKATTN_BENCH_H */
