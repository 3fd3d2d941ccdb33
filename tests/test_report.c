/*
 * test_report.c - report.html (bench_write_html, bench/report_html.c) from a synthetic run built here: four
 * sequence lengths, every figure group, four encodings, both backends, names and a device with characters that
 * HTML gives a meaning (< > & " '). The page is read back and checked as text: tags balanced, every figure's
 * median and its derived GB/s, % of copy and GFLOP/s (computed here from the chosen bytes, flops and times) in
 * the figure table, the charts' titles, legends and log2 axis, the layer table's ratios, escaping, nothing loaded
 * from the network; and the errors: bad arguments and unwritable paths return -1 and leave no file behind.
 * VKATTN_REPORT_KEEP=PATH keeps a copy of the synthetic page (bench/check_report.sh renders it in Chromium).
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

#define PATH_LEN 4096
#define N_SEQ 4
#define BASE_SEQ 256
#define ODD_NAME "a<b>&c \"op\" 'x'"
#define ODD_NAME_ESCAPED "a&lt;b&gt;&amp;c &quot;op&quot; &#39;x&#39;"
#define DEVICE_NAME "Test <GPU> & co"
#define DEVICE_NAME_ESCAPED "Test &lt;GPU&gt; &amp; co"

static const char *const encodings[] = {"nope", "rope", "alibi", "sinusoidal"};
/* Layer time of each encoding relative to NoPE: the layer table prints these as ratios to the fastest. */
static const double layer_cost[] = {1.0, 1.25, 1.5, 1.75};

/* ---- the synthetic run ------------------------------------------------------------------------------------------ */

/* Times are quarters of a millisecond times powers of two (min = median / 2, max = 2 median), so "%g" prints them as
 * the page's "%.4g" does; bytes and flops follow from the GB/s and GFLOP/s the figure is to have. */
static void add(bench_results *r, bench_group g, const char *name, const char *enc, const char *phase,
                const char *path, vkattn_backend b, int64_t seq, double ms, double gbps, double gflops)
{
    ck_assert(r->n_figures < r->cap_figures);
    bench_figure *f = &r->figures[r->n_figures++];
    memset(f, 0, sizeof *f);
    f->group = g;
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->encoding, sizeof f->encoding, "%s", enc);
    snprintf(f->phase, sizeof f->phase, "%s", phase);
    snprintf(f->path, sizeof f->path, "%s", path);
    f->backend = b;
    f->seq = seq;
    f->reps = 2;
    f->median_ms = ms;
    f->min_ms = ms * 0.5;
    f->max_ms = ms * 2.0;
    f->wall_clock = g == BENCH_LAYER || b == VKATTN_BACKEND_CPU;
    /* GB/s = bytes / (ms * 1e-3) / 1e9, so bytes = GB/s * ms * 1e6; the same for flops. */
    f->bytes = gbps * ms * 1e6;
    f->flops = gflops * ms * 1e6;
}

static void add_attention(bench_results *r, vkattn_backend b, int64_t seq, double scale, double g)
{
    static const char *const phases[] = {"prefill", "decode"}, *const paths[] = {"fused", "unfused"};
    for (int e = 0; e < 4; e++)
        for (int p = 0; p < 2; p++)
            for (int u = 0; u < 2; u++)
                add(r, BENCH_ATTENTION, "attention", encodings[e], phases[p], paths[u], b, seq,
                    scale * 0.25 * (1 + e + 4 * p + 8 * u), 0.0, (1000.0 + 100.0 * e) * g);
}

/* Copy shader at 20 GB/s, the ops at 15 GB/s (75% of copy), the matmul at 800 GFLOP/s; the CPU backend takes twice
 * as long for the same bytes and flops. */
static void add_seq(bench_results *r, vkattn_backend b, int64_t seq)
{
    double g = b == VKATTN_BACKEND_CPU ? 0.5 : 1.0, scale = (double)seq / BASE_SEQ / g;
    add(r, BENCH_BANDWIDTH, "copy shader", "", "", "", b, seq, scale * 0.5, 20.0 * g, 0.0);
    add(r, BENCH_BANDWIDTH, "buffer copy", "", "", "", b, seq, scale * 0.25, 40.0 * g, 0.0);
    add(r, BENCH_OP, "rope neox", "rope", "", "", b, seq, scale * 0.75, 15.0 * g, 0.0);
    add(r, BENCH_OP, ODD_NAME, "", "", "", b, seq, scale * 1.25, 15.0 * g, 0.0);
    add(r, BENCH_MATMUL, "QK^T", "", "", "", b, seq, scale * 2.0, 0.0, 800.0 * g);
    add_attention(r, b, seq, scale, g);
    for (int e = 0; e < 4; e++)
        add(r, BENCH_LAYER, "layer", encodings[e], "prefill", "fused", b, seq, scale * 4.0 * layer_cost[e], 0.0, 0.0);
}

static bench_results make_results(bool cpu_only)
{
    bench_results r;
    memset(&r, 0, sizeof r);
    r.device.backend = VKATTN_BACKEND_VULKAN;
    r.device.type = VKATTN_DEVICE_CPU;
    snprintf(r.device.name, sizeof r.device.name, "%s", DEVICE_NAME);
    snprintf(r.device.vendor, sizeof r.device.vendor, "Mesa");
    snprintf(r.device.driver_name, sizeof r.device.driver_name, "llvmpipe");
    snprintf(r.vkattn_version, sizeof r.vkattn_version, "0.1.0");
    snprintf(r.git_revision, sizeof r.git_revision, "v0.1-5-gabcdef<dirty>");
    snprintf(r.date, sizeof r.date, "2026-11-23T19:00:00Z");
    snprintf(r.shape.preset, sizeof r.shape.preset, "phone-1b");
    r.shape.heads = 16;
    r.shape.kv_heads = 4;
    r.shape.head_dim = 64;
    r.shape.batch = 1;
    r.shape.dtype = VKATTN_F32;
    r.budget_s = 5.0;
    r.memory_budget = 1u << 30;
    r.cap_figures = 2 * N_SEQ * 32;
    r.figures = calloc(r.cap_figures, sizeof *r.figures);
    ck_assert(r.figures != NULL);
    for (int b = cpu_only ? 1 : 0; b < 2; b++)
        for (int s = 0; s < N_SEQ; s++)
            add_seq(&r, b ? VKATTN_BACKEND_CPU : VKATTN_BACKEND_VULKAN, (int64_t)BASE_SEQ << s);
    return r;
}

/* ---- reading the page ------------------------------------------------------------------------------------------- */

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
    ck_assert(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    ck_assert(n >= 0 && fseek(f, 0, SEEK_SET) == 0);
    char *text = malloc((size_t)n + 1);
    ck_assert(text != NULL);
    ck_assert(fread(text, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    text[n] = '\0';
    return text;
}

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Opening and closing tags alternate (no nesting for these elements) and pair up. */
static void assert_balanced(const char *text, const char *open, const char *close)
{
    const char *p = text;
    size_t pairs = 0;
    for (;;) {
        const char *o = strstr(p, open), *c = strstr(p, close);
        if (!o) {
            ck_assert_msg(c == NULL, "%s without %s", close, open);
            break;
        }
        ck_assert_msg(c != NULL && c > o, "%s not closed", open);
        const char *next = strstr(o + 1, open);
        ck_assert_msg(!next || next > c, "%s nested or unclosed", open);
        p = c + 1;
        pairs++;
    }
    ck_assert_uint_eq(pairs, count(text, open));
}

/* The single line (the page writes one table row per line) that contains every cell; fails when none does. */
static void assert_row(const char *text, const char *const *cells, size_t n_cells)
{
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        bool all = true;
        for (size_t i = 0; i < n_cells && all; i++) {
            const char *hit = strstr(line, cells[i]);
            all = hit && hit + strlen(cells[i]) <= line + len;
        }
        if (all)
            return;
        line += len + (end ? 1 : 0);
    }
    ck_assert_msg(false, "no row with %s ... %s", cells[0], cells[n_cells - 1]);
}

static void cell(char *out, size_t size, double v)
{
    snprintf(out, size, "<td>%g</td>", v);
}

static void escaped_cell(char *out, size_t size, const char *s)
{
    snprintf(out, size, "<td>%s</td>", strcmp(s, ODD_NAME) == 0 ? ODD_NAME_ESCAPED : s);
}

/* The figure's row in "Every figure": its text cells, sequence length, median, min, max and derived values. */
static void assert_figure(const char *text, const bench_figure *f, double copy_gbps)
{
    char c[10][128];
    escaped_cell(c[0], sizeof c[0], f->name);
    escaped_cell(c[1], sizeof c[1], f->encoding);
    escaped_cell(c[2], sizeof c[2], f->phase);
    snprintf(c[3], sizeof c[3], "<td>%lld</td>", (long long)f->seq);
    cell(c[4], sizeof c[4], f->median_ms);
    cell(c[5], sizeof c[5], f->min_ms);
    cell(c[6], sizeof c[6], f->max_ms);
    snprintf(c[7], sizeof c[7], "<td>%s</td>", f->backend == VKATTN_BACKEND_CPU ? "CPU" : "Vulkan");
    size_t n = 8;
    double ms = f->median_ms;
    if (f->bytes > 0)
        cell(c[n++], sizeof c[0], f->bytes / ms / 1e6);
    if (f->bytes > 0 && f->group == BENCH_OP)
        cell(c[n++], sizeof c[0], 100.0 * f->bytes / ms / 1e6 / copy_gbps);
    if (f->flops > 0)
        cell(c[n++], sizeof c[0], f->flops / ms / 1e6);
    const char *cells[10];
    for (size_t i = 0; i < n; i++)
        cells[i] = c[i];
    assert_row(text, cells, n);
}

static char *write_page(const bench_results *r, const char *name)
{
    char path[PATH_LEN];
    snprintf(path, sizeof path, "%s/%s", vkt_tmpdir(), name);
    ck_assert_msg(bench_write_html(r, path) == 0, "bench_write_html: %s", strerror(errno));
    return read_text(path);
}

/* ---- tests on the page of the full synthetic run (a checked fixture: made afresh in each test's process) --------- */

static bench_results run;
static char *page;

static void page_setup(void)
{
    run = make_results(false);
    page = write_page(&run, "report.html");
}

static void page_teardown(void)
{
    free(page);
    free(run.figures);
}

/* VKATTN_REPORT_KEEP=PATH also writes the synthetic page there, for bench/check_report.sh to render in a browser. */
START_TEST(test_well_formed)
{
    const char *keep = getenv("VKATTN_REPORT_KEEP");
    ck_assert_msg(!keep || bench_write_html(&run, keep) == 0, "cannot write %s: %s", keep, strerror(errno));
    ck_assert_msg(strncmp(page, "<!DOCTYPE html>", 15) == 0, "no doctype");
    static const char *const pairs[][2] = {{"<html", "</html>"}, {"<head>", "</head>"}, {"<body>", "</body>"},
                                           {"<svg", "</svg>"},   {"<table", "</table>"}, {"<figure>", "</figure>"},
                                           {"<tr>", "</tr>"},    {"<title>", "</title>"}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        assert_balanced(page, pairs[i][0], pairs[i][1]);
    ck_assert_uint_eq(count(page, "<html"), 1);
    ck_assert_uint_ge(count(page, "<svg"), 8);
    /* Self-contained: nothing to fetch, nothing to run. */
    static const char *const banned[] = {"http", "<script", "src=", "href=", "url(", "<link", "@import"};
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
        ck_assert_msg(strstr(page, banned[i]) == NULL, "page contains %s", banned[i]);
}
END_TEST

START_TEST(test_every_figure)
{
    for (size_t i = 0; i < run.n_figures; i++) {
        const bench_figure *f = &run.figures[i];
        assert_figure(page, f, f->backend == VKATTN_BACKEND_CPU ? 10.0 : 20.0);
    }
    ck_assert_uint_eq(count(page, "<td>75</td>"), 2 * 2 * N_SEQ); /* two ops, both backends, each seq */
}
END_TEST

START_TEST(test_metadata_and_escaping)
{
    ck_assert_uint_eq(count(page, DEVICE_NAME_ESCAPED), 3); /* <title>, <h1> and the device table */
    ck_assert_ptr_null(strstr(page, DEVICE_NAME));
    ck_assert_ptr_null(strstr(page, ODD_NAME));
    ck_assert_ptr_null(strstr(page, "<dirty>"));
    ck_assert_ptr_nonnull(strstr(page, "v0.1-5-gabcdef&lt;dirty&gt;"));
    /* The op's legend entry and tooltips in both backends' GB/s charts, and its rows. */
    ck_assert_uint_ge(count(page, ">" ODD_NAME_ESCAPED "</text>"), 2);
    ck_assert_uint_eq(count(page, "<td>" ODD_NAME_ESCAPED "</td>"), 2 * N_SEQ);
    static const char *const meta[] = {"phone-1b", "16 / 4 / 64 / 1", "2026-11-23T19:00:00Z", "llvmpipe", "f32",
                                       "0.1.0"};
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++)
        ck_assert_msg(strstr(page, meta[i]) != NULL, "metadata %s missing", meta[i]);
}
END_TEST

/* Each chart title per backend, a legend entry per encoding, the copy reference, the sequence lengths as x ticks. */
START_TEST(test_charts)
{
    static const char *const titles[] = {"Fused attention, prefill: time", "Fused attention, decode: time",
                                         "Fused attention, prefill: throughput", "Bandwidth-bound ops: throughput"};
    char want[256];
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
        for (int b = 0; b < VKT_BACKEND_COUNT; b++) {
            bool cpu = vkt_backend(b) == VKATTN_BACKEND_CPU;
            snprintf(want, sizeof want, "%s (%s)", titles[i], cpu ? "CPU backend" : "Vulkan");
            ck_assert_msg(strstr(page, want) != NULL, "chart %s missing", want);
        }
    for (int e = 0; e < 4; e++) {
        snprintf(want, sizeof want, ">%s</text>", encodings[e]);
        ck_assert_uint_ge(count(page, want), 2 * 5);
    }
    ck_assert_uint_eq(count(page, ">copy bandwidth</text>"), 2);
    ck_assert_ptr_nonnull(strstr(page, "TFLOP/s"));
    ck_assert_ptr_nonnull(strstr(page, "GB/s"));
    for (int s = 0; s < N_SEQ; s++) {
        snprintf(want, sizeof want, ">%d</text>", BASE_SEQ << s);
        ck_assert_msg(strstr(page, want) != NULL, "x tick %d missing", BASE_SEQ << s);
    }
    /* Prefill attention at 1 TFLOP/s for NoPE (1000 GFLOP/s): the tooltip gives the value in the chart's unit. */
    ck_assert_ptr_nonnull(strstr(page, "nope, seq 256: 1 TFLOP/s"));
}
END_TEST

/* The first chart's first series (NoPE prefill time at 256..2048): doubling lengths are equally spaced along x (a
 * log2 axis), and a longer time is higher up (smaller y). */
START_TEST(test_log2_axis)
{
    const char *p = strstr(page, "<svg");
    ck_assert_ptr_nonnull(p);
    double cx[N_SEQ], cy[N_SEQ];
    for (int i = 0; i < N_SEQ; i++) {
        p = strstr(p, "<circle cx=\"");
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(sscanf(p, "<circle cx=\"%lf\" cy=\"%lf\"", &cx[i], &cy[i]), 2);
        p++;
    }
    for (int i = 1; i < N_SEQ; i++) {
        ck_assert_double_gt(cx[i], cx[i - 1]);
        ck_assert_double_eq_tol(cx[i] - cx[i - 1], cx[1] - cx[0], 0.15);
        ck_assert_double_lt(cy[i], cy[i - 1]);
    }
}
END_TEST

/* Layer table: NoPE the fastest (1.00x), RoPE 1.25x, ALiBi 1.5x, sinusoidal 1.75x, on every row of both backends. */
START_TEST(test_layer_table)
{
    ck_assert_uint_eq(count(page, "<th>nope</th><th>rope</th><th>alibi</th><th>sinusoidal</th>"), 2);
    static const char *const ratios[] = {"(1.00x)", "(1.25x)", "(1.50x)", "(1.75x)"};
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(count(page, ratios[i]), 2 * N_SEQ);
    const char *row[] = {"<tr><th>256</th>", "<td>4 ms", "<td>5 ms", "<td>6 ms", "<td>7 ms"};
    assert_row(page, row, 5);
}
END_TEST

/* ---- tests with their own runs and paths ------------------------------------------------------------------------ */

/* A length the sweep did not reach for one encoding: "-" in its cell, the ratios of the others unchanged. */
START_TEST(test_layer_gap)
{
    bench_results r = make_results(false);
    size_t i = 0;
    while (i < r.n_figures && !(r.figures[i].group == BENCH_LAYER && r.figures[i].seq == BASE_SEQ << (N_SEQ - 1) &&
                                strcmp(r.figures[i].encoding, "sinusoidal") == 0))
        i++;
    ck_assert_uint_lt(i, r.n_figures);
    r.figures[i] = r.figures[--r.n_figures];
    char *text = write_page(&r, "gap.html");
    const char *row[] = {"<tr><th>2048</th>", "<td>32 ms <small>(1.00x)</small></td>", "<td>-</td></tr>"};
    assert_row(text, row, 3);
    ck_assert_uint_eq(count(text, "(1.75x)"), 2 * N_SEQ - 1);
    free(text);
    free(r.figures);
}
END_TEST

/* The x of the tick labelled `label`: put_axes writes each tick's line and label on one line of the page. */
static double tick_x(const char *text, int label)
{
    char want[32];
    snprintf(want, sizeof want, ">%d</text>", label);
    const char *hit = strstr(text, want);
    ck_assert_msg(hit != NULL, "no tick %d", label);
    while (hit > text && hit[-1] != '\n')
        hit--;
    double x;
    ck_assert_int_eq(sscanf(hit, "<line class=\"tick\" x1=\"%lf\"", &x), 1);
    return x;
}

/* A run of one sequence length: ticks at its halving, itself and its doubling, its points half way. */
START_TEST(test_single_length)
{
    bench_results r = make_results(false);
    size_t n = 0;
    for (size_t i = 0; i < r.n_figures; i++)
        if (r.figures[i].seq == BASE_SEQ)
            r.figures[n++] = r.figures[i];
    r.n_figures = n;
    char *text = write_page(&r, "single.html");
    double lo = tick_x(text, BASE_SEQ / 2), mid = tick_x(text, BASE_SEQ), hi = tick_x(text, BASE_SEQ * 2);
    ck_assert_double_eq_tol(mid, (lo + hi) / 2, 0.15);
    double cx;
    const char *circle = strstr(text, "<circle cx=\"");
    ck_assert_ptr_nonnull(circle);
    ck_assert_int_eq(sscanf(circle, "<circle cx=\"%lf\"", &cx), 1);
    ck_assert_double_eq_tol(cx, mid, 0.15);
    free(text);
    free(r.figures);
}
END_TEST

/* A measurement that failed (NaN) or took no time (infinite GB/s) stays out of the charts' coordinates. */
START_TEST(test_bad_values)
{
    bench_results r = make_results(false);
    r.figures[0].median_ms = 0.0; /* copy shader: bytes / 0 */
    r.figures[5].median_ms = NAN; /* attention: NoPE, prefill, fused */
    ck_assert_int_eq(r.figures[5].group, BENCH_ATTENTION);
    char *text = write_page(&r, "bad_values.html");
    for (const char *svg = strstr(text, "<svg"); svg; svg = strstr(svg + 1, "<svg")) {
        size_t len = (size_t)(strstr(svg, "</svg>") - svg);
        for (const char *bad = svg; (bad = strpbrk(bad, "ni")) != NULL && bad < svg + len; bad++)
            ck_assert_msg(strncmp(bad, "nan", 3) != 0 && strncmp(bad, "inf", 3) != 0, "%.40s in a chart", bad);
    }
    assert_balanced(text, "<svg", "</svg>");
    free(text);
    free(r.figures);
}
END_TEST

/* A CPU-only run has no Vulkan section; a run without figures still makes a valid page without charts. */
START_TEST(test_sections)
{
    bench_results r = make_results(true);
    char *text = write_page(&r, "cpu_only.html");
    ck_assert_ptr_null(strstr(text, "<h2>Vulkan</h2>"));
    ck_assert_ptr_nonnull(strstr(text, "<h2>CPU backend</h2>"));
    free(text);
    r.n_figures = 0;
    text = write_page(&r, "empty.html");
    ck_assert_uint_eq(count(text, "<svg"), 0);
    ck_assert_ptr_nonnull(strstr(text, "</html>"));
    assert_balanced(text, "<table", "</table>");
    free(text);
    free(r.figures);
}
END_TEST

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert(d != NULL);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* -1 with errno for bad arguments, a missing directory and a path that is a directory; no temporary file left. */
START_TEST(test_errors)
{
    bench_results r = make_results(false);
    char dir[PATH_LEN - 64], path[PATH_LEN]; /* room for the names below */
    snprintf(dir, sizeof dir, "%s/errors", vkt_tmpdir());
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/missing/report.html", dir);
    errno = 0;
    ck_assert_int_eq(bench_write_html(&r, path), -1);
    ck_assert_int_eq(errno, ENOENT);
    snprintf(path, sizeof path, "%s/is_a_dir", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    errno = 0;
    ck_assert_int_eq(bench_write_html(&r, path), -1);
    ck_assert_int_ne(errno, 0);
    ck_assert_uint_eq(dir_entries(dir), 1); /* is_a_dir only */
    ck_assert_uint_eq(dir_entries(path), 0);
    ck_assert_int_eq(bench_write_html(NULL, path), -1);
    ck_assert_int_eq(bench_write_html(&r, NULL), -1);
    ck_assert_int_eq(bench_write_html(&r, ""), -1);
    free(r.figures);
}
END_TEST

/* An existing report is replaced whole, with the mode a new file gets (0666 minus the umask). */
START_TEST(test_replace)
{
    bench_results r = make_results(false);
    char path[PATH_LEN];
    snprintf(path, sizeof path, "%s/replace.html", vkt_tmpdir());
    FILE *f = fopen(path, "w");
    ck_assert(f != NULL);
    fputs("old contents that are not html\n", f);
    fclose(f);
    umask(022);
    ck_assert_int_eq(bench_write_html(&r, path), 0);
    char *text = read_text(path);
    ck_assert_ptr_null(strstr(text, "old contents"));
    ck_assert_ptr_nonnull(strstr(text, "</html>"));
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0644);
    free(text);
    free(r.figures);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("page");
    tcase_add_checked_fixture(tc, page_setup, page_teardown);
    tcase_add_test(tc, test_well_formed);
    tcase_add_test(tc, test_every_figure);
    tcase_add_test(tc, test_metadata_and_escaping);
    tcase_add_test(tc, test_charts);
    tcase_add_test(tc, test_log2_axis);
    tcase_add_test(tc, test_layer_table);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_test(tc, test_layer_gap);
    tcase_add_test(tc, test_single_length);
    tcase_add_test(tc, test_bad_values);
    tcase_add_test(tc, test_sections);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_replace);
    suite_add_tcase(s, tc);
    return vkt_run_suite(s);
}
