/* costs.c: the registry of cost providers and soap_costs, the costs a
 * simulation uses: the measured table first, the analytic model otherwise,
 * behind a cache.
 *
 * A soap_costs is a handle on two things:
 *  - the loaded providers (the table read from its file, the analytic
 *    model): `cost_set`, immutable once soap_costs_new has made it, shared
 *    by every handle made from it with soap_costs_share and freed with the
 *    last of them (an atomic reference count, so handles may be freed on
 *    any thread). Providers' lookups only read their state, so handles on
 *    different threads may look up through one set at the same time.
 *  - a cache of its own (below), which is what makes a look-up cheap and
 *    what makes a handle not thread-safe: one handle per thread. A
 *    simulator looks up through the handle it was made with, and a clone
 *    of it (soap_sim_clone) through a soap_costs_share handle of its own,
 *    so a clone on another thread neither re-reads the table nor shares a
 *    cache.
 *
 * A task's cost is a function of (device type, op signature, partition
 * sizes) only. The region handed to the providers is the canonical one with
 * those sizes, anchored at the output's origin (the first task's block), not
 * the task's own region: a convolution's border blocks read less halo than
 * inner ones, and if the cached figure came from whichever block was looked
 * up first, a simulation's result would depend on the order of look-ups
 * (and delta simulation would drift from full simulation). For the same
 * reason handles sharing a set give the same costs whatever their caches
 * hold.
 *
 * Two caches per handle, both uthash:
 *  - signatures per (graph, op id): soap_op_signature formats strings and is
 *    the costly part of a look-up. The cache holds one graph at a time and
 *    is cleared when another graph (pointer or op count) is seen. Each entry
 *    also keeps a stamp (hash of the op's kind, parameters and input shapes)
 *    so that a new graph allocated where a freed one was is not trusted.
 *    Signatures are interned: equal strings share one copy, which the cost
 *    key points to.
 *  - costs per (device type, signature, partition sizes). The device type
 *    enters by name and figures (peak, bandwidth, launch overhead), not by
 *    pointer, for the same reason.
 * Misses allocate; hits do not.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cost_internal.h"

#define uthash_malloc(sz) soap_xmalloc(sz)
#define uthash_free(ptr, sz) free(ptr)
#include <uthash.h>

/* ------------------------------------------------------------------ */
/* Registry                                                            */
/* ------------------------------------------------------------------ */
static const soap_cost_ops *const registry[] = {
    &soap_cost_provider_table,
    &soap_cost_provider_analytic,
    NULL,
};

const soap_cost_ops *const *soap_cost_registry(void)
{
    return registry;
}

const soap_cost_ops *soap_cost_find(const char *name)
{
    if (!name)
        return NULL;
    for (int k = 0; registry[k]; k++)
        if (strcmp(registry[k]->name, name) == 0)
            return registry[k];
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Caches                                                              */
/* ------------------------------------------------------------------ */
/* Longest signature kept; soap_op_signature truncates beyond it, and a
 * signature that long would also not fit a table's key meaningfully. */
#define SIG_MAX 1024

typedef struct interned {
    char *s; /* owned */
    UT_hash_handle hh;
} interned;

typedef struct sig_slot {
    uint64_t stamp;  /* 0: empty */
    const char *sig; /* interned */
} sig_slot;

/* Key of a cost: memset to 0 before filling, compared as bytes. */
typedef struct cost_key {
    const char *sig; /* interned: equal signatures, equal pointers */
    char dev_name[SOAP_NAME_MAX];
    double peak_flops, mem_bandwidth, launch_overhead;
    int ndims;
    int64_t size[SOAP_MAX_DIMS];
} cost_key;

typedef struct cost_entry {
    cost_key key;
    soap_task_cost cost;
    int measured;
    UT_hash_handle hh;
} cost_entry;

typedef struct provider {
    const soap_cost_ops *ops;
    void *ctx;
} provider;

#define MAX_PROVIDERS 2

/* The loaded providers: written by soap_costs_new only, then read-only. */
typedef struct cost_set {
    provider prov[MAX_PROVIDERS]; /* in order of precedence */
    int nprov;
    char *table_path;             /* for messages, owned; NULL without */
    atomic_int refs;              /* handles on this set */
} cost_set;

struct soap_costs {
    cost_set *set;                /* shared, one reference */
    /* the cache: this handle's alone */
    interned *strings;            /* uthash of interned signatures */
    const soap_graph *graph;      /* whose signatures `sigs` holds */
    int nsigs;
    sig_slot *sigs;               /* per op id */
    cost_entry *costs;            /* uthash */
    long measured, analytic;      /* distinct entries by source */
};

static void set_release(cost_set *set)
{
    if (atomic_fetch_sub_explicit(&set->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (int k = 0; k < set->nprov; k++)
        set->prov[k].ops->destroy(set->prov[k].ctx);
    free(set->table_path);
    free(set);
}

/* A handle with an empty cache on `set` (which it takes a reference of). */
static soap_costs *handle_new(cost_set *set)
{
    soap_costs *c = soap_xcalloc(1, sizeof *c);
    atomic_fetch_add_explicit(&set->refs, 1, memory_order_relaxed);
    c->set = set;
    return c;
}

soap_costs *soap_costs_new(const char *table_path, soap_error *err)
{
    /* c: the set being loaded; the caller gets a handle on it. */
    cost_set *c = soap_xcalloc(1, sizeof *c);
    atomic_init(&c->refs, 1);
    c->table_path = table_path ? soap_xstrdup(table_path) : NULL;
    const char *names[MAX_PROVIDERS] = {table_path ? "table" : NULL, "analytic"};
    const char *args[MAX_PROVIDERS] = {table_path, NULL};
    for (int k = 0; k < MAX_PROVIDERS; k++) {
        if (!names[k])
            continue;
        const soap_cost_ops *ops = soap_cost_find(names[k]);
        SOAP_ASSERT(ops != NULL);
        void *ctx = ops->create(args[k], err);
        if (!ctx) {
            set_release(c);
            return NULL;
        }
        c->prov[c->nprov].ops = ops;
        c->prov[c->nprov].ctx = ctx;
        c->nprov++;
    }
    soap_costs *h = handle_new(c);
    set_release(c); /* the handle holds it now */
    return h;
}

soap_costs *soap_costs_share(const soap_costs *c)
{
    SOAP_ASSERT(c);
    return handle_new(c->set);
}

void soap_costs_free(soap_costs *c)
{
    if (!c)
        return;
    cost_entry *e, *etmp;
    HASH_ITER(hh, c->costs, e, etmp) {
        HASH_DEL(c->costs, e);
        free(e);
    }
    interned *s, *stmp;
    HASH_ITER(hh, c->strings, s, stmp) {
        HASH_DEL(c->strings, s);
        free(s->s);
        free(s);
    }
    free(c->sigs);
    set_release(c->set);
    free(c);
}

/* soap_costs_check_machine on the shared set (what it checks is loaded
 * once, whichever handle asks). */
static soap_status set_check_machine(const cost_set *c, const soap_machine *m,
                                     soap_error *err)
{
    SOAP_ASSERT(c && m);
    for (int k = 0; k < c->nprov; k++) {
        const soap_cost_ops *ops = c->prov[k].ops;
        if (!ops->has_device)
            continue;
        char types[256], mtypes[256] = "";
        int any = 0;
        for (int t = 0; t < m->ntypes; t++) {
            any |= ops->has_device(c->prov[k].ctx, m->types[t].name, types, sizeof types);
            size_t used = strlen(mtypes);
            snprintf(mtypes + used, sizeof mtypes - used, "%s%s", t ? ", " : "",
                     m->types[t].name);
        }
        if (!any)
            return soap_error_set(err, SOAP_ERR_MISMATCH,
                                  "%s: a cost table for other devices: machine '%s' has "
                                  "device type %s, the table has rows for %s",
                                  c->table_path ? c->table_path : "cost table", m->name,
                                  mtypes, types);
    }
    return SOAP_OK;
}

soap_status soap_costs_check_machine(const soap_costs *c, const soap_machine *m,
                                     soap_error *err)
{
    SOAP_ASSERT(c && m);
    return set_check_machine(c->set, m, err);
}

static const char *intern(soap_costs *c, const char *s)
{
    interned *e = NULL;
    HASH_FIND_STR(c->strings, s, e);
    if (e)
        return e->s;
    e = soap_xcalloc(1, sizeof *e);
    e->s = soap_xstrdup(s);
    HASH_ADD_KEYPTR(hh, c->strings, e->s, strlen(e->s), e);
    return e->s;
}

/* A word-at-a-time mixer for the stamps below: byte-wise FNV-1a was most
 * of a cached look-up's time. */
static uint64_t mix_words(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    while (n > 0) {
        uint64_t w = 0;
        size_t k = n < sizeof w ? n : sizeof w;
        memcpy(&w, p, k);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
        p += k;
        n -= k;
    }
    return h;
}

/* What the signature of an op depends on: its kind, its parameters and its
 * inputs' sizes. Never 0 (0 marks an empty slot). */
static uint64_t op_stamp(const soap_graph *g, int op)
{
    const soap_op *o = &g->ops[op];
    uint64_t h = 0x243f6a8885a308d3ULL;
    int head[2] = {(int)o->kind, o->ninputs};
    h = mix_words(h, head, sizeof head);
    h = mix_words(h, &o->p, sizeof o->p);
    for (int i = 0; i < o->ninputs; i++) {
        const soap_shape *s = &g->ops[o->inputs[i]].out;
        h = mix_words(h, s->size, (size_t)s->ndims * sizeof s->size[0]);
        h = mix_words(h, &s->ndims, sizeof s->ndims);
    }
    return h ? h : 1;
}

static const char *signature_of(soap_costs *c, const soap_graph *g, int op)
{
    if (c->graph != g || c->nsigs != g->nops) {
        free(c->sigs);
        c->graph = g;
        c->nsigs = g->nops;
        c->sigs = soap_xcalloc((size_t)(g->nops > 0 ? g->nops : 1), sizeof *c->sigs);
    }
    uint64_t stamp = op_stamp(g, op);
    sig_slot *slot = &c->sigs[op];
    if (slot->stamp != stamp) {
        char buf[SIG_MAX];
        soap_op_signature(g, op, buf, sizeof buf);
        slot->sig = intern(c, buf);
        slot->stamp = stamp;
    }
    return slot->sig;
}

soap_task_cost soap_costs_task(soap_costs *c, const soap_graph *g, int op,
                               const soap_region *region, const soap_device_type *dev)
{
    SOAP_ASSERT(c && g && op >= 0 && op < g->nops && region && dev);
    const soap_op *o = &g->ops[op];
    SOAP_ASSERT(region->ndims == o->out.ndims);
    soap_task_cost zero = {0, 0};
    if (soap_region_empty(region))
        return zero;

    cost_key key;
    memset(&key, 0, sizeof key);
    key.sig = signature_of(c, g, op);
    /* (not snprintf: this is the hit path) */
    memcpy(key.dev_name, dev->name, strnlen(dev->name, sizeof key.dev_name - 1));
    key.peak_flops = dev->peak_flops;
    key.mem_bandwidth = dev->mem_bandwidth;
    key.launch_overhead = dev->launch_overhead;
    key.ndims = region->ndims;
    for (int d = 0; d < region->ndims; d++)
        key.size[d] = region->hi[d] - region->lo[d];

    cost_entry *e = NULL;
    HASH_FIND(hh, c->costs, &key, sizeof key, e);
    if (e)
        return e->cost;

    /* The canonical region of these sizes: at the origin. */
    soap_region canon;
    memset(&canon, 0, sizeof canon);
    canon.ndims = region->ndims;
    soap_shape part = o->out;
    for (int d = 0; d < region->ndims; d++) {
        canon.lo[d] = 0;
        canon.hi[d] = key.size[d];
        part.size[d] = key.size[d];
    }
    e = soap_xcalloc(1, sizeof *e);
    e->key = key;
    int found = 0;
    const cost_set *set = c->set;
    for (int k = 0; k < set->nprov && !found; k++) {
        if (set->prov[k].ops->lookup(set->prov[k].ctx, dev, key.sig, &part, g, op, &canon,
                                     &e->cost)) {
            found = 1;
            e->measured = set->prov[k].ops != &soap_cost_provider_analytic;
        }
    }
    SOAP_ASSERT(found); /* the analytic provider always answers */
    if (e->measured)
        c->measured++;
    else
        c->analytic++;
    HASH_ADD(hh, c->costs, key, sizeof e->key, e);
    return e->cost;
}

void soap_costs_counts(const soap_costs *c, long *measured, long *analytic)
{
    SOAP_ASSERT(c);
    if (measured)
        *measured = c->measured;
    if (analytic)
        *analytic = c->analytic;
}
