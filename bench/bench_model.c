/*
 * bench_model.c - the benchmark model's storage (a growing array of figures) and the figures derived from a
 * measurement: GB/s = bytes / median time, GFLOP/s = flops / median time, and the copy bandwidth they are set
 * against.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

bool bench_results_add(bench_results *r, const bench_figure *f)
{
    if (r->n_figures == r->cap_figures) {
        size_t cap = r->cap_figures ? r->cap_figures * 2 : 64;
        bench_figure *grown = realloc(r->figures, cap * sizeof *grown);
        if (!grown)
            return false;
        r->figures = grown;
        r->cap_figures = cap;
    }
    r->figures[r->n_figures++] = *f;
    return true;
}

void bench_results_free(bench_results *r)
{
    free(r->figures);
    r->figures = NULL;
    r->n_figures = r->cap_figures = 0;
}

void bench_results_stamp(bench_results *r)
{
    uint32_t v = vkattn_version();
    snprintf(r->vkattn_version, sizeof r->vkattn_version, "%u.%u.%u", (unsigned)(v / 10000),
             (unsigned)(v / 100 % 100), (unsigned)(v % 100));
    snprintf(r->git_revision, sizeof r->git_revision, "%s", VKATTN_GIT_REVISION);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(r->date, sizeof r->date, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* amount / median seconds / 1e9: bytes give GB/s, flops give GFLOP/s. */
static double per_second_giga(double amount, double median_ms)
{
    return amount > 0.0 && median_ms > 0.0 ? amount / (median_ms * 1e-3) / 1e9 : 0.0;
}

double bench_figure_gbps(const bench_figure *f)
{
    return per_second_giga(f->bytes, f->median_ms);
}

double bench_figure_gflops(const bench_figure *f)
{
    return per_second_giga(f->flops, f->median_ms);
}

double bench_copy_gbps(const bench_results *r, vkattn_backend backend, int64_t seq, double bytes)
{
    return bench_copy_gbps_of(r, backend, seq, bytes, "copy shader");
}

double bench_copy_gbps_of(const bench_results *r, vkattn_backend backend, int64_t seq, double bytes,
                          const char *which)
{
    const bench_figure *best = NULL;
    double best_distance = 0.0;
    for (size_t i = 0; i < r->n_figures; i++) {
        const bench_figure *f = &r->figures[i];
        if (f->group != BENCH_BANDWIDTH || f->backend != backend || f->seq != seq ||
            strncmp(f->name, which, strlen(which)) != 0 || f->bytes <= 0.0)
            continue;
        double distance = bytes > 0.0 ? fabs(log(f->bytes / bytes)) : f->bytes;
        if (!best || distance < best_distance) {
            best = f;
            best_distance = distance;
        }
    }
    return best ? bench_figure_gbps(best) : 0.0;
}
