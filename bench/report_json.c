/*
 * report_json.c - results.json and results.csv (written to a temporary file beside the target and renamed into
 * place, so a reader never sees half a file), and bench_read_json, the reader of results.json for --compare: a
 * small recursive-descent JSON parser (RFC 8259) that keeps the figures and the run's identity and skips the rest.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

#define JSON_MAX_DEPTH 16
#define JSON_MAX_BYTES (64u << 20)

static const char *const group_names[] = {"bandwidth", "op", "matmul", "attention", "layer"};
#define GROUP_COUNT (sizeof group_names / sizeof group_names[0])

static const char *backend_name(vkattn_backend b)
{
    return b == VKATTN_BACKEND_CPU ? "cpu" : "vulkan";
}

/* ---- writing ------------------------------------------------------------------------------------------------------ */

typedef void (*body_fn)(FILE *f, const bench_results *r);

/* Writes body to path through a temporary file in the same directory and a rename. */
static int write_atomically(const char *path, const bench_results *r, body_fn body)
{
    size_t len = strlen(path);
    char *tmp = malloc(len + 8);
    if (!tmp)
        return -1;
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".XXXXXX", 8);
    int fd = mkstemp(tmp);
    /* mkstemp makes the file 0600; give it the mode a plain fopen would (0666 less the umask). */
    mode_t mask = umask(0);
    umask(mask);
    if (fd >= 0 && fchmod(fd, 0666 & ~mask) != 0) {
        close(fd);
        unlink(tmp);
        fd = -1;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        errno = e;
        return -1;
    }
    body(f, r);
    int failed = ferror(f);
    failed |= fclose(f) != 0;
    if (!failed)
        failed = rename(tmp, path) != 0;
    int e = failed && errno == 0 ? EIO : errno;
    if (failed)
        unlink(tmp);
    free(tmp);
    errno = e;
    return failed ? -1 : 0;
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* "key": "value" with a leading separator. */
static void json_field_str(FILE *f, const char *sep, const char *key, const char *value)
{
    fprintf(f, "%s\"%s\": ", sep, key);
    json_string(f, value);
}

/* Numbers as %.17g round-trip; JSON has no inf or NaN, so those become null. */
static void json_field_num(FILE *f, const char *sep, const char *key, double v)
{
    if (isfinite(v))
        fprintf(f, "%s\"%s\": %.17g", sep, key, v);
    else
        fprintf(f, "%s\"%s\": null", sep, key);
}

static void json_device(FILE *f, const vkattn_device_info *d)
{
    json_field_str(f, "  \"device\": {", "name", d->name);
    json_field_str(f, ", ", "backend", backend_name(d->backend));
    json_field_str(f, ", ", "vendor", d->vendor);
    json_field_num(f, ", ", "vendor_id", d->vendor_id);
    json_field_num(f, ", ", "device_id", d->device_id);
    json_field_num(f, ", ", "type", d->type);
    json_field_str(f, ",\n    ", "driver_name", d->driver_name);
    json_field_str(f, ", ", "driver_info", d->driver_info);
    json_field_num(f, ", ", "driver_version", d->driver_version);
    fprintf(f, ", \"api_version\": \"%u.%u.%u\"", (d->api_version >> 22) & 0x7fu, (d->api_version >> 12) & 0x3ffu,
            d->api_version & 0xfffu);
    fprintf(f, ",\n    \"limits\": {");
    json_field_num(f, "", "subgroup_size", d->subgroup_size);
    json_field_num(f, ", ", "max_workgroup_invocations", d->max_workgroup_invocations);
    json_field_num(f, ", ", "max_shared_memory", d->max_shared_memory);
    json_field_num(f, ", ", "max_storage_buffer_range", (double)d->max_storage_buffer_range);
    json_field_num(f, ", ", "max_allocation_size", (double)d->max_allocation_size);
    json_field_num(f, ", ", "device_local_bytes", (double)d->device_local_bytes);
    json_field_num(f, ", ", "timestamp_period_ns", d->timestamp_period_ns);
    fprintf(f, ", \"fp16_storage\": %s, \"fp16_arithmetic\": %s, \"subgroup_arithmetic\": %s, "
               "\"unified_memory\": %s}},\n",
            d->fp16_storage ? "true" : "false", d->fp16_arithmetic ? "true" : "false",
            d->subgroup_arithmetic ? "true" : "false", d->unified_memory ? "true" : "false");
}

/* A bandwidth-bound op's (or decode attention's) GB/s as a percentage of the copy shader's in the same run; 0 for
 * other figures. */
static double percent_of_copy(const bench_results *r, const bench_figure *g)
{
    double copy = bench_copy_gbps(r, g->backend, g->seq, g->bytes);
    bool banded = g->group == BENCH_OP || (g->group == BENCH_ATTENTION && g->bytes > 0.0);
    return banded && copy > 0.0 ? 100.0 * bench_figure_gbps(g) / copy : 0.0;
}

static void json_figure(FILE *f, const bench_results *r, const bench_figure *g)
{
    json_field_str(f, "    {", "group", group_names[g->group]);
    json_field_str(f, ", ", "name", g->name);
    json_field_str(f, ", ", "encoding", g->encoding);
    json_field_str(f, ", ", "phase", g->phase);
    json_field_str(f, ", ", "path", g->path);
    json_field_str(f, ", ", "backend", backend_name(g->backend));
    json_field_num(f, ", ", "seq", (double)g->seq);
    json_field_num(f, ", ", "reps", g->reps);
    json_field_num(f, ",\n     ", "median_ms", g->median_ms);
    json_field_num(f, ", ", "min_ms", g->min_ms);
    json_field_num(f, ", ", "max_ms", g->max_ms);
    fprintf(f, ", \"wall_clock\": %s", g->wall_clock ? "true" : "false");
    json_field_num(f, ", ", "bytes", g->bytes);
    json_field_num(f, ", ", "flops", g->flops);
    json_field_num(f, ", ", "gbps", bench_figure_gbps(g));
    json_field_num(f, ", ", "gflops", bench_figure_gflops(g));
    json_field_num(f, ", ", "percent_of_copy", percent_of_copy(r, g));
    fputc('}', f);
}

static void json_body(FILE *f, const bench_results *r)
{
    json_field_str(f, "{\n  ", "vkattn_version", r->vkattn_version);
    json_field_str(f, ", ", "git_revision", r->git_revision);
    json_field_str(f, ", ", "date", r->date);
    fputs(",\n", f);
    json_device(f, &r->device);
    json_field_str(f, "  \"shape\": {", "preset", r->shape.preset);
    json_field_num(f, ", ", "heads", (double)r->shape.heads);
    json_field_num(f, ", ", "kv_heads", (double)r->shape.kv_heads);
    json_field_num(f, ", ", "head_dim", (double)r->shape.head_dim);
    json_field_num(f, ", ", "batch", (double)r->shape.batch);
    json_field_str(f, ", ", "dtype", vkattn_dtype_name(r->shape.dtype));
    json_field_num(f, "},\n  ", "budget_s", r->budget_s);
    json_field_num(f, ", ", "memory_budget", (double)r->memory_budget);
    fputs(",\n  \"figures\": [\n", f);
    for (size_t i = 0; i < r->n_figures; i++) {
        json_figure(f, r, &r->figures[i]);
        fputs(i + 1 < r->n_figures ? ",\n" : "\n", f);
    }
    fputs("  ]\n}\n", f);
}

static void csv_body(FILE *f, const bench_results *r)
{
    fputs("group,name,encoding,phase,path,backend,seq,reps,median_ms,min_ms,max_ms,wall_clock,bytes,flops,gbps,"
          "gflops,percent_of_copy\n",
          f);
    for (size_t i = 0; i < r->n_figures; i++) {
        const bench_figure *g = &r->figures[i];
        fprintf(f, "%s,%s,%s,%s,%s,%s,%lld,%d,%.9g,%.9g,%.9g,%d,%.17g,%.17g,%.9g,%.9g,%.9g\n", group_names[g->group],
                g->name, g->encoding, g->phase, g->path, backend_name(g->backend), (long long)g->seq, g->reps,
                g->median_ms, g->min_ms, g->max_ms, g->wall_clock ? 1 : 0, g->bytes, g->flops,
                bench_figure_gbps(g), bench_figure_gflops(g), percent_of_copy(r, g));
    }
}

int bench_write_json(const bench_results *r, const char *path)
{
    return write_atomically(path, r, json_body);
}

int bench_write_csv(const bench_results *r, const char *path)
{
    return write_atomically(path, r, csv_body);
}

/* ---- reading -------------------------------------------------------------------------------------------------------- */

typedef struct json_parser {
    const char *s;
    size_t pos, len;
    char *err;
    size_t err_len;
    bool failed;
} json_parser;

static bool fail(json_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records the first error with its byte offset; always false, for `return fail(...)`. */
static bool fail(json_parser *p, const char *fmt, ...)
{
    if (p->failed)
        return false;
    p->failed = true;
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->err_len, "%s at byte %zu", msg, p->pos);
    return false;
}

static char peek(json_parser *p)
{
    while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]))
        p->pos++;
    return p->pos < p->len ? p->s[p->pos] : '\0';
}

static bool expect(json_parser *p, char c)
{
    if (peek(p) != c)
        return fail(p, "expected '%c'", c);
    p->pos++;
    return true;
}

/* A string into out (truncated to cap - 1 bytes; \u escapes outside ASCII become '?'). */
static bool parse_string(json_parser *p, char *out, size_t cap)
{
    if (!expect(p, '"'))
        return false;
    size_t n = 0;
    while (p->pos < p->len && p->s[p->pos] != '"') {
        char c = p->s[p->pos++];
        if ((unsigned char)c < 0x20)
            return fail(p, "control character in a string");
        if (c == '\\') {
            if (p->pos >= p->len)
                break;
            char e = p->s[p->pos++];
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t", *hit = strchr(from, e);
            if (e == 'u') {
                unsigned code = 0;
                if (p->pos + 4 > p->len || sscanf(p->s + p->pos, "%4x", &code) != 1)
                    return fail(p, "bad \\u escape");
                p->pos += 4;
                c = code < 0x80 ? (char)code : '?';
            } else if (!hit || !e) {
                return fail(p, "bad escape '\\%c'", e);
            } else {
                c = to[hit - from];
            }
        }
        if (n + 1 < cap)
            out[n++] = c;
    }
    if (cap)
        out[n] = '\0';
    return expect(p, '"');
}

static bool parse_number(json_parser *p, double *out)
{
    peek(p);
    const char *start = p->s + p->pos;
    if (*start != '-' && (*start < '0' || *start > '9'))
        return fail(p, "expected a number");
    char *end;
    *out = strtod(start, &end);
    p->pos += (size_t)(end - start);
    return true;
}

static bool parse_literal(json_parser *p, bool *out)
{
    peek(p);
    static const char *const words[] = {"true", "false", "null"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if (p->len - p->pos >= n && strncmp(p->s + p->pos, words[i], n) == 0) {
            p->pos += n;
            *out = i == 0;
            return true;
        }
    }
    return fail(p, "unexpected character");
}

/* Called for each member of an object or element of an array; must consume the value. */
typedef bool (*member_fn)(json_parser *p, const char *key, void *user, int depth);

static bool parse_members(json_parser *p, int depth, char open, member_fn member, void *user);

static bool skip_member(json_parser *p, const char *key, void *user, int depth);

static bool skip_value(json_parser *p, int depth)
{
    char c = peek(p);
    double num;
    bool b;
    char tmp[1];
    if (depth > JSON_MAX_DEPTH)
        return fail(p, "nested too deeply");
    if (c == '{' || c == '[')
        return parse_members(p, depth + 1, c, skip_member, NULL);
    if (c == '"')
        return parse_string(p, tmp, sizeof tmp);
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(p, &num);
    return parse_literal(p, &b);
}

static bool skip_member(json_parser *p, const char *key, void *user, int depth)
{
    (void)key;
    (void)user;
    return skip_value(p, depth);
}

/* An object ('{') or an array ('['): calls member for each member with its key, or for each element with key "". */
static bool parse_members(json_parser *p, int depth, char open, member_fn member, void *user)
{
    char close = open == '{' ? '}' : ']';
    if (!expect(p, open))
        return false;
    if (peek(p) == close)
        return expect(p, close);
    do {
        char key[64] = "";
        if (open == '{' && (!parse_string(p, key, sizeof key) || !expect(p, ':')))
            return false;
        if (!member(p, key, user, depth))
            return false;
    } while (peek(p) == ',' && expect(p, ','));
    return expect(p, close);
}

static bool lookup(const char *const *words, size_t n, const char *w, int *out)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(words[i], w) == 0) {
            *out = (int)i;
            return true;
        }
    }
    return false;
}

/* The string members of a figure: where each goes. */
static char *figure_text(bench_figure *f, const char *key, size_t *cap)
{
    struct { const char *key; char *field; size_t cap; } texts[] = {
        {"name", f->name, sizeof f->name},
        {"encoding", f->encoding, sizeof f->encoding},
        {"phase", f->phase, sizeof f->phase},
        {"path", f->path, sizeof f->path},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (strcmp(texts[i].key, key) == 0) {
            *cap = texts[i].cap;
            return texts[i].field;
        }
    }
    return NULL;
}

static bool figure_number(json_parser *p, bench_figure *f, const char *key, bool *found)
{
    double v = 0.0;
    double *fields[] = {&f->median_ms, &f->min_ms, &f->max_ms, &f->bytes, &f->flops};
    static const char *const keys[] = {"median_ms", "min_ms", "max_ms", "bytes", "flops"};
    int i;
    *found = true;
    if (lookup(keys, 5, key, &i))
        return parse_number(p, fields[i]);
    if (strcmp(key, "seq") == 0 || strcmp(key, "reps") == 0) {
        if (!parse_number(p, &v))
            return false;
        if (v != floor(v) || v < 0 || v > INT32_MAX)
            return fail(p, "'%s' is not a whole number", key);
        if (key[0] == 's')
            f->seq = (int64_t)v;
        else
            f->reps = (int)v;
        return true;
    }
    *found = false;
    return true;
}

static bool figure_word(json_parser *p, bench_figure *f, const char *key, bool *found)
{
    static const char *const backends[] = {"", "vulkan", "cpu"};
    char word[32];
    int i;
    *found = strcmp(key, "group") == 0 || strcmp(key, "backend") == 0;
    if (!*found)
        return true;
    if (!parse_string(p, word, sizeof word))
        return false;
    if (key[0] == 'g' && lookup(group_names, GROUP_COUNT, word, &i))
        f->group = (bench_group)i;
    else if (key[0] == 'b' && lookup(backends, 3, word, &i) && i > 0)
        f->backend = (vkattn_backend)i;
    else
        return fail(p, "unknown %s '%s'", key, word);
    return true;
}

static bool figure_member(json_parser *p, const char *key, void *user, int depth)
{
    bench_figure *f = user;
    size_t cap = 0;
    char *text = figure_text(f, key, &cap);
    bool found = false, b = false;
    if (text)
        return parse_string(p, text, cap);
    if (!figure_number(p, f, key, &found) || found)
        return !p->failed;
    if (!figure_word(p, f, key, &found) || found)
        return !p->failed;
    if (strcmp(key, "wall_clock") == 0) {
        if (!parse_literal(p, &b))
            return false;
        f->wall_clock = b;
        return true;
    }
    return skip_value(p, depth);
}

static bool figure_element(json_parser *p, const char *key, void *user, int depth)
{
    (void)key;
    bench_results *r = user;
    bench_figure f = {.group = (bench_group)-1, .median_ms = -1.0};
    if (!parse_members(p, depth + 1, '{', figure_member, &f))
        return false;
    if ((int)f.group < 0 || !f.name[0] || !(f.median_ms >= 0.0) || f.backend == VKATTN_BACKEND_AUTO)
        return fail(p, "figure %zu lacks group, name, backend or median_ms", r->n_figures);
    return bench_results_add(r, &f) || fail(p, "out of memory");
}

static bool device_member(json_parser *p, const char *key, void *user, int depth)
{
    vkattn_device_info *d = user;
    if (strcmp(key, "name") == 0)
        return parse_string(p, d->name, sizeof d->name);
    return skip_value(p, depth);
}

static bool top_member(json_parser *p, const char *key, void *user, int depth)
{
    bench_results *r = user;
    if (strcmp(key, "figures") == 0)
        return parse_members(p, depth + 1, '[', figure_element, r);
    if (strcmp(key, "device") == 0)
        return parse_members(p, depth + 1, '{', device_member, &r->device);
    if (strcmp(key, "date") == 0)
        return parse_string(p, r->date, sizeof r->date);
    if (strcmp(key, "git_revision") == 0)
        return parse_string(p, r->git_revision, sizeof r->git_revision);
    return skip_value(p, depth);
}

/* The whole file, NUL-terminated; NULL with a message in err. */
static char *slurp(const char *path, size_t *len, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(JSON_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, JSON_MAX_BYTES + 1, f) : 0;
    bool bad = !buf || ferror(f) || n > JSON_MAX_BYTES;
    fclose(f);
    if (bad) {
        snprintf(err, err_len, "cannot read '%s' (unreadable or over %u MiB)", path, JSON_MAX_BYTES >> 20);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int bench_read_json(const char *path, bench_results *out, char *err, size_t err_len)
{
    *out = (bench_results){0};
    size_t len = 0;
    char *text = slurp(path, &len, err, err_len);
    if (!text)
        return -1;
    char msg[200] = "";
    json_parser p = {.s = text, .len = len, .err = msg, .err_len = sizeof msg};
    bool ok = parse_members(&p, 0, '{', top_member, out);
    if (ok && peek(&p) != '\0')
        ok = fail(&p, "text after the end");
    if (ok && out->n_figures == 0)
        ok = fail(&p, "no figures");
    free(text);
    if (ok)
        return 0;
    snprintf(err, err_len, "'%s' is not a vkattn bench results.json: %s", path, msg);
    bench_results_free(out);
    return -1;
}
