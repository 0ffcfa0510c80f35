/* profile.c: the profiler (soap_profile), which measures the task costs the
 * simulator's `table` provider reads, and Kendall's rank correlation.
 *
 * What is measured: for every op, every degree vector a config of up to
 * m->ndevices tasks can have over any dims (soap_config_degrees), and per
 * degree vector every distinct block shape its tasks get (a dim of size S
 * cut k ways has blocks of floor(S/k) and ceil(S/k)): the distinct (op
 * signature, block sizes) pairs, each measured once. Like the simulator's
 * cost cache, a block is measured at the output's origin (the canonical
 * region of those sizes), on device 0 of the machine, with the inputs,
 * weights and gradients it needs filled with data from the seed. Forward
 * time includes the loss of a SOFTMAX_CE (the runner computes it there);
 * each time is the median of `reps` runs after `warmup` runs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "exec_internal.h"

#define uthash_malloc(sz) soap_xmalloc(sz)
#define uthash_free(ptr, sz) free(ptr)
#include <uthash.h>

typedef struct entry {
    int op;
    int64_t size[SOAP_MAX_DIMS];
    char *sig; /* owned */
} entry;

/* The distinct (signature, sizes) in the order found, and a set of their
 * keys ("signature" US "s0;s1;...") to find repeats. */
typedef struct seen {
    char *key; /* owned */
    UT_hash_handle hh;
} seen;

typedef struct entries {
    int n, cap;
    entry *e;
    seen *set;
} entries;

/* 1 if (sig, part) was there already; else records it. */
static int seen_before(entries *es, const char *sig, const soap_shape *part)
{
    size_t len = strlen(sig) + 2 + (size_t)SOAP_MAX_DIMS * 21;
    char *key = soap_xmalloc(len);
    int n = snprintf(key, len, "%s\x1f", sig);
    for (int d = 0; d < part->ndims; d++)
        n += snprintf(key + n, len - (size_t)n, "%lld;", (long long)part->size[d]);
    seen *x = NULL;
    HASH_FIND_STR(es->set, key, x);
    if (x) {
        free(key);
        return 1;
    }
    x = soap_xcalloc(1, sizeof *x);
    x->key = key;
    HASH_ADD_KEYPTR(hh, es->set, x->key, strlen(x->key), x);
    return 0;
}

static void entries_free(entries *es)
{
    seen *x, *tmp;
    HASH_ITER(hh, es->set, x, tmp) {
        HASH_DEL(es->set, x);
        free(x->key);
        free(x);
    }
    for (int i = 0; i < es->n; i++)
        free(es->e[i].sig);
    free(es->e);
}

/* Every distinct block shape of degree vector deg over shape s. */
static void add_shapes(entries *es, const soap_graph *g, int op, const char *sig,
                       const int *deg)
{
    const soap_shape *s = &g->ops[op].out;
    int64_t alt[SOAP_MAX_DIMS][2];
    int nalt[SOAP_MAX_DIMS];
    for (int d = 0; d < s->ndims; d++) {
        alt[d][0] = s->size[d] / deg[d];
        nalt[d] = 1;
        if (s->size[d] % deg[d]) {
            alt[d][1] = alt[d][0] + 1;
            nalt[d] = 2;
        }
    }
    int idx[SOAP_MAX_DIMS] = {0};
    for (;;) {
        soap_shape part = *s;
        memset(part.size, 0, sizeof part.size);
        for (int d = 0; d < s->ndims; d++)
            part.size[d] = alt[d][idx[d]];
        if (!seen_before(es, sig, &part)) {
            if (es->n == es->cap) {
                es->cap = es->cap ? 2 * es->cap : 256;
                es->e = soap_xrealloc(es->e, (size_t)es->cap * sizeof *es->e);
            }
            entry *e = &es->e[es->n++];
            e->op = op;
            memcpy(e->size, part.size, sizeof e->size);
            e->sig = soap_xstrdup(sig);
        }
        int d = s->ndims - 1;
        while (d >= 0 && idx[d] + 1 == nalt[d]) {
            idx[d] = 0;
            d--;
        }
        if (d < 0)
            return;
        idx[d]++;
    }
}

static void collect(entries *es, const soap_graph *g, int ndevices)
{
    soap_dims_mask all = soap_dims_mask_all();
    for (int op = 0; op < g->nops; op++) {
        char sig[1024];
        soap_op_signature(g, op, sig, sizeof sig);
        int n = soap_config_degrees(g, op, ndevices, &all, NULL, 0);
        int(*deg)[SOAP_MAX_DIMS] = soap_xmalloc((size_t)(n ? n : 1) * sizeof *deg);
        n = soap_config_degrees(g, op, ndevices, &all, deg, n);
        for (int k = 0; k < n; k++)
            add_shapes(es, g, op, sig, deg[k]);
        free(deg);
    }
}

/* What a measurement runs on: device 0 of a backend's context. No runner
 * is involved: blocks come from soap_exec_block_alloc and the kernels are
 * called through the backend directly. */
typedef struct bench {
    const soap_backend_ops *b;
    void *ctx;
    const soap_graph *g;
} bench;

/* A zeroed block over r on device 0. */
static soap_block block0(const bench *x, const soap_region *r)
{
    return soap_exec_block_alloc(x->b, x->ctx, 0, r, NULL);
}

/* A block over r on device 0 holding values of the kind the op reads. */
static soap_block filled(const bench *x, const soap_region *r, gsl_rng *rng, int64_t ids)
{
    soap_block b = block0(x, r);
    int64_t n = soap_region_volume(r);
    float *host = soap_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *host);
    for (int64_t i = 0; i < n; i++)
        host[i] = ids > 0 ? (float)gsl_rng_uniform_int(rng, (unsigned long)ids)
                          : (float)(2.0 * gsl_rng_uniform(rng) - 1.0);
    soap_block h = {host, *r};
    x->b->upload(x->ctx, 0, &b, &h, r);
    free(host);
    return b;
}

/* The vocabulary that the embedding `op` reads ids from, else 0. */
static int64_t ids_of(const soap_graph *g, int op, int i)
{
    const soap_op *o = &g->ops[op];
    const soap_op *p = &g->ops[o->inputs[i]];
    if (p->kind == SOAP_OP_INPUT && p->p.is_index)
        return o->kind == SOAP_OP_EMBEDDING ? o->p.vocab : 2;
    return 0;
}

/* Forward and backward median times of one entry. */
static soap_status measure(const bench *x, const entry *e, const soap_profile_options *opt,
                           gsl_rng *rng, soap_task_cost *cost, soap_error *err)
{
    const soap_graph *g = x->g;
    const soap_op *o = &g->ops[e->op];
    soap_region out;
    memset(&out, 0, sizeof out);
    out.ndims = o->out.ndims;
    for (int d = 0; d < out.ndims; d++)
        out.hi[d] = e->size[d];
    int ni = o->ninputs;
    soap_block *in = soap_xcalloc((size_t)(ni ? ni : 1), sizeof *in);
    soap_block *din = soap_xcalloc((size_t)(ni ? ni : 1), sizeof *din);
    soap_block w[SOAP_MAX_WEIGHTS], dw[SOAP_MAX_WEIGHTS];
    memset(w, 0, sizeof w);
    memset(dw, 0, sizeof dw);
    for (int i = 0; i < ni; i++) {
        soap_region need = soap_op_input_region(g, e->op, i, &out);
        if (soap_region_empty(&need))
            continue;
        int64_t ids = ids_of(g, e->op, i);
        in[i] = filled(x, &need, rng, ids);
        if (!ids && g->ops[o->inputs[i]].kind != SOAP_OP_INPUT)
            din[i] = block0(x, &need);
    }
    for (int k = 0; k < o->nweights; k++) {
        soap_region r = soap_op_weight_region(g, e->op, k, &out);
        if (soap_region_empty(&r))
            continue;
        w[k] = filled(x, &r, rng, 0);
        dw[k] = block0(x, &r);
    }
    soap_block y = block0(x, &out);
    soap_block dy = filled(x, &out, rng, 0);
    soap_block labels = {NULL, out};
    if (o->kind == SOAP_OP_SOFTMAX_CE) {
        soap_region r = out;
        r.ndims--;
        labels = filled(x, &r, rng, o->out.size[o->out.ndims - 1]);
    }
    int warmup = opt->warmup < 0 ? 1 : opt->warmup, reps = opt->reps > 0 ? opt->reps : 5;
    double *tf = soap_xmalloc((size_t)reps * sizeof *tf);
    double *tb = soap_xmalloc((size_t)reps * sizeof *tb);
    soap_status st = SOAP_OK;
    for (int r = 0; r < warmup + reps && st == SOAP_OK; r++) {
        double t0 = x->b->now(x->ctx);
        if (o->kind != SOAP_OP_INPUT)
            st = x->b->forward(x->ctx, 0, g, e->op, &out, in, w, &y, err);
        double loss;
        if (st == SOAP_OK && o->kind == SOAP_OP_SOFTMAX_CE)
            st = x->b->loss(x->ctx, 0, g, e->op, &out, &in[0], &labels, &loss, err);
        x->b->synchronize(x->ctx, 0);
        double t1 = x->b->now(x->ctx);
        if (st == SOAP_OK && o->kind != SOAP_OP_INPUT)
            st = x->b->backward(x->ctx, 0, g, e->op, &out, in, w,
                                labels.data ? &labels : NULL, &y, &dy, din, dw, err);
        x->b->synchronize(x->ctx, 0);
        double t2 = x->b->now(x->ctx);
        if (r >= warmup) {
            tf[r - warmup] = t1 - t0;
            tb[r - warmup] = o->kind == SOAP_OP_INPUT ? 0 : t2 - t1;
        }
    }
    if (st == SOAP_OK) {
        gsl_sort(tf, 1, (size_t)reps);
        gsl_sort(tb, 1, (size_t)reps);
        cost->fwd_s = gsl_stats_median_from_sorted_data(tf, 1, (size_t)reps);
        cost->bwd_s = gsl_stats_median_from_sorted_data(tb, 1, (size_t)reps);
    }
    free(tf);
    free(tb);
    for (int i = 0; i < ni; i++) {
        if (in[i].data)
            x->b->free(x->ctx, 0, in[i].data);
        if (din[i].data)
            x->b->free(x->ctx, 0, din[i].data);
    }
    for (int k = 0; k < o->nweights; k++) {
        if (w[k].data)
            x->b->free(x->ctx, 0, w[k].data);
        if (dw[k].data)
            x->b->free(x->ctx, 0, dw[k].data);
    }
    x->b->free(x->ctx, 0, y.data);
    x->b->free(x->ctx, 0, dy.data);
    if (labels.data)
        x->b->free(x->ctx, 0, labels.data);
    free(in);
    free(din);
    return st;
}

/* The '#' lines of the table (what was measured, how, where), then the
 * header. */
static void write_provenance(FILE *f, const soap_backend_ops *b, const soap_graph *g,
                             const soap_machine *m, const char *type,
                             const soap_profile_options *opt)
{
    char model[SOAP_NAME_MAX + 64], machine[SOAP_NAME_MAX + 64], how[96], seed[32];
    snprintf(model, sizeof model, "%s (batch %lld)", g->name, (long long)g->batch);
    snprintf(machine, sizeof machine, "%s (%d devices, measured on device 0)", m->name,
             m->ndevices);
    snprintf(how, sizeof how, "median of %d runs after %d warm-up", opt->reps > 0 ? opt->reps : 5,
             opt->warmup >= 0 ? opt->warmup : 1);
    snprintf(seed, sizeof seed, "%lu", opt->seed);
    const char *const settings[] = {"model",  model, "machine", machine, "device_type", type,
                                    "backend", b->name, "timing", how, "seed", seed, NULL};
    soap_provenance_write(f, "profile", settings);
    soap_cost_table_write_header(f);
}

soap_status soap_profile(const soap_backend_ops *b, const soap_graph *g, const soap_machine *m,
                         const soap_profile_options *opt, const char *path, long *entries_out,
                         soap_error *err)
{
    if (!b || !g || !m || !path)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "profile: expected a backend, a model, a machine and a path");
    soap_profile_options defaults = {.warmup = 1, .reps = 5};
    if (!opt)
        opt = &defaults;
    void *ctx = b->create(m, err);
    if (!ctx)
        return err ? err->code : SOAP_ERR_INVALID;
    bench x = {.b = b, .ctx = ctx, .g = g};

    entries es = {0, 0, NULL, NULL};
    collect(&es, g, m->ndevices);
    /* The table is written as it is measured, through core's output file
     * (a temporary beside a regular file, renamed at the end). */
    soap_status st = SOAP_OK;
    soap_outfile *out = soap_outfile_open(path, err);
    if (!out)
        st = err ? err->code : SOAP_ERR_IO;
    const char *type = m->types[m->devices[0].type].name;
    if (out)
        write_provenance(soap_outfile_stream(out), b, g, m, type, opt);
    gsl_rng *rng = soap_rng_new(opt->seed, SOAP_RNG_PROFILE, 0);
    for (int i = 0; i < es.n && st == SOAP_OK; i++) {
        soap_task_cost cost;
        st = measure(&x, &es.e[i], opt, rng, &cost, err);
        if (st != SOAP_OK)
            break;
        soap_shape part = g->ops[es.e[i].op].out;
        memcpy(part.size, es.e[i].size, sizeof part.size);
        st = soap_cost_table_write_row(soap_outfile_stream(out), path, type, es.e[i].sig,
                                       &part, cost, err);
        if (opt->progress)
            opt->progress(opt->progress_arg, i + 1, es.n);
    }
    if (st == SOAP_OK && es.n == 0)
        st = soap_error_set(err, SOAP_ERR_INVALID, "profile: model '%s' has no operators",
                            g->name);
    if (out && st == SOAP_OK)
        st = soap_outfile_commit(out, err);
    else
        soap_outfile_abort(out);
    if (st == SOAP_OK && entries_out)
        *entries_out = es.n;
    gsl_rng_free(rng);
    entries_free(&es);
    b->destroy(ctx);
    return st;
}
