/* cost_table.c: the cost-table file format (CSV files written by the
 * executor's profiler, read by the simulator's "table" cost provider):
 * reading rows, writing and appending rows.
 *
 * Format (one row per measured task):
 *   # comment lines and blank lines are skipped anywhere
 *   device_type,signature,partition,fwd_s,bwd_s          <- header, first
 *   P100,"conv2d k3x3 ... in[64,64,56,56]",[16;64;56;56],1.2e-4,2.5e-4
 * Fields may be double-quoted ("" inside quotes is one quote); the signature
 * is, since it holds commas. partition = the task's output sizes, 1 to
 * SOAP_MAX_DIMS integers >= 1, ';'-separated in brackets. Times are seconds
 * in [0, SOAP_COST_TIME_MAX). A file with no rows at all (empty, or comments
 * only) is an empty table.
 *
 * Any malformed row fails the whole file with "path:line: expected ...,
 * got ..." (SOAP_ERR_PARSE): the reader stops at the first one, and callers
 * throw away what they collected.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "soap_core.h"

#define TABLE_HEADER SOAP_COST_TABLE_HEADER
#define NFIELDS 5

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

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */
static const char *const field_names[NFIELDS] = {"device_type", "signature", "partition",
                                                 "fwd_s", "bwd_s"};

/* A short, printable excerpt of a field for messages (control characters
 * and backslashes escaped). */
static const char *excerpt(const char *s, char *buf, size_t len)
{
    return soap_name_escape(s, buf, len);
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

/* A number filling the field: 1 and *out, or 0. Range checks are the
 * caller's (so that it can say which range). */
static int parse_number(const char *s, double *out)
{
    if (*s == '\0')
        return 0;
    char *end;
    double v = strtod(s, &end); /* overflow gives inf: out of range, said so */
    if (*end != '\0')
        return 0;
    *out = v;
    return 1;
}

int soap_cost_time_ok(double t)
{
    return isfinite(t) && t >= 0 && t < SOAP_COST_TIME_MAX;
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

/* One data row: fields checked, then handed to fn. Errors name path:line. */
static soap_status parse_row(char *line, const char *path, long lineno, soap_cost_row_fn fn,
                             void *arg, soap_error *err)
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
        if (!parse_number(f[3 + k], dst[k]))
            return soap_error_set(err, SOAP_ERR_PARSE,
                                  "%s:%ld: expected a time in seconds in [0, %g) for %s, got "
                                  "\"%s\"",
                                  path, lineno, SOAP_COST_TIME_MAX, field_names[3 + k],
                                  excerpt(f[3 + k], ex, sizeof ex));
        if (!soap_cost_time_ok(*dst[k]))
            return soap_error_set(err, SOAP_ERR_PARSE,
                                  "%s:%ld: %s %s is out of range: expected a time in seconds "
                                  "in [0, %g)",
                                  path, lineno, field_names[3 + k],
                                  excerpt(f[3 + k], ex, sizeof ex), SOAP_COST_TIME_MAX);
    }
    soap_status st = fn(arg, f[0], f[1], &part, cost, err);
    if (st != SOAP_OK)
        soap_error_prefix(err, "%s:%ld", path, lineno);
    return st;
}

soap_status soap_cost_table_read(const char *path, soap_cost_row_fn fn, void *arg,
                                 soap_error *err)
{
    if (!path || !fn)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "soap_cost_table_read: expected a path and a row function");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return soap_error_set(err, SOAP_ERR_IO, "%s: is a directory, expected a cost table file",
                              path);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return soap_error_set(err, SOAP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
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
        status = parse_row(line, path, lineno, fn, arg, err);
        if (status != SOAP_OK)
            break;
    }
    if (status == SOAP_OK && ferror(fp))
        status = soap_error_set(err, SOAP_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    free(line);
    fclose(fp);
    return status;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
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

/* Checks one row before it is written; `where` names the file. */
static soap_status check_row(const char *where, const char *device_type,
                             const char *signature, const soap_shape *part,
                             soap_task_cost cost, soap_error *err)
{
    char ex[96];
    if (!device_type || !signature || !part)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "%s: expected a device type, a signature and a partition, "
                              "got NULL", where);
    if (device_type[0] == '\0' || has_control(device_type))
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "%s: expected a device type name without control characters, "
                              "got \"%s\"",
                              where, excerpt(device_type, ex, sizeof ex));
    if (signature[0] == '\0' || has_control(signature))
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "%s: expected a signature without control characters, got "
                              "\"%s\"",
                              where, excerpt(signature, ex, sizeof ex));
    if (part->ndims < 1 || part->ndims > SOAP_MAX_DIMS)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "%s: expected a partition of 1 to %d dims, got %d", where,
                              SOAP_MAX_DIMS, part->ndims);
    for (int d = 0; d < part->ndims; d++)
        if (part->size[d] < 1)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "%s: expected partition sizes >= 1, got %lld in dim %d",
                                  where, (long long)part->size[d], d);
    if (!soap_cost_time_ok(cost.fwd_s) || !soap_cost_time_ok(cost.bwd_s))
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "%s: expected times in seconds in [0, %g), got fwd %g bwd %g",
                              where, SOAP_COST_TIME_MAX, cost.fwd_s, cost.bwd_s);
    return SOAP_OK;
}

void soap_cost_table_write_header(FILE *f)
{
    SOAP_ASSERT(f);
    fputs(TABLE_HEADER "\n", f);
}

soap_status soap_cost_table_write_row(FILE *f, const char *where, const char *device_type,
                                      const char *signature, const soap_shape *part,
                                      soap_task_cost cost, soap_error *err)
{
    SOAP_ASSERT(f);
    soap_status st = check_row(where ? where : "cost table", device_type, signature, part,
                               cost, err);
    if (st != SOAP_OK)
        return st;
    char ptext[128];
    write_field(f, device_type, 0);
    fputc(',', f);
    write_field(f, signature, 1);
    /* %.17g: the value read back is the value written. */
    fprintf(f, ",%s,%.17g,%.17g\n", soap_cost_partition_str(part, ptext, sizeof ptext),
            cost.fwd_s, cost.bwd_s);
    return SOAP_OK;
}

soap_status soap_cost_table_append(const char *path, const char *device_type,
                                   const char *signature, const soap_shape *part,
                                   soap_task_cost cost, soap_error *err)
{
    if (!path)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "soap_cost_table_append: expected a path, got NULL");
    soap_status st = check_row(path, device_type, signature, part, cost, err);
    if (st != SOAP_OK)
        return st;
    FILE *fp = fopen(path, "a");
    if (!fp)
        return soap_error_set(err, SOAP_ERR_IO, "%s: cannot open for appending: %s", path,
                              strerror(errno));
    /* A new (or empty) file starts with the header line. */
    if (fseek(fp, 0, SEEK_END) == 0 && ftell(fp) == 0)
        soap_cost_table_write_header(fp);
    st = soap_cost_table_write_row(fp, path, device_type, signature, part, cost, err);
    int bad = ferror(fp);
    int e = errno;
    if (fclose(fp) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (st == SOAP_OK && bad)
        st = soap_error_set(err, SOAP_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    return st;
}
