/* cost_table.c: the "table" cost provider: a measured cost table (the file
 * format is core's, core/cost_table.c) held in a hash by (device type,
 * signature, partition).
 *
 * A key given twice keeps the later row: re-profiling appends, and the
 * newest figure wins. The device types of the rows are kept in a growable
 * list (any number, any length), so that a table is refused as "for other
 * devices" only when none of its types is the machine's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost_internal.h"

#define uthash_malloc(sz) soap_xmalloc(sz)
#define uthash_free(ptr, sz) free(ptr)
#include <uthash.h>

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
    int ntypes, cap_types;
    char **types;     /* the distinct device types of the rows, in file order, owned */
} cost_table;

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
    for (int i = 0; i < t->ntypes; i++)
        free(t->types[i]);
    free(t->types);
    free(t);
}

/* 1 if `type` is one of the table's device types (tables hold a handful:
 * a linear scan). */
static int has_type(const cost_table *t, const char *type)
{
    for (int i = 0; i < t->ntypes; i++)
        if (strcmp(t->types[i], type) == 0)
            return 1;
    return 0;
}

static void note_type(cost_table *t, const char *type)
{
    if (has_type(t, type))
        return;
    if (t->ntypes == t->cap_types) {
        t->cap_types = t->cap_types ? 2 * t->cap_types : 4;
        t->types = soap_xrealloc(t->types, (size_t)t->cap_types * sizeof *t->types);
    }
    t->types[t->ntypes++] = soap_xstrdup(type);
}

static soap_status add_row(void *arg, const char *device_type, const char *signature,
                           const soap_shape *part, soap_task_cost cost, soap_error *err)
{
    cost_table *t = arg;
    char ptext[128];
    soap_cost_partition_str(part, ptext, sizeof ptext);
    char *key = make_key(device_type, signature, ptext);
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
    note_type(t, device_type);
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
    cost_table *t = soap_xcalloc(1, sizeof *t);
    if (soap_cost_table_read(arg, add_row, t, err) != SOAP_OK) {
        table_free(t); /* nothing half-read is used */
        return NULL;
    }
    return t;
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

/* `types` is for the message only: ", "-separated, escaped, cut with "..."
 * when it does not fit; the answer comes from the whole list. */
static int table_has_device(void *ctx, const char *type, char *types, size_t len)
{
    const cost_table *t = ctx;
    SOAP_ASSERT(len > 0);
    types[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < t->ntypes; i++) {
        char name[SOAP_NAME_MAX * 4];
        soap_name_escape(t->types[i], name, sizeof name);
        size_t n = strlen(name) + (i ? 2 : 0);
        if (used + n + 5 >= len) { /* keep room for ", ..." */
            snprintf(types + used, len - used, "%s...", i ? ", " : "");
            break;
        }
        used += (size_t)snprintf(types + used, len - used, "%s%s", i ? ", " : "", name);
    }
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
