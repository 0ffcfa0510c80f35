/* cost_table.c: measured cost tables (CSV files written by the executor's
 * profiler) and the "table" cost provider.
 *
 * Format (one row per measured task; see soap_sim.h):
 *   # comment lines and blank lines are skipped anywhere
 *   device_type,signature,partition,fwd_s,bwd_s          <- header, first
 *   P100,"conv2d k3x3 ... in[64,64,56,56]",[16;64;56;56],1.2e-4,2.5e-4
 * Fields may be double-quoted ("" inside quotes is one quote); the signature
 * is, since it holds commas. partition = the task's output sizes, 1 to
 * SOAP_MAX_DIMS integers >= 1, ';'-separated in brackets. Times are seconds,
 * finite and >= 0. A file with no rows at all (empty, or comments only) is
 * an empty table. A key (device type, signature, partition) given twice
 * keeps the later row: re-profiling appends, and the newest figure wins.
 *
 * Any malformed row fails the whole file with "path:line: expected ...,
 * got ..." (SOAP_ERR_PARSE): nothing half-read is used.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cost_internal.h"

#define uthash_malloc(sz) soap_xmalloc(sz)
#define uthash_free(ptr, sz) free(ptr)
#include <uthash.h>

#define TABLE_HEADER "device_type,signature,partition,fwd_s,bwd_s"
#define NFIELDS 5
/* Separates the parts of a key; cannot occur in a field (rows are lines,
 * and fields with control characters are refused). */
#define KEY_SEP '\x1f'

typedef struct table_entry {
    char *key; /* device KEY_SEP signature KEY_SEP partition text, owned */
    soap_task_cost cost;
    UT_hash_handle hh;
} table_entry;

typedef struct cost_table {
    table_entry *map; /* uthash head */
    long rows;        /* rows read, duplicates included */
    char types[256];  /* the device types of the rows, ", "-separated
                         (truncated with "..." past its size) */
} cost_table;

char *soap_cost_partition_str(const soap_shape *part, char *buf, size_t len)
{
    SOAP_ASSERT(part && buf && len > 0);
    size_t n = 0;
    buf[0] = '\0';
#define APPEND(...)                                                     \
    do {                                                                \
        int k_ = snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__); \
        if (k_ > 0)                                                     \
            n += (size_t)k_;                                            \
    } while (0)
    APPEND("[");
    for (int d = 0; d < part->ndims; d++)
        APPEND("%s%lld", d ? ";" : "", (long long)part->size[d]);
    APPEND("]");
#undef APPEND
    return buf;
}

/* key = dev SEP sig SEP part; returns a malloc'd string. */
static char *make_key(const char *dev, const char *sig, const char *part)
{
    size_t n = strlen(dev) + strlen(sig) + strlen(part) + 3;
    char *k = soap_xmalloc(n);
    snprintf(k, n, "%s%c%s%c%s", dev, KEY_SEP, sig, KEY_SEP, part);
    return k;
}

static void table_free(cost_table *t)
{
    if (!t)
        return;
    table_entry *e, *tmp;
    HASH_ITER(hh, t->map, e, tmp) {
        HASH_DEL(t->map, e);
        free(e->key);
        free(e);
    }
    free(t);
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */
static const char *const field_names[NFIELDS] = {"device_type", "signature", "partition",
                                                 "fwd_s", "bwd_s"};

/* A short, printable excerpt of a field for messages. */
static const char *excerpt(const char *s, char *buf, size_t len)
{
    size_t n = strlen(s);
    if (n + 1 <= len)
        snprintf(buf, len, "%s", s);
    else
        snprintf(buf, len, "%.*s...", (int)(len > 4 ? len - 4 : 0), s);
    return buf;
}

/* Splits `line` (no newline) into exactly NFIELDS fields, in place: quotes
 * removed, "" unescaped, spaces around unquoted fields trimmed. Returns the
 * number of fields found (or -1 with *what set on a quoting error). */
static int split_fields(char *line, char **fields, const char **what)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        char *start = p, *w = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0') {
                    *what = "a closing quote";
                    return -1;
                }
                if (*p == '"') {
                    if (p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *w++ = *p++;
            }
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p != ',' && *p != '\0') {
                *what = "',' after a closing quote";
                return -1;
            }
        } else {
            while (*p != ',' && *p != '\0') {
                if (*p == '"') {
                    *what = "no quote inside an unquoted field";
                    return -1;
                }
                *w++ = *p++;
            }
            while (w > start && (w[-1] == ' ' || w[-1] == '\t'))
                w--;
        }
        char end = *p;
        *w = '\0';
        if (n < NFIELDS)
            fields[n] = start;
        n++;
        if (end == '\0')
            return n;
        p++; /* past ',' */
    }
}

/* A time in seconds: a finite number >= 0 filling the field. */
static int parse_time(const char *s, double *out)
{
    if (*s == '\0')
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || errno == ERANGE || !isfinite(v) || v < 0)
        return 0;
    *out = v;
    return 1;
}

/* "[a;b;...]": 1..SOAP_MAX_DIMS integers >= 1. */
static int parse_partition(const char *s, soap_shape *out)
{
    memset(out, 0, sizeof *out);
    if (*s != '[')
        return 0;
    s++;
    for (;;) {
        if (out->ndims == SOAP_MAX_DIMS)
            return 0;
        if (*s < '0' || *s > '9')
            return 0;
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno == ERANGE || v < 1)
            return 0;
        out->size[out->ndims++] = v;
        s = end;
        if (*s == ';') {
            s++;
            continue;
        }
        if (*s == ']' && s[1] == '\0')
            return 1;
        return 0;
    }
}

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20)
            return 1;
    return 0;
}

/* One data row into t; error names path:line. */
/* 1 if `type` is one of the table's device types. */
static int has_type(const cost_table *t, const char *type)
{
    size_t n = strlen(type);
    for (const char *p = t->types; (p = strstr(p, type)) != NULL; p += n)
        if ((p == t->types || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

static void note_type(cost_table *t, const char *type)
{
    if (has_type(t, type))
        return;
    size_t used = strlen(t->types), n = strlen(type);
    if (used + n + 6 >= sizeof t->types) {
        if (!strstr(t->types, "..."))
            strcat(t->types, used ? ", ..." : "...");
        return;
    }
    if (used)
        strcat(t->types, ", ");
    strcat(t->types, type);
}

static soap_status parse_row(cost_table *t, char *line, const char *path, long lineno,
                             soap_error *err)
{
    char *f[NFIELDS];
    const char *what = NULL;
    char ex[96];
    int n = split_fields(line, f, &what);
    if (n < 0)
        return soap_error_set(err, SOAP_ERR_PARSE, "%s:%ld: expected %s, got \"%s\"", path,
                              lineno, what, excerpt(line, ex, sizeof ex));
    if (n != NFIELDS)
        return soap_error_set(err, SOAP_ERR_PARSE,
                              "%s:%ld: expected %d fields (%s), got %d", path, lineno,
                              NFIELDS, TABLE_HEADER, n);
    for (int k = 0; k < 2; k++) {
        if (f[k][0] == '\0' || has_control(f[k]))
            return soap_error_set(err, SOAP_ERR_PARSE,
                                  "%s:%ld: expected a non-empty %s without control "
                                  "characters, got \"%s\"",
                                  path, lineno, field_names[k], excerpt(f[k], ex, sizeof ex));
    }
    soap_shape part;
    if (!parse_partition(f[2], &part))
        return soap_error_set(err, SOAP_ERR_PARSE,
                              "%s:%ld: expected a partition like [16;64;56;56] (1 to %d "
                              "sizes >= 1), got \"%s\"",
                              path, lineno, SOAP_MAX_DIMS, excerpt(f[2], ex, sizeof ex));
    soap_task_cost cost;
    double *dst[2] = {&cost.fwd_s, &cost.bwd_s};
    for (int k = 0; k < 2; k++) {
        if (!parse_time(f[3 + k], dst[k]))
            return soap_error_set(err, SOAP_ERR_PARSE,
                                  "%s:%ld: expected a time in seconds >= 0 for %s, got \"%s\"",
                                  path, lineno, field_names[3 + k],
                                  excerpt(f[3 + k], ex, sizeof ex));
    }
    char ptext[128];
    soap_cost_partition_str(&part, ptext, sizeof ptext);
    char *key = make_key(f[0], f[1], ptext);
    table_entry *e = NULL;
    HASH_FIND_STR(t->map, key, e);
    if (e) {
        free(key);
    } else {
        e = soap_xcalloc(1, sizeof *e);
        e->key = key;
        HASH_ADD_KEYPTR(hh, t->map, e->key, strlen(e->key), e);
    }
    e->cost = cost; /* a later row replaces an earlier one */
    t->rows++;
    note_type(t, f[0]);
    return SOAP_OK;
}

/* Reads a whole table; NULL with *err on any error. */
static cost_table *table_read(const char *path, soap_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        soap_error_set(err, SOAP_ERR_IO, "%s: is a directory, expected a cost table file",
                       path);
        return NULL;
    }
    FILE *fp = fopen(path, "r");
    if (!fp) {
        soap_error_set(err, SOAP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    cost_table *t = soap_xcalloc(1, sizeof *t);
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int have_header = 0;
    soap_status status = SOAP_OK;
    ssize_t len;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        if (!have_header) {
            char ex[96];
            if (strcmp(p, TABLE_HEADER) != 0) {
                status = soap_error_set(err, SOAP_ERR_PARSE,
                                        "%s:%ld: expected the header line \"%s\", got \"%s\"",
                                        path, lineno, TABLE_HEADER, excerpt(p, ex, sizeof ex));
                break;
            }
            have_header = 1;
            continue;
        }
        status = parse_row(t, line, path, lineno, err);
        if (status != SOAP_OK)
            break;
    }
    if (status == SOAP_OK && ferror(fp))
        status = soap_error_set(err, SOAP_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    free(line);
    fclose(fp);
    if (status != SOAP_OK) {
        table_free(t);
        return NULL;
    }
    return t;
}

/* ------------------------------------------------------------------ */
/* Appending                                                           */
/* ------------------------------------------------------------------ */
/* Writes a field, quoted ("" for a quote) when it holds ',', '"' or
 * leading/trailing spaces, or always when `quote`. */
static void write_field(FILE *fp, const char *s, int quote)
{
    size_t n = strlen(s);
    if (!quote)
        quote = strpbrk(s, ",\"") != NULL || (n > 0 && (s[0] == ' ' || s[n - 1] == ' '));
    if (!quote) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

soap_status soap_cost_table_append(const char *path, const char *device_type,
                                   const char *signature, const soap_shape *part,
                                   soap_task_cost cost, soap_error *err)
{
    if (!path || !device_type || !signature || !part)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "soap_cost_table_append: expected a path, a device type, a "
                              "signature and a partition, got NULL");
    if (device_type[0] == '\0' || has_control(device_type))
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "%s: expected a device type name without control characters, "
                              "got \"%s\"",
                              path, device_type);
    if (signature[0] == '\0' || has_control(signature))
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "%s: expected a signature without control characters, got "
                              "\"%s\"",
                              path, signature);
    if (part->ndims < 1 || part->ndims > SOAP_MAX_DIMS)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "%s: expected a partition of 1 to %d dims, got %d", path,
                              SOAP_MAX_DIMS, part->ndims);
    for (int d = 0; d < part->ndims; d++)
        if (part->size[d] < 1)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "%s: expected partition sizes >= 1, got %lld in dim %d",
                                  path, (long long)part->size[d], d);
    if (!isfinite(cost.fwd_s) || cost.fwd_s < 0 || !isfinite(cost.bwd_s) || cost.bwd_s < 0)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "%s: expected times in seconds >= 0, got fwd %g bwd %g", path,
                              cost.fwd_s, cost.bwd_s);

    FILE *fp = fopen(path, "a");
    if (!fp)
        return soap_error_set(err, SOAP_ERR_IO, "%s: cannot open for appending: %s", path,
                              strerror(errno));
    /* A new (or empty) file starts with the header line. */
    if (fseek(fp, 0, SEEK_END) == 0 && ftell(fp) == 0)
        fputs(TABLE_HEADER "\n", fp);
    char ptext[128];
    write_field(fp, device_type, 0);
    fputc(',', fp);
    write_field(fp, signature, 1);
    /* %.17g: the value read back is the value written. */
    fprintf(fp, ",%s,%.17g,%.17g\n", soap_cost_partition_str(part, ptext, sizeof ptext),
            cost.fwd_s, cost.bwd_s);
    int bad = ferror(fp);
    if (fclose(fp) != 0 || bad)
        return soap_error_set(err, SOAP_ERR_IO, "%s: cannot write: %s", path,
                              strerror(errno));
    return SOAP_OK;
}

/* ------------------------------------------------------------------ */
/* The provider                                                        */
/* ------------------------------------------------------------------ */
static void *table_create(const char *arg, soap_error *err)
{
    if (!arg) {
        soap_error_set(err, SOAP_ERR_INVALID,
                       "cost provider \"table\": expected the path of a cost table");
        return NULL;
    }
    return table_read(arg, err);
}

static void table_destroy(void *ctx)
{
    table_free(ctx);
}

static int table_lookup(void *ctx, const soap_device_type *dev, const char *sig,
                        const soap_shape *part, const soap_graph *g, int op,
                        const soap_region *region, soap_task_cost *out)
{
    cost_table *t = ctx;
    if (!t->map)
        return 0;
    char ptext[128];
    soap_cost_partition_str(part, ptext, sizeof ptext);
    char *key = make_key(dev->name, sig, ptext);
    table_entry *e = NULL;
    HASH_FIND_STR(t->map, key, e);
    free(key);
    if (!e)
        return 0;
    *out = e->cost;
    return 1;
}

static int table_has_device(void *ctx, const char *type, char *types, size_t len)
{
    const cost_table *t = ctx;
    snprintf(types, len, "%s", t->types);
    return t->rows == 0 || has_type(t, type); /* an empty table is for no one else */
}

const soap_cost_ops soap_cost_provider_table = {
    .name = "table",
    .has_device = table_has_device,
    .description = "measured forward/backward times per (device type, op signature, "
                   "partition) from a CSV cost table",
    .create = table_create,
    .destroy = table_destroy,
    .lookup = table_lookup,
};
