/*
 * report_html.c - report.html of `vkattn bench --out DIR`: one self-contained page (no scripts, no network) with
 * the device and the run's metadata, line charts drawn here as inline SVG (time and throughput against sequence
 * length on a log2 axis, one line per encoding or op, the copy bandwidth as a dashed reference), the side-by-side
 * layer table and every figure in a table.
 *
 * The page is built in memory and written to a temporary file beside `path`, then renamed into place, so a failed
 * run never leaves a partial report. Every string that comes from the results is HTML-escaped.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

/* ---- page buffer ------------------------------------------------------------------------------------------------ */

typedef struct page {
    char *data;
    size_t len, cap;
    bool failed; /* out of memory: the page is discarded */
} page;

static bool page_reserve(page *p, size_t extra)
{
    if (p->failed)
        return false;
    if (p->len + extra + 1 <= p->cap)
        return true;
    size_t cap = p->cap ? p->cap : 65536;
    while (cap < p->len + extra + 1)
        cap *= 2;
    char *data = realloc(p->data, cap);
    if (!data) {
        p->failed = true;
        return false;
    }
    p->data = data;
    p->cap = cap;
    return true;
}

static void put(page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(page *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !page_reserve(p, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(p->data + p->len, p->cap - p->len, fmt, ap);
    va_end(ap);
    p->len += (size_t)n;
}

/* Text from the results: the five characters with a meaning in HTML (and in attribute values) become entities. */
static void put_esc(page *p, const char *s)
{
    static const char special[] = "&<>\"'";
    static const char *const entity[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
    for (;;) {
        size_t plain = strcspn(s, special);
        put(p, "%.*s", (int)plain, s);
        if (!s[plain])
            return;
        put(p, "%s", entity[strchr(special, s[plain]) - special]);
        s += plain + 1;
    }
}

/* Figures print with 4 significant digits: the repetitions scatter more than that. */
static void put_num(page *p, double v)
{
    put(p, "%.4g", v);
}

/* ---- names ------------------------------------------------------------------------------------------------------ */

static const char *backend_name(vkattn_backend b)
{
    return b == VKATTN_BACKEND_CPU ? "CPU backend" : "Vulkan";
}

static const char *group_name(bench_group g)
{
    static const char *const names[] = {"bandwidth", "op", "matmul", "attention", "layer"};
    return (unsigned)g < sizeof names / sizeof names[0] ? names[g] : "?";
}

static const char *device_type_name(vkattn_device_type t)
{
    static const char *const names[] = {"other", "discrete GPU", "integrated GPU", "virtual GPU", "CPU"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* ---- metadata --------------------------------------------------------------------------------------------------- */

static void put_row_text(page *p, const char *label, const char *value)
{
    put(p, "<tr><th>%s</th><td>", label);
    put_esc(p, value);
    put(p, "</td></tr>\n");
}

static void put_device(page *p, const vkattn_device_info *d)
{
    put(p, "<h2>Device</h2>\n<table class=\"meta\">\n");
    put_row_text(p, "name", d->name);
    put(p, "<tr><th>type</th><td>%s</td></tr>\n", device_type_name(d->type));
    put_row_text(p, "vendor", d->vendor);
    put(p, "<tr><th>vendor / device id</th><td>0x%04x / 0x%04x</td></tr>\n", d->vendor_id, d->device_id);
    put_row_text(p, "driver", d->driver_name);
    put_row_text(p, "driver info", d->driver_info);
    /* VK_MAKE_API_VERSION: variant 31..29, major 28..22, minor 21..12, patch 11..0. */
    put(p, "<tr><th>Vulkan API</th><td>%u.%u.%u</td></tr>\n", (d->api_version >> 22) & 0x7fu,
        (d->api_version >> 12) & 0x3ffu, d->api_version & 0xfffu);
    put(p, "<tr><th>subgroup size</th><td>%u</td></tr>\n", d->subgroup_size);
    put(p, "<tr><th>fp16 storage / arithmetic</th><td>%s / %s</td></tr>\n", d->fp16_storage ? "yes" : "no",
        d->fp16_arithmetic ? "yes" : "no");
    put(p, "<tr><th>unified memory</th><td>%s</td></tr>\n", d->unified_memory ? "yes" : "no");
    put(p, "<tr><th>device-local memory</th><td>%.1f GiB</td></tr>\n", (double)d->device_local_bytes / 1073741824.0);
    put(p, "<tr><th>shared memory per workgroup</th><td>%u bytes</td></tr>\n</table>\n", d->max_shared_memory);
}

static void put_run(page *p, const bench_results *r)
{
    const bench_shape *s = &r->shape;
    put(p, "<h2>Run</h2>\n<table class=\"meta\">\n");
    put_row_text(p, "vkattn", r->vkattn_version);
    put_row_text(p, "git revision", r->git_revision);
    put_row_text(p, "date (UTC)", r->date);
    put_row_text(p, "preset", s->preset);
    put(p, "<tr><th>heads / KV heads / head dim / batch</th><td>%lld / %lld / %lld / %lld</td></tr>\n",
        (long long)s->heads, (long long)s->kv_heads, (long long)s->head_dim, (long long)s->batch);
    put(p, "<tr><th>dtype</th><td>%s</td></tr>\n", vkattn_dtype_name(s->dtype));
    put(p, "<tr><th>time budget per sequence length</th><td>%g s</td></tr>\n", r->budget_s);
    put(p, "<tr><th>memory budget</th><td>%.1f MiB</td></tr>\n</table>\n", (double)r->memory_budget / 1048576.0);
}

/* ---- charts ----------------------------------------------------------------------------------------------------- */

typedef double (*figure_value)(const bench_figure *f);

static double value_ms(const bench_figure *f)
{
    return f->median_ms;
}

static double value_tflops(const bench_figure *f)
{
    return bench_figure_gflops(f) / 1000.0;
}

/* One chart: the figures of one group (and phase and path, where given) on one backend, one line per encoding or
 * per figure name. */
typedef struct chart_spec {
    const char *title;
    const char *unit;
    bench_group group;
    const char *phase, *path; /* NULL: any */
    bool by_encoding;
    figure_value value;
    bool copy_reference; /* a dashed line at the run's copy bandwidth */
} chart_spec;

static const chart_spec charts[] = {
    {"Fused attention, prefill: time", "ms", BENCH_ATTENTION, "prefill", "fused", true, value_ms, false},
    {"Fused attention, decode: time", "ms", BENCH_ATTENTION, "decode", "fused", true, value_ms, false},
    {"Unfused attention, prefill: time", "ms", BENCH_ATTENTION, "prefill", "unfused", true, value_ms, false},
    {"Fused attention, prefill: throughput", "TFLOP/s", BENCH_ATTENTION, "prefill", "fused", true, value_tflops,
     false},
    {"Fused attention, decode: throughput", "TFLOP/s", BENCH_ATTENTION, "decode", "fused", true, value_tflops, false},
    {"Bandwidth-bound ops: throughput", "GB/s", BENCH_OP, NULL, NULL, false, bench_figure_gbps, true},
    {"Matmuls: throughput", "GFLOP/s", BENCH_MATMUL, NULL, NULL, false, bench_figure_gflops, false},
};

/* The layer figures per phase ("" where the run does not split them): each chart comes with the side-by-side layer
 * table, whose columns are the chart's series. */
static const chart_spec layer_charts[] = {
    {"Attention layer (PE + attention), prefill: time", "ms", BENCH_LAYER, "prefill", NULL, true, value_ms, false},
    {"Attention layer (PE + attention), decode: time", "ms", BENCH_LAYER, "decode", NULL, true, value_ms, false},
    {"Attention layer (PE + attention): time", "ms", BENCH_LAYER, "", NULL, true, value_ms, false},
};

/* Lines beyond this many in one chart are left out of the chart (never out of the tables). */
#define MAX_SERIES 16
#define REFERENCE_LABEL "copy bandwidth"

typedef struct point {
    int series; /* index into chart.labels */
    int64_t seq;
    double y;
} point;

typedef struct chart {
    const char *labels[MAX_SERIES + 1];
    int n_series;
    int reference; /* the series of the copy-bandwidth line; -1 when none */
    point *points;
    size_t n_points;
    int64_t seq_min, seq_max;
    double y_max;
} chart;

static bool chart_match(const chart_spec *c, vkattn_backend b, const bench_figure *f)
{
    return f->backend == b && f->group == c->group && (!c->phase || strcmp(f->phase, c->phase) == 0) &&
           (!c->path || strcmp(f->path, c->path) == 0);
}

/* The series index of a label, adding it when new; -1 when the chart has MAX_SERIES already. */
static int chart_series(chart *ch, const char *label)
{
    for (int i = 0; i < ch->n_series; i++)
        if (strcmp(ch->labels[i], label) == 0)
            return i;
    if (ch->n_series == MAX_SERIES)
        return -1;
    ch->labels[ch->n_series] = label;
    return ch->n_series++;
}

static void chart_add(chart *ch, int series, int64_t seq, double y)
{
    ch->points[ch->n_points++] = (point){series, seq, y};
    if (ch->n_points == 1 || seq < ch->seq_min)
        ch->seq_min = seq;
    if (ch->n_points == 1 || seq > ch->seq_max)
        ch->seq_max = seq;
    if (y > ch->y_max)
        ch->y_max = y;
}

static int point_order(const void *a, const void *b)
{
    const point *x = a, *y = b;
    if (x->series != y->series)
        return x->series < y->series ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The reference line: the copy bandwidth at each sequence length the chart has (where the run measured it). */
static void chart_add_reference(chart *ch, const bench_results *r, vkattn_backend b)
{
    size_t n = ch->n_points;
    int ref = ch->n_series;
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = ch->points[j].seq == ch->points[i].seq;
        double gbps = seen ? 0.0 : bench_copy_gbps(r, b, ch->points[i].seq, 0.0);
        if (gbps > 0.0)
            chart_add(ch, ref, ch->points[i].seq, gbps);
    }
    if (ch->n_points > n) {
        ch->reference = ch->n_series;
        ch->labels[ch->n_series++] = REFERENCE_LABEL;
    }
}

/* Collects the chart's points; false when out of memory. points has room for every figure twice (the reference). */
static bool chart_build(chart *ch, const chart_spec *c, const bench_results *r, vkattn_backend b)
{
    memset(ch, 0, sizeof *ch);
    ch->reference = -1;
    ch->points = malloc((2 * r->n_figures + 1) * sizeof *ch->points);
    if (!ch->points)
        return false;
    for (size_t i = 0; i < r->n_figures; i++) {
        const bench_figure *f = &r->figures[i];
        if (!chart_match(c, b, f) || f->seq <= 0)
            continue;
        double v = c->value(f);
        if (!isfinite(v) || v <= 0.0) /* failed, took no time or moved nothing: in the figure table, not on a line */
            continue;
        int s = chart_series(ch, c->by_encoding ? f->encoding : f->name);
        if (s >= 0)
            chart_add(ch, s, f->seq, v);
    }
    if (c->copy_reference && ch->n_points > 0)
        chart_add_reference(ch, r, b);
    qsort(ch->points, ch->n_points, sizeof *ch->points, point_order);
    return true;
}

/* Chart geometry (SVG user units): the plot area, with the axis labels left and below and the legend right. The
 * page shows charts at 7/10 of this size, two side by side in a 1280-pixel window. */
#define SVG_W 800
#define SVG_H 380
#define PLOT_X0 80.0
#define PLOT_X1 600.0
#define PLOT_Y0 40.0
#define PLOT_Y1 320.0
#define Y_TICKS 5

/* Line colours in series order (the first one is what bench/check_report.sh looks for in the screenshot). */
static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                      "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#ad494a"};

typedef struct axes {
    double lx0, lx1; /* log2 of the first and last x tick */
    double y_top, y_step;
} axes;

/* A "nice" tick step (1, 2 or 5 times a power of ten) of at least span / Y_TICKS. */
static double nice_step(double span)
{
    double mag = pow(10.0, floor(log10(span / Y_TICKS)));
    double f = span / Y_TICKS / mag;
    return (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * mag;
}

/* x: whole powers of two around the sequence lengths; y: from 0 to a whole number of nice steps, with 5% headroom
 * above the maximum so that its line does not run along the frame. */
static axes chart_axes(const chart *ch)
{
    axes a;
    a.lx0 = floor(log2((double)ch->seq_min));
    a.lx1 = ceil(log2((double)ch->seq_max));
    if (a.lx1 <= a.lx0) { /* one length: put it in the middle, between its halving and its doubling */
        a.lx0 -= 1.0;
        a.lx1 += 1.0;
    }
    double top = ch->y_max > 0.0 ? 1.05 * ch->y_max : 1.0;
    a.y_step = nice_step(top);
    a.y_top = a.y_step * ceil(top / a.y_step);
    return a;
}

static double to_x(const axes *a, int64_t seq)
{
    return PLOT_X0 + (log2((double)seq) - a->lx0) / (a->lx1 - a->lx0) * (PLOT_X1 - PLOT_X0);
}

static double to_y(const axes *a, double y)
{
    return PLOT_Y1 - y / a->y_top * (PLOT_Y1 - PLOT_Y0);
}

static void put_axes(page *p, const axes *a, const char *unit)
{
    put(p, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", PLOT_X0, PLOT_Y1, PLOT_X1,
        PLOT_Y1);
    put(p, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", PLOT_X0, PLOT_Y0, PLOT_X0,
        PLOT_Y1);
    for (double e = a->lx0; e <= a->lx1; e += 1.0) {
        double x = to_x(a, (int64_t)ldexp(1.0, (int)e));
        put(p, "<line class=\"tick\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, PLOT_Y1, x, PLOT_Y1 + 5);
        put(p, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n", x, PLOT_Y1 + 20, ldexp(1.0, (int)e));
    }
    for (int i = 0; i <= (int)lround(a->y_top / a->y_step); i++) {
        double v = i * a->y_step, y = to_y(a, v);
        put(p, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", PLOT_X0 - 5, y, PLOT_X1, y);
        put(p, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", PLOT_X0 - 8, y + 4, v);
    }
    put(p, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">sequence length (log2 scale)</text>\n",
        (PLOT_X0 + PLOT_X1) / 2, PLOT_Y1 + 45);
    put(p, "<text transform=\"translate(20 %.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
        (PLOT_Y0 + PLOT_Y1) / 2, unit);
}

/* One series: its line, a dot per point with the value as tooltip, and its legend entry. */
static void put_series(page *p, const chart *ch, const axes *a, int s, const char *unit)
{
    /* The copy bandwidth dashed in grey; beyond the palette, colours come round again dotted. */
    int n_colours = (int)(sizeof colours / sizeof colours[0]);
    bool reference = s == ch->reference;
    const char *colour = reference ? "#555555" : colours[s % n_colours];
    const char *dash = reference ? " stroke-dasharray=\"6 4\"" : s >= n_colours ? " stroke-dasharray=\"2 3\"" : "";
    put(p, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", colour, dash);
    for (size_t i = 0; i < ch->n_points; i++)
        if (ch->points[i].series == s)
            put(p, "%.1f,%.1f ", to_x(a, ch->points[i].seq), to_y(a, ch->points[i].y));
    put(p, "\"/>\n");
    for (size_t i = 0; i < ch->n_points; i++) {
        const point *pt = &ch->points[i];
        if (pt->series != s)
            continue;
        put(p, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>", to_x(a, pt->seq), to_y(a, pt->y), colour);
        put_esc(p, ch->labels[s]);
        put(p, ", seq %lld: %.4g %s</title></circle>\n", (long long)pt->seq, pt->y, unit);
    }
    double y = PLOT_Y0 + 10 + 20.0 * s;
    put(p, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>", PLOT_X1 + 20,
        y, PLOT_X1 + 45, y, colour, dash);
    put(p, "<text x=\"%.1f\" y=\"%.1f\">", PLOT_X1 + 52, y + 4);
    put_esc(p, ch->labels[s]);
    put(p, "</text>\n");
}

static void put_svg(page *p, const chart_spec *c, const chart *ch, vkattn_backend b)
{
    axes a = chart_axes(ch);
    put(p, "<figure>\n<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">\n", SVG_W, SVG_H,
        SVG_W * 7 / 10, SVG_H * 7 / 10);
    put(p, "<text x=\"%.1f\" y=\"22\" class=\"title\">%s (%s)</text>\n", PLOT_X0, c->title, backend_name(b));
    put_axes(p, &a, c->unit);
    for (int s = 0; s < ch->n_series; s++)
        put_series(p, ch, &a, s, c->unit);
    put(p, "</svg>\n</figure>\n");
}

/* The chart, where the run has figures for it; false when out of memory. */
static bool put_chart(page *p, const chart_spec *c, const bench_results *r, vkattn_backend b)
{
    chart ch;
    if (!chart_build(&ch, c, r, b))
        return false;
    if (ch.n_points > 0)
        put_svg(p, c, &ch, b);
    free(ch.points);
    return true;
}

/* ---- tables ----------------------------------------------------------------------------------------------------- */

/* The value of series s at a sequence length; NAN when the sweep did not reach it. */
static double chart_value(const chart *ch, int s, int64_t seq)
{
    for (size_t i = 0; i < ch->n_points; i++)
        if (ch->points[i].series == s && ch->points[i].seq == seq)
            return ch->points[i].y;
    return NAN;
}

/* One row of the layer table: each encoding's median and its ratio to the fastest encoding at this length. */
static void put_layer_row(page *p, const chart *ch, int64_t seq)
{
    double fastest = INFINITY;
    for (int s = 0; s < ch->n_series; s++)
        fastest = fmin(fastest, chart_value(ch, s, seq)); /* fmin ignores NAN */
    put(p, "<tr><th>%lld</th>", (long long)seq);
    for (int s = 0; s < ch->n_series; s++) {
        double ms = chart_value(ch, s, seq);
        if (isnan(ms)) {
            put(p, "<td>-</td>");
            continue;
        }
        put(p, "<td>");
        put_num(p, ms);
        put(p, " ms <small>(%.2fx)</small></td>", fastest > 0.0 ? ms / fastest : 1.0);
    }
    put(p, "</tr>\n");
}

/* Rows: sequence lengths; columns: encodings (in the order of the run). */
static void put_layer_table(page *p, const chart_spec *c, const chart *ch, vkattn_backend b)
{
    put(p, "<h3>%s (%s): median ms and ratio to the fastest encoding</h3>\n<table class=\"data\">\n<tr><th>seq</th>",
        c->title, backend_name(b));
    for (int s = 0; s < ch->n_series; s++) {
        put(p, "<th>");
        put_esc(p, ch->labels[s]);
        put(p, "</th>");
    }
    put(p, "</tr>\n");
    /* The distinct lengths in increasing order: each time the smallest one above the last row's. */
    for (int64_t last = 0;;) {
        int64_t next = INT64_MAX;
        for (size_t i = 0; i < ch->n_points; i++)
            if (ch->points[i].seq > last && ch->points[i].seq < next)
                next = ch->points[i].seq;
        if (next == INT64_MAX)
            break;
        put_layer_row(p, ch, next);
        last = next;
    }
    put(p, "</table>\n");
}

/* A layer chart and its table, where the run has layer figures of that phase; false when out of memory. */
static bool put_layer(page *p, const chart_spec *c, const bench_results *r, vkattn_backend b)
{
    chart ch;
    if (!chart_build(&ch, c, r, b))
        return false;
    if (ch.n_points > 0) {
        put_svg(p, c, &ch, b);
        put_layer_table(p, c, &ch, b);
    }
    free(ch.points);
    return true;
}

static void put_figure_row(page *p, const bench_results *r, const bench_figure *f)
{
    const char *text[] = {f->name, f->encoding, f->phase, f->path};
    put(p, "<tr><td>%s</td><td>%s</td>", f->backend == VKATTN_BACKEND_CPU ? "CPU" : "Vulkan", group_name(f->group));
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        put(p, "<td>");
        put_esc(p, text[i]);
        put(p, "</td>");
    }
    put(p, "<td>%lld</td><td>%d</td>", (long long)f->seq, f->reps);
    double copy = bench_copy_gbps(r, f->backend, f->seq, f->bytes), gbps = bench_figure_gbps(f);
    double cells[] = {f->median_ms, f->min_ms, f->max_ms, gbps, copy > 0.0 ? 100.0 * gbps / copy : 0.0,
                      bench_figure_gflops(f)};
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        put(p, "<td>");
        if (i < 3 || cells[i] > 0.0)
            put_num(p, cells[i]);
        put(p, "</td>");
    }
    put(p, "<td>%s</td></tr>\n", f->wall_clock ? "wall clock" : "GPU timestamps");
}

static void put_figures(page *p, const bench_results *r)
{
    put(p, "<h2>Every figure</h2>\n<table class=\"data figures\">\n<tr><th>backend</th><th>group</th><th>name</th>"
           "<th>encoding</th><th>phase</th><th>path</th><th>seq</th><th>reps</th><th>median ms</th><th>min ms</th>"
           "<th>max ms</th><th>GB/s</th><th>%% of copy</th><th>GFLOP/s</th><th>timed with</th></tr>\n");
    for (size_t i = 0; i < r->n_figures; i++)
        put_figure_row(p, r, &r->figures[i]);
    put(p, "</table>\n");
}

/* ---- page ------------------------------------------------------------------------------------------------------- */

static const char style[] =
    "body{font-family:sans-serif;margin:24px;color:#222}"
    "table{border-collapse:collapse;margin:8px 0 24px}"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}"
    "table.data td{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "table.figures{font-size:13px}table.figures td:nth-child(-n+6){text-align:left}"
    "svg{font-size:12px;background:#fff}"
    "svg .title{font-size:15px;font-weight:bold}"
    ".axis{stroke:#222}.tick{stroke:#222}.grid{stroke:#e4e4e4}"
    "figure{display:inline-block;vertical-align:top;margin:0 16px 16px 0}";

/* The backend's charts and layer tables, where the run has figures of the backend; false when out of memory. */
static bool put_backend(page *p, const bench_results *r, vkattn_backend b)
{
    bool any = false;
    for (size_t i = 0; i < r->n_figures && !any; i++)
        any = r->figures[i].backend == b;
    if (!any)
        return true;
    put(p, "<h2>%s</h2>\n", backend_name(b));
    for (size_t c = 0; c < sizeof charts / sizeof charts[0]; c++)
        if (!put_chart(p, &charts[c], r, b))
            return false;
    for (size_t c = 0; c < sizeof layer_charts / sizeof layer_charts[0]; c++)
        if (!put_layer(p, &layer_charts[c], r, b))
            return false;
    return true;
}

static bool put_page(page *p, const bench_results *r)
{
    put(p, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>vkattn bench: ");
    put_esc(p, r->device.name);
    put(p, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>vkattn bench: ", style);
    put_esc(p, r->device.name);
    put(p, "</h1>\n");
    put_device(p, &r->device);
    put_run(p, r);
    if (r->n_figures == 0)
        put(p, "<p>The run has no figures.</p>\n");
    if (!put_backend(p, r, VKATTN_BACKEND_VULKAN) || !put_backend(p, r, VKATTN_BACKEND_CPU))
        return false;
    put_figures(p, r);
    put(p, "</body>\n</html>\n");
    return !p->failed;
}

/* ---- file ------------------------------------------------------------------------------------------------------- */

static bool write_all(int fd, const char *data, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        data += w;
        n -= (size_t)w;
    }
    return true;
}

/* The temporary file gets the mode a plain fopen would give (0666 minus the umask; mkstemp makes 0600), the whole
 * contents and an fsync before the rename, so that `path` is either the old file or the complete new one. */
static bool write_tmp(int fd, const char *data, size_t n)
{
    mode_t mask = umask(0);
    umask(mask);
    bool ok = fchmod(fd, 0666 & ~mask) == 0 && write_all(fd, data, n) && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok)
        return false;
    errno = saved;
    return ok;
}

static int write_replace(const char *path, const char *data, size_t n)
{
    static const char suffix[] = ".tmpXXXXXX";
    size_t size = strlen(path) + sizeof suffix;
    char *tmp = malloc(size);
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(tmp, size, "%s%s", path, suffix);
    int fd = mkstemp(tmp);
    bool ok = fd >= 0 && write_tmp(fd, data, n) && rename(tmp, path) == 0;
    int saved = errno;
    if (!ok && fd >= 0)
        unlink(tmp);
    free(tmp);
    errno = saved;
    return ok ? 0 : -1;
}

int bench_write_html(const bench_results *r, const char *path)
{
    if (!r || !path || !*path) {
        errno = EINVAL;
        return -1;
    }
    page p = {0};
    int rc = -1;
    if (put_page(&p, r))
        rc = write_replace(path, p.data, p.len);
    else
        errno = ENOMEM;
    int saved = errno;
    free(p.data);
    errno = saved;
    return rc;
}
