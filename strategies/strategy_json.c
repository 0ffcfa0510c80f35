/* strategy_json.c: strategy files (soap_strategy_read_json and
 * soap_strategy_write_json, with jansson).
 *
 * Format:
 *
 *   {"format": "soap-strategy", "version": 1,
 *    "model": "nmt", "model_fingerprint": "0123456789abcdef",
 *    "machine": "k80x64", "machine_fingerprint": "fedcba9876543210",
 *    "devices": 64,
 *    "ops": [
 *     {"name": "conv1", "degrees": [4, 1, 1, 1], "devices": [0, 1, 2, 3]},
 *     ...]}
 *
 * Every key is required and no other is allowed (a typo must not pass
 * silently). "model" and "machine" are names, for messages only; the
 * fingerprints (16 lowercase or uppercase hex digits: soap_graph_fingerprint
 * and soap_machine_fingerprint) and "devices" decide whether the file fits
 * the graph and machine given; if not, the error is SOAP_ERR_MISMATCH and
 * names both. "ops" lists every op of the graph exactly once, by name, in any
 * order; "degrees" has one integer per output dim of the op and "devices" one
 * device id per task (the product of the degrees), tasks in row-major order
 * of their multi-index (dim 0 slowest).
 *
 * Errors name the file and the place: "s.json:3:14: ..." for malformed JSON
 * (jansson's line and column), "s.json: ops[3]: ..." for an entry. Nothing
 * half-built is returned. Writing emits one op per line in op id order.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "soap_strategies.h"

#define STRATEGY_FORMAT "soap-strategy"
#define STRATEGY_VERSION 1

static const char *const top_keys[] = {
    "format", "version", "model", "model_fingerprint", "machine", "machine_fingerprint",
    "devices", "ops", NULL};
static const char *const op_keys[] = {"name", "degrees", "devices", NULL};

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */
typedef struct reader {
    const char *path;
    soap_error *err;
} reader;

/* An error "path: message" with status code. */
static soap_status fail(const reader *r, soap_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static soap_status fail(const reader *r, soap_status code, const char *fmt, ...)
{
    char msg[SOAP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return soap_error_set(r->err, code, "%s: %s", r->path, msg);
}

static int key_known(const char *key, const char *const *keys)
{
    for (const char *const *k = keys; *k; k++)
        if (strcmp(*k, key) == 0)
            return 1;
    return 0;
}

/* "a, b, c" of a key list, for messages. */
static void key_list(const char *const *keys, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const char *const *k = keys; *k && used + 1 < len; k++) {
        int w = snprintf(buf + used, len - used, "%s%s", k == keys ? "" : ", ", *k);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* Every key of obj is one of `keys` and every one of `keys` is present.
 * `where` is "" for the top level or "ops[3]: " for an entry. */
static soap_status check_keys(const reader *r, json_t *obj, const char *const *keys,
                              const char *where)
{
    char list[256];
    key_list(keys, list, sizeof list);
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (!key_known(key, keys)) {
            char ek[SOAP_NAME_MAX * 4];
            return fail(r, SOAP_ERR_PARSE, "%sunknown key '%s' (expected: %s)", where,
                        soap_name_escape(key, ek, sizeof ek), list);
        }
    }
    for (const char *const *k = keys; *k; k++)
        if (!json_object_get(obj, *k))
            return fail(r, SOAP_ERR_PARSE, "%smissing key '%s' (expected: %s)", where, *k,
                        list);
    return SOAP_OK;
}

/* A string of 1..SOAP_NAME_MAX-1 characters. */
static soap_status get_name(const reader *r, json_t *obj, const char *key,
                            const char *where, char out[SOAP_NAME_MAX])
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v) || json_string_length(v) < 1 ||
        json_string_length(v) >= SOAP_NAME_MAX)
        return fail(r, SOAP_ERR_PARSE, "%s\"%s\": expected a name of 1..%d characters", where,
                    key, SOAP_NAME_MAX - 1);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return SOAP_OK;
}

static soap_status get_fingerprint(const reader *r, json_t *root, const char *key,
                                   uint64_t *out)
{
    json_t *v = json_object_get(root, key);
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    uint64_t h = 0;
    int ok = s && json_string_length(v) == 16;
    for (int i = 0; ok && i < 16; i++) {
        char c = s[i];
        int digit = (c >= '0' && c <= '9')   ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : -1;
        if (digit < 0)
            ok = 0;
        else
            h = (h << 4) | (uint64_t)digit;
    }
    if (!ok)
        return fail(r, SOAP_ERR_PARSE, "\"%s\": expected 16 hexadecimal digits", key);
    *out = h;
    return SOAP_OK;
}

/* An integer in [lo, hi]. */
static soap_status get_int(const reader *r, json_t *v, const char *what, long long lo,
                           long long hi, int *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return fail(r, SOAP_ERR_PARSE, "%s: expected an integer in %lld..%lld", what, lo, hi);
    *out = (int)json_integer_value(v);
    return SOAP_OK;
}

/* Fills c from entry ops[i] (for op `op`), then checks it. */
static soap_status read_config(const reader *r, json_t *entry, int i, const soap_graph *g,
                               int op, int ndevices, soap_config *c)
{
    const soap_op *o = &g->ops[op];
    char what[SOAP_NAME_MAX + 64];
    json_t *deg = json_object_get(entry, "degrees");
    json_t *dev = json_object_get(entry, "devices");
    if (!json_is_array(deg) || (int)json_array_size(deg) != o->out.ndims)
        return fail(r, SOAP_ERR_PARSE,
                    "ops[%d]: op '%s': \"degrees\": expected an array of %d integers (one per "
                    "output dim)",
                    i, o->name, o->out.ndims);
    *c = soap_config_single(g, op, 0);
    int64_t product = 1;
    for (int d = 0; d < o->out.ndims; d++) {
        snprintf(what, sizeof what, "ops[%d]: op '%s': degrees[%d]", i, o->name, d);
        soap_status st = get_int(r, json_array_get(deg, (size_t)d), what, 1, SOAP_MAX_TASKS,
                                 &c->degree[d]);
        if (st != SOAP_OK)
            return st;
        product *= c->degree[d];
    }
    if (product > SOAP_MAX_TASKS)
        return fail(r, SOAP_ERR_INVALID,
                    "ops[%d]: op '%s': the degrees make %lld tasks, at most %d allowed", i,
                    o->name, (long long)product, SOAP_MAX_TASKS);
    c->ntasks = (int)product;
    if (!json_is_array(dev) || (int64_t)json_array_size(dev) != product)
        return fail(r, SOAP_ERR_PARSE,
                    "ops[%d]: op '%s': \"devices\": expected an array of %lld device ids (one "
                    "per task)",
                    i, o->name, (long long)product);
    for (int t = 0; t < c->ntasks; t++) {
        snprintf(what, sizeof what, "ops[%d]: op '%s': devices[%d]", i, o->name, t);
        int d = 0;
        /* Range for int16_t here; soap_config_check below names the machine's. */
        soap_status st =
            get_int(r, json_array_get(dev, (size_t)t), what, 0, SOAP_MAX_DEVICES - 1, &d);
        if (st != SOAP_OK)
            return st;
        c->device[t] = (int16_t)d;
    }
    soap_status st = soap_config_check(g, op, c, ndevices, r->err);
    if (st != SOAP_OK)
        return soap_error_prefix(r->err, "%s: ops[%d]", r->path, i);
    return SOAP_OK;
}

static soap_status read_ops(const reader *r, json_t *ops, const soap_graph *g,
                            soap_strategy *s)
{
    if (!json_is_array(ops))
        return fail(r, SOAP_ERR_PARSE, "\"ops\": expected an array of ops");
    /* where[op] = index in "ops" where the op was given, -1 until then */
    int *where = soap_xmalloc((size_t)(g->nops ? g->nops : 1) * sizeof *where);
    for (int k = 0; k < g->nops; k++)
        where[k] = -1;
    soap_status st = SOAP_OK;
    size_t i;
    json_t *e;
    json_array_foreach(ops, i, e) {
        char at[48];
        snprintf(at, sizeof at, "ops[%zu]: ", i);
        if (!json_is_object(e)) {
            st = fail(r, SOAP_ERR_PARSE, "ops[%zu]: expected an object with name, degrees "
                                         "and devices", i);
            break;
        }
        if ((st = check_keys(r, e, op_keys, at)) != SOAP_OK)
            break;
        char name[SOAP_NAME_MAX];
        if ((st = get_name(r, e, "name", at, name)) != SOAP_OK)
            break;
        int op = soap_graph_find(g, name);
        char en[SOAP_NAME_MAX * 4]; /* names from the file are printed escaped */
        soap_name_escape(name, en, sizeof en);
        if (op < 0) {
            st = fail(r, SOAP_ERR_INVALID, "ops[%zu]: unknown op '%s' (model '%s' has no op "
                                           "of that name)", i, en, g->name);
            break;
        }
        if (where[op] >= 0) {
            st = fail(r, SOAP_ERR_INVALID, "ops[%zu]: duplicate op '%s' (already given at "
                                           "ops[%d]); expected every op once", i, en,
                      where[op]);
            break;
        }
        where[op] = (int)i;
        if ((st = read_config(r, e, (int)i, g, op, s->ndevices, &s->configs[op])) != SOAP_OK)
            break;
    }
    if (st == SOAP_OK) {
        int missing = 0, first = -1;
        for (int k = 0; k < g->nops; k++)
            if (where[k] < 0) {
                if (first < 0)
                    first = k;
                missing++;
            }
        if (missing)
            st = fail(r, SOAP_ERR_INVALID, "missing op '%s'%s (expected every op of model "
                                           "'%s' once; %d missing)",
                      g->ops[first].name, missing > 1 ? " and others" : "", g->name, missing);
    }
    free(where);
    return st;
}

static soap_status read_root(const reader *r, json_t *root, const soap_graph *g,
                             const soap_machine *m, soap_strategy *s)
{
    if (!json_is_object(root))
        return fail(r, SOAP_ERR_PARSE, "expected a JSON object at the top level");
    soap_status st = check_keys(r, root, top_keys, "");
    if (st != SOAP_OK)
        return st;
    json_t *fmt = json_object_get(root, "format");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), STRATEGY_FORMAT) != 0)
        return fail(r, SOAP_ERR_PARSE, "\"format\": expected \"%s\"", STRATEGY_FORMAT);
    json_t *ver = json_object_get(root, "version");
    if (!json_is_integer(ver) || json_integer_value(ver) != STRATEGY_VERSION)
        return fail(r, SOAP_ERR_PARSE, "\"version\": expected %d", STRATEGY_VERSION);
    char model[SOAP_NAME_MAX], machine[SOAP_NAME_MAX];
    uint64_t mfp = 0, hfp = 0;
    int ndev = 0;
    if ((st = get_name(r, root, "model", "", model)) != SOAP_OK ||
        (st = get_name(r, root, "machine", "", machine)) != SOAP_OK ||
        (st = get_fingerprint(r, root, "model_fingerprint", &mfp)) != SOAP_OK ||
        (st = get_fingerprint(r, root, "machine_fingerprint", &hfp)) != SOAP_OK ||
        (st = get_int(r, json_object_get(root, "devices"), "\"devices\"", 1,
                      SOAP_MAX_DEVICES, &ndev)) != SOAP_OK)
        return st;
    /* The file must have been made for this graph and machine; say so before
     * anything about its ops, which would only be a symptom. The names it
     * gives are printed escaped. */
    char emodel[SOAP_NAME_MAX * 4], emachine[SOAP_NAME_MAX * 4];
    soap_name_escape(model, emodel, sizeof emodel);
    soap_name_escape(machine, emachine, sizeof emachine);
    if (mfp != s->model_fp && (hfp != s->machine_fp || ndev != m->ndevices))
        return fail(r, SOAP_ERR_MISMATCH,
                    "strategy was made for model '%s' on machine '%s' (%d devices), not for "
                    "model '%s' on machine '%s' (%d devices)",
                    emodel, emachine, ndev, g->name, m->name, m->ndevices);
    if (mfp != s->model_fp)
        return fail(r, SOAP_ERR_MISMATCH,
                    "strategy was made for model '%s' (fingerprint %016" PRIx64
                    ") but the model given is '%s' (fingerprint %016" PRIx64 ")%s",
                    emodel, mfp, g->name, s->model_fp,
                    strcmp(model, g->name) == 0
                        ? ": same name, another structure or batch size (give the --batch "
                          "it was made with)"
                        : "");
    if (hfp != s->machine_fp || ndev != m->ndevices)
        return fail(r, SOAP_ERR_MISMATCH,
                    "strategy was made for machine '%s' (fingerprint %016" PRIx64
                    ", %d devices) but the machine given is '%s' (fingerprint %016" PRIx64
                    ", %d devices)",
                    emachine, hfp, ndev, m->name, s->machine_fp, m->ndevices);
    return read_ops(r, json_object_get(root, "ops"), g, s);
}

soap_strategy *soap_strategy_read_json(const char *path, const soap_graph *g,
                                       const soap_machine *m, soap_error *err)
{
    if (!path || !g || !m) {
        soap_error_set(err, SOAP_ERR_INVALID,
                       "strategy file: expected a path, a graph and a machine");
        return NULL;
    }
    json_t *root = soap_json_load_file(path, "strategy", err);
    if (!root)
        return NULL;
    reader r = {.path = path, .err = err};
    soap_strategy *s = soap_strategy_new(g, m);
    soap_status st = read_root(&r, root, g, m, s);
    json_decref(root);
    if (st != SOAP_OK) {
        soap_strategy_free(s);
        return NULL;
    }
    /* The names stay those of the graph and machine given (read_root checked
     * that the file was made for them). */
    return s;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */
typedef struct text {
    char *buf;
    size_t len, cap;
} text;

static void put(text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void put(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        SOAP_ASSERT(w >= 0);
        if ((size_t)w < t->cap - t->len) {
            t->len += (size_t)w;
            return;
        }
        t->cap = 2 * t->cap + (size_t)w + 1;
        t->buf = soap_xrealloc(t->buf, t->cap);
    }
}

/* A JSON string literal (jansson's escaping) appended to t. */
static void put_string(text *t, const char *s)
{
    json_t *v = json_string(s);
    SOAP_ASSERT(v); /* names are valid UTF-8: the graph checked them */
    char *lit = json_dumps(v, JSON_ENCODE_ANY);
    SOAP_ASSERT(lit);
    put(t, "%s", lit ? lit : "\"\""); /* lit is never NULL past the assert */
    free(lit);
    json_decref(v);
}

soap_status soap_strategy_write_json(const soap_strategy *s, const soap_graph *g,
                                     const char *path, soap_error *err)
{
    if (!s || !g || !path)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "strategy file: expected a strategy, a graph and a path");
    uint64_t gfp = soap_graph_fingerprint(g);
    if (s->nops != g->nops || s->model_fp != gfp)
        return soap_error_set(err, SOAP_ERR_MISMATCH,
                              "%s: strategy was made for model '%s' (fingerprint %016" PRIx64
                              ") but the model given is '%s' (fingerprint %016" PRIx64 ")",
                              path, s->model, s->model_fp, g->name, gfp);
    text t = {soap_xmalloc(4096), 0, 4096};
    put(&t, "{\"format\": \"%s\", \"version\": %d,\n \"model\": ", STRATEGY_FORMAT,
        STRATEGY_VERSION);
    put_string(&t, s->model);
    put(&t, ", \"model_fingerprint\": \"%016" PRIx64 "\",\n \"machine\": ", s->model_fp);
    put_string(&t, s->machine);
    put(&t, ", \"machine_fingerprint\": \"%016" PRIx64 "\",\n \"devices\": %d,\n \"ops\": [",
        s->machine_fp, s->ndevices);
    for (int i = 0; i < g->nops; i++) {
        const soap_config *c = &s->configs[i];
        SOAP_ASSERT(c->ntasks >= 1 && c->ntasks <= SOAP_MAX_TASKS);
        put(&t, "%s\n  {\"name\": ", i ? "," : "");
        put_string(&t, g->ops[i].name);
        put(&t, ", \"degrees\": [");
        for (int d = 0; d < c->ndims; d++)
            put(&t, "%s%d", d ? ", " : "", c->degree[d]);
        put(&t, "], \"devices\": [");
        for (int k = 0; k < c->ntasks; k++)
            put(&t, "%s%d", k ? ", " : "", c->device[k]);
        put(&t, "]}");
    }
    put(&t, "\n ]}\n");
    soap_status st = soap_write_file_atomic(path, t.buf, err);
    free(t.buf);
    return st;
}
