/* plan.c: builds the runner's plan of a strategy (exec_internal.h): op
 * tasks and their blocks from the task decomposition the simulator uses too
 * (soap_strategies.h: soap_decomp_edge for the data each task reads,
 * soap_decomp_shards for the replicated weight shards, soap_decomp_grads
 * for the backward tasks each shard's update waits for, soap_decomp_allgather
 * for the edges moved by a ring collective), the jobs and their
 * dependencies, each device's
 * job order, and the deterministic initial values: weights, input data and
 * labels, all drawn from the seed with GSL's RNG.
 *
 * Initial values: a weight with fan-in f (the elements of one output row:
 * volume / size[0]; for an LSTM's [4,H,K+H] the K+H columns) is uniform in
 * +-sqrt(3/f); one-dimensional weights (biases) uniform in +-0.1, except
 * normalization scales, 1 +- 0.1. Image-like inputs are uniform in [-1, 1);
 * token ids uniform over the smallest vocabulary of the embeddings reading
 * them; labels of a SOFTMAX_CE uniform over its classes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "exec_internal.h"

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

soap_block soap_exec_block_alloc(const soap_backend_ops *b, void *ctx, int dev,
                                 const soap_region *r, double *counted)
{
    soap_block blk;
    blk.region = *r;
    int64_t n = soap_region_volume(r);
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(float);
    blk.data = b->alloc(ctx, dev, bytes);
    if (counted)
        *counted += (double)bytes;
    return blk;
}

soap_block soap_exec_alloc_block(soap_exec *x, int dev, const soap_region *r)
{
    return soap_exec_block_alloc(x->b, x->ctx, dev, r, &x->dev[dev].bytes);
}

/* A block of weight memory (counted in weight_bytes too). */
static soap_block weight_block(soap_exec *x, int dev, const soap_region *r)
{
    double before = x->dev[dev].bytes;
    soap_block b = soap_exec_alloc_block(x, dev, r);
    x->dev[dev].weight_bytes += x->dev[dev].bytes - before;
    return b;
}

/* Room for element n of an array of n elements that grows by doubling: a
 * new size when n is 0 or a power of two. */
static void *room_for(void *a, int n, size_t size)
{
    if ((n & (n - 1)) == 0)
        a = soap_xrealloc(a, (size_t)(n ? 2 * n : 1) * size);
    return a;
}

static void zero_later(soap_exec *x, int dev, const soap_block *b)
{
    xdevice *d = &x->dev[dev];
    d->zero = room_for(d->zero, d->nzero, sizeof *d->zero);
    d->zero[d->nzero++] = *b;
}

static soap_region region_empty(int ndims)
{
    soap_region r;
    memset(&r, 0, sizeof r);
    r.ndims = ndims;
    return r;
}

/* A dependency list: (from, to) pairs, turned into successor lists. */
typedef struct deps {
    int n, cap;
    int (*e)[2];
} deps;

static void dep_add(deps *d, int from, int to)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 1024;
        d->e = soap_xrealloc(d->e, (size_t)d->cap * sizeof *d->e);
    }
    d->e[d->n][0] = from;
    d->e[d->n][1] = to;
    d->n++;
}

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

static void init_weight(const soap_graph *g, int w, unsigned long seed, float *v)
{
    const soap_weight *wt = &g->weights[w];
    const soap_op *owner = &g->ops[wt->owner];
    int64_t n = soap_shape_volume(&wt->shape);
    int k = 0;
    while (k < owner->nweights && owner->weights[k] != w)
        k++;
    int norm = owner->kind == SOAP_OP_BATCHNORM || owner->kind == SOAP_OP_LAYERNORM;
    double lo, hi;
    if (wt->shape.ndims >= 2) {
        int64_t fan = owner->kind == SOAP_OP_LSTM ? wt->shape.size[wt->shape.ndims - 1]
                                                   : n / wt->shape.size[0];
        double a = sqrt(3.0 / (double)(fan > 0 ? fan : 1));
        lo = -a;
        hi = a;
    } else if (norm && k == 0) {
        lo = 0.9;
        hi = 1.1;
    } else {
        lo = -0.1;
        hi = 0.1;
    }
    gsl_rng *r = soap_rng_new(seed, SOAP_RNG_WEIGHTS, (unsigned long)w);
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)(lo + (hi - lo) * gsl_rng_uniform(r));
    gsl_rng_free(r);
}

/* The smallest vocabulary among the embeddings reading input op `op`. */
static int64_t index_limit(const soap_graph *g, int op)
{
    int64_t limit = 0;
    for (int c = 0; c < g->nops; c++) {
        const soap_op *o = &g->ops[c];
        for (int i = 0; i < o->ninputs; i++)
            if (o->inputs[i] == op && o->kind == SOAP_OP_EMBEDDING &&
                (limit == 0 || o->p.vocab < limit))
                limit = o->p.vocab;
    }
    return limit > 0 ? limit : 2;
}

static float *input_values(const soap_graph *g, int op, unsigned long seed)
{
    const soap_op *o = &g->ops[op];
    int64_t n = soap_shape_volume(&o->out);
    float *v = soap_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    gsl_rng *r = soap_rng_new(seed, SOAP_RNG_INPUTS, (unsigned long)op);
    if (o->p.is_index) {
        unsigned long limit = (unsigned long)index_limit(g, op);
        for (int64_t i = 0; i < n; i++)
            v[i] = (float)gsl_rng_uniform_int(r, limit);
    } else {
        for (int64_t i = 0; i < n; i++)
            v[i] = (float)(2.0 * gsl_rng_uniform(r) - 1.0);
    }
    gsl_rng_free(r);
    return v;
}

/* Labels of a SOFTMAX_CE: one class per row (all dims but the last). */
static float *label_values(const soap_graph *g, int op, unsigned long seed, soap_region *all)
{
    const soap_shape *s = &g->ops[op].out;
    *all = region_empty(s->ndims - 1);
    int64_t rows = 1;
    for (int d = 0; d + 1 < s->ndims; d++) {
        all->hi[d] = s->size[d];
        rows *= s->size[d];
    }
    float *v = soap_xmalloc((size_t)rows * sizeof *v);
    gsl_rng *r = soap_rng_new(seed, SOAP_RNG_LABELS, (unsigned long)op);
    for (int64_t i = 0; i < rows; i++)
        v[i] = (float)gsl_rng_uniform_int(r, (unsigned long)s->size[s->ndims - 1]);
    gsl_rng_free(r);
    return v;
}

/* ------------------------------------------------------------------ */
/* Op tasks and their data                                             */
/* ------------------------------------------------------------------ */

static void plan_tasks(soap_exec *x, unsigned long seed)
{
    const soap_graph *g = x->g;
    x->task_base = soap_xmalloc((size_t)(g->nops + 1) * sizeof *x->task_base);
    x->ntasks = 0;
    for (int op = 0; op < g->nops; op++) {
        x->task_base[op] = x->ntasks;
        x->ntasks += x->s->configs[op].ntasks;
    }
    x->task_base[g->nops] = x->ntasks;
    x->tasks = soap_xcalloc((size_t)x->ntasks, sizeof *x->tasks);
    for (int op = 0; op < g->nops; op++) {
        const soap_op *o = &g->ops[op];
        const soap_config *c = &x->s->configs[op];
        float *data = o->kind == SOAP_OP_INPUT ? input_values(g, op, seed) : NULL;
        soap_region lab_all;
        float *labels =
            o->kind == SOAP_OP_SOFTMAX_CE ? label_values(g, op, seed, &lab_all) : NULL;
        for (int t = 0; t < c->ntasks; t++) {
            xtask *k = &x->tasks[x->task_base[op] + t];
            k->op = op;
            k->t = t;
            k->dev = c->device[t];
            k->out = soap_config_task_region(g, op, c, t);
            k->y = soap_exec_alloc_block(x, k->dev, &k->out);
            if (o->kind != SOAP_OP_INPUT) {
                k->dy = soap_exec_alloc_block(x, k->dev, &k->out);
                zero_later(x, k->dev, &k->dy);
            }
            size_t ni = (size_t)(o->ninputs ? o->ninputs : 1);
            k->inputs = soap_xcalloc(ni, sizeof *k->inputs);
            k->in = soap_xcalloc(ni, sizeof *k->in);
            k->din = soap_xcalloc(ni, sizeof *k->din);
            if (data) {
                soap_block host = {data, soap_region_full(&o->out)};
                x->b->upload(x->ctx, k->dev, &k->y, &host, &k->out);
            }
            if (labels) {
                soap_region r = region_empty(k->out.ndims - 1);
                for (int d = 0; d + 1 < k->out.ndims; d++) {
                    r.lo[d] = k->out.lo[d];
                    r.hi[d] = k->out.hi[d];
                }
                k->labels = soap_exec_alloc_block(x, k->dev, &r);
                soap_block host = {labels, lab_all};
                x->b->upload(x->ctx, k->dev, &k->labels, &host, &r);
            }
        }
        free(data);
        free(labels);
    }
}

/* n new jobs of `kind` on xring `ring`, devices by ring position (job
 * (s, r) has r = offset mod k); returns the first. */
static int add_ring_jobs(soap_exec *x, int n, int kind, int ring)
{
    const xring *c = &x->rings[ring];
    int first = x->njobs;
    x->njobs += n;
    x->jobs = soap_xrealloc(x->jobs, (size_t)x->njobs * sizeof *x->jobs);
    memset(&x->jobs[first], 0, (size_t)n * sizeof *x->jobs);
    for (int j = 0; j < n; j++) {
        x->jobs[first + j].kind = kind;
        x->jobs[first + j].index = ring;
        x->jobs[first + j].dev = c->ga.devices[j % c->ga.ndevices];
    }
    return first;
}

/* Position of device dev in the ring (it must be there). */
static int ring_pos(const soap_gather *ga, int dev)
{
    for (int r = 0; r < ga->ndevices; r++)
        if (ga->devices[r] == dev)
            return r;
    SOAP_ASSERT(!"device on the ring");
    return -1;
}

/* The xring of all-gather edge (input i of op; ga from
 * soap_decomp_allgather): buffers, jobs and their dependencies, the
 * consumers' views of the buffers and the producers' pulls from them. */
static void plan_ring(soap_exec *x, deps *dd, int op, int i, const soap_gather *ga)
{
    const soap_graph *g = x->g;
    int p = g->ops[op].inputs[i], k = ga->ndevices;
    x->rings = room_for(x->rings, x->nrings, sizeof *x->rings);
    int ci = x->nrings++;
    xring *c = &x->rings[ci];
    memset(c, 0, sizeof *c);
    c->op = op;
    c->input = i;
    c->producer = p;
    c->grad = g->ops[p].kind != SOAP_OP_INPUT;
    c->ga = *ga;
    c->all = soap_region_full(&g->ops[p].out);
    /* Producer blocks by ring position (counting sort, tasks ascending). */
    int np = x->task_base[p + 1] - x->task_base[p];
    c->block_base = soap_xcalloc((size_t)k + 1, sizeof *c->block_base);
    c->blocks = soap_xmalloc((size_t)np * sizeof *c->blocks);
    for (int t = x->task_base[p]; t < x->task_base[p + 1]; t++)
        c->block_base[ring_pos(ga, x->tasks[t].dev) + 1]++;
    for (int r = 0; r < k; r++)
        c->block_base[r + 1] += c->block_base[r];
    int *fill = soap_xmalloc((size_t)k * sizeof *fill);
    memcpy(fill, c->block_base, (size_t)k * sizeof *fill);
    for (int t = x->task_base[p]; t < x->task_base[p + 1]; t++)
        c->blocks[fill[ring_pos(ga, x->tasks[t].dev)]++] = t;
    free(fill);
    c->buf = soap_xcalloc((size_t)k, sizeof *c->buf);
    c->gbuf = soap_xcalloc((size_t)k, sizeof *c->gbuf);
    for (int r = 0; r < k; r++) {
        c->buf[r] = soap_exec_alloc_block(x, ga->devices[r], &c->all);
        if (c->grad) {
            c->gbuf[r] = soap_exec_alloc_block(x, ga->devices[r], &c->all);
            zero_later(x, ga->devices[r], &c->gbuf[r]);
        }
    }
    c->fwd_job = add_ring_jobs(x, k * k, XJOB_RING_FWD, ci);
    c->bwd_job = c->grad ? add_ring_jobs(x, k * (k - 1), XJOB_RING_BWD, ci) : -1;
#define FWD(s, r) (c->fwd_job + ((s) + 1) * k + (r))
#define BWD(s, r) (c->bwd_job + (s) * k + (r))
    for (int r = 0; r < k; r++) {
        int prev = (r + k - 1) % k;
        for (int b = c->block_base[r]; b < c->block_base[r + 1]; b++)
            dep_add(dd, x->fwd_job[c->blocks[b]], FWD(-1, r));
        for (int s = 0; s + 1 < k; s++) {
            dep_add(dd, FWD(s - 1, r), FWD(s, r));
            dep_add(dd, FWD(s - 1, prev), FWD(s, r));
        }
        if (!c->grad)
            continue;
        for (int s = 1; s + 1 < k; s++) {
            dep_add(dd, BWD(s - 1, r), BWD(s, r));
            dep_add(dd, BWD(s - 1, prev), BWD(s, r));
        }
        /* Each block's full sum is on its position after the last step. */
        for (int b = c->block_base[r]; b < c->block_base[r + 1]; b++) {
            int pt = c->blocks[b];
            xtask *pk = &x->tasks[pt];
            dep_add(dd, BWD(k - 2, r), x->bwd_job[pt]);
            pk->pulls = room_for(pk->pulls, pk->npulls, sizeof *pk->pulls);
            pk->pulls[pk->npulls++] = (xpiece){.task = r, .input = i, .ring = ci, .r = pk->out};
        }
    }
    /* Consumers read their device's buffer in place and accumulate into its
     * gradient buffer; the first reduce-scatter step of a position waits for
     * the consumers on it and on its sender. */
    for (int t = x->task_base[op]; t < x->task_base[op + 1]; t++) {
        xtask *ck = &x->tasks[t];
        int r = ring_pos(ga, ck->dev);
        soap_region need = soap_op_input_region(g, op, i, &ck->out);
        SOAP_ASSERT(soap_region_equal(&need, &c->all));
        ck->inputs[i].alias = 1;
        ck->in[i] = c->buf[r];
        dep_add(dd, FWD(k - 2, r), x->fwd_job[t]);
        if (!c->grad)
            continue;
        ck->din[i] = c->gbuf[r];
        dep_add(dd, x->bwd_job[t], BWD(0, r));
        dep_add(dd, x->bwd_job[t], BWD(0, (r + 1) % k));
    }
#undef FWD
#undef BWD
}

/* The inputs of every op task: aliases or gathered blocks, and the pulls of
 * their gradients back into the producers; all-gather edges through an
 * xring (plan_ring). */
static void plan_inputs(soap_exec *x, deps *dd)
{
    const soap_graph *g = x->g;
    soap_xfer_vec xv = {0};
    for (int op = 0; op < g->nops; op++) {
        const soap_op *o = &g->ops[op];
        for (int i = 0; i < o->ninputs; i++) {
            int p = o->inputs[i];
            const soap_config *pc = &x->s->configs[p], *cc = &x->s->configs[op];
            int n = soap_decomp_edge(g, op, i, pc, cc, &xv);
            soap_gather ga;
            if (soap_decomp_allgather(g, op, i, pc, cc, &xv, &ga)) {
                plan_ring(x, dd, op, i, &ga);
                continue;
            }
            const soap_xfer *xf = xv.data;
            int grad = g->ops[p].kind != SOAP_OP_INPUT;
            /* xf is ordered by dst_task: one run per consumer task. */
            for (int a = 0; a < n;) {
                int z = a;
                while (z < n && xf[z].dst_task == xf[a].dst_task)
                    z++;
                int ct = x->task_base[op] + xf[a].dst_task;
                xtask *k = &x->tasks[ct];
                xinput *in = &k->inputs[i];
                soap_region need = soap_op_input_region(g, op, i, &k->out);
                const xtask *p0 = &x->tasks[x->task_base[p] + xf[a].src_task];
                in->alias = z - a == 1 && p0->dev == k->dev && soap_region_equal(&xf[a].region, &need);
                if (in->alias) {
                    k->in[i] = p0->y;
                    if (grad)
                        k->din[i] = p0->dy;
                } else {
                    k->in[i] = soap_exec_alloc_block(x, k->dev, &need);
                    if (grad) {
                        k->din[i] = soap_exec_alloc_block(x, k->dev, &need);
                        zero_later(x, k->dev, &k->din[i]);
                    }
                    in->npieces = z - a;
                    in->pieces = soap_xmalloc((size_t)(z - a) * sizeof *in->pieces);
                }
                for (int q = a; q < z; q++) {
                    int pt = x->task_base[p] + xf[q].src_task;
                    dep_add(dd, x->fwd_job[pt], x->fwd_job[ct]);
                    if (!in->alias)
                        in->pieces[q - a] =
                            (xpiece){.task = pt, .input = i, .ring = -1, .r = xf[q].region};
                    if (!grad)
                        continue;
                    dep_add(dd, x->bwd_job[ct], x->bwd_job[pt]);
                    if (in->alias)
                        continue;
                    xtask *pk = &x->tasks[pt];
                    pk->pulls = room_for(pk->pulls, pk->npulls, sizeof *pk->pulls);
                    pk->pulls[pk->npulls++] =
                        (xpiece){.task = ct, .input = i, .ring = -1, .r = xf[q].region};
                }
                a = z;
            }
        }
    }
    soap_xfer_vec_free(&xv);
}

/* Every device's replica and gradient blocks of every weight it uses; the
 * tasks' views of them. */
static void plan_weights(soap_exec *x, unsigned long seed)
{
    const soap_graph *g = x->g;
    int nd = x->m->ndevices, nw = g->nweights;
    soap_region *box = soap_xmalloc((size_t)(nd * (nw ? nw : 1)) * sizeof *box);
    for (int d = 0; d < nd; d++)
        for (int w = 0; w < nw; w++)
            box[d * nw + w] = region_empty(g->weights[w].shape.ndims);
    for (int i = 0; i < x->ntasks; i++) {
        const xtask *k = &x->tasks[i];
        const soap_op *o = &g->ops[k->op];
        for (int j = 0; j < o->nweights; j++) {
            soap_region r = soap_op_weight_region(g, k->op, j, &k->out);
            soap_region *b = &box[k->dev * nw + o->weights[j]];
            if (!soap_region_empty(&r))
                *b = soap_region_hull(b, &r);
        }
    }
    x->wrep = soap_xcalloc((size_t)(nd * (nw ? nw : 1)), sizeof *x->wrep);
    x->grep = soap_xcalloc((size_t)(nd * (nw ? nw : 1)), sizeof *x->grep);
    x->host_w = soap_xcalloc((size_t)(nw ? nw : 1), sizeof *x->host_w);
    for (int w = 0; w < nw; w++) {
        int64_t n = soap_shape_volume(&g->weights[w].shape);
        x->host_w[w] = soap_xmalloc((size_t)(n > 0 ? n : 1) * sizeof(float));
        init_weight(g, w, seed, x->host_w[w]);
        soap_block host = {x->host_w[w], soap_region_full(&g->weights[w].shape)};
        for (int d = 0; d < nd; d++) {
            const soap_region *r = &box[d * nw + w];
            if (soap_region_empty(r))
                continue;
            x->wrep[d * nw + w] = weight_block(x, d, r);
            x->grep[d * nw + w] = weight_block(x, d, r);
            x->b->upload(x->ctx, d, &x->wrep[d * nw + w], &host, r);
            zero_later(x, d, &x->grep[d * nw + w]);
        }
    }
    free(box);
    for (int i = 0; i < x->ntasks; i++) {
        xtask *k = &x->tasks[i];
        const soap_op *o = &g->ops[k->op];
        for (int j = 0; j < o->nweights; j++) {
            k->w[j] = x->wrep[k->dev * nw + o->weights[j]];
            k->dw[j] = x->grep[k->dev * nw + o->weights[j]];
        }
    }
}

/* An update job per (shard, replica), after every backward task producing
 * part of the shard's gradient (on any replica: the sum reads them all). */
static void plan_updates(soap_exec *x, deps *dd)
{
    const soap_graph *g = x->g;
    soap_shard_vec sv = {0};
    soap_grad_vec gv = {0};
    for (int pass = 0; pass < 2; pass++) {
        int nu = 0;
        for (int w = 0; w < g->nweights; w++) {
            int n = soap_decomp_shards(g, x->s, w, &sv);
            const soap_shard *sh = sv.data;
            if (pass == 0) {
                for (int s = 0; s < n; s++)
                    nu += sh[s].ndevices;
                continue;
            }
            int ng = soap_decomp_grads(g, x->s, sh, n, &gv);
            int j0 = 0; /* the shard's run in gv (ordered by shard) */
            for (int s = 0; s < n; s++) {
                int j1 = j0;
                while (j1 < ng && gv.data[j1].shard == s)
                    j1++;
                for (int r = 0; r < sh[s].ndevices; r++, nu++) {
                    xupdate *u = &x->updates[nu];
                    u->weight = w;
                    u->dev = sh[s].devices[r];
                    u->r = sh[s].region;
                    u->nsrc = sh[s].ndevices;
                    memcpy(u->src, sh[s].devices, (size_t)u->nsrc * sizeof u->src[0]);
                    if (u->nsrc > 1)
                        u->scratch = weight_block(x, u->dev, &u->r);
                    int job = x->njobs - x->nupdates + nu;
                    for (int j = j0; j < j1; j++) {
                        const soap_grad_task *gt = &gv.data[j];
                        dep_add(dd, x->bwd_job[x->task_base[gt->op] + gt->task], job);
                    }
                }
                j0 = j1;
            }
        }
        if (pass == 0) {
            x->nupdates = nu;
            x->updates = soap_xcalloc((size_t)(nu ? nu : 1), sizeof *x->updates);
            x->njobs += nu;
            x->jobs = soap_xrealloc(x->jobs, (size_t)x->njobs * sizeof *x->jobs);
        }
    }
    soap_shard_vec_free(&sv);
    soap_grad_vec_free(&gv);
}

/* Jobs of the op tasks (updates are appended by plan_updates). */
static void plan_jobs(soap_exec *x)
{
    x->fwd_job = soap_xmalloc((size_t)(x->ntasks ? x->ntasks : 1) * sizeof(int));
    x->bwd_job = soap_xmalloc((size_t)(x->ntasks ? x->ntasks : 1) * sizeof(int));
    int n = 0;
    for (int i = 0; i < x->ntasks; i++) {
        x->fwd_job[i] = n++;
        x->bwd_job[i] = x->g->ops[x->tasks[i].op].kind == SOAP_OP_INPUT ? -1 : n++;
    }
    x->njobs = n;
    x->jobs = soap_xcalloc((size_t)(n ? n : 1), sizeof *x->jobs);
    for (int i = 0; i < x->ntasks; i++) {
        x->jobs[x->fwd_job[i]].kind = XJOB_FWD;
        x->jobs[x->fwd_job[i]].index = i;
        x->jobs[x->fwd_job[i]].dev = x->tasks[i].dev;
        if (x->bwd_job[i] >= 0) {
            x->jobs[x->bwd_job[i]].kind = XJOB_BWD;
            x->jobs[x->bwd_job[i]].index = i;
            x->jobs[x->bwd_job[i]].dev = x->tasks[i].dev;
        }
    }
}

/* Job j next in its device's order (pass 1), or counted (pass 0). */
static void put_job(soap_exec *x, int pass, int j)
{
    xdevice *dv = &x->dev[x->jobs[j].dev];
    if (pass)
        dv->jobs[dv->njobs] = j;
    dv->njobs++;
}

static void finish_jobs(soap_exec *x, deps *dd)
{
    int base = x->njobs - x->nupdates;
    for (int u = 0; u < x->nupdates; u++) {
        memset(&x->jobs[base + u], 0, sizeof x->jobs[base + u]);
        x->jobs[base + u].kind = XJOB_UPD;
        x->jobs[base + u].index = u;
        x->jobs[base + u].dev = x->updates[u].dev;
    }
    /* A backward task after its own forward (the activations). */
    for (int i = 0; i < x->ntasks; i++)
        if (x->bwd_job[i] >= 0)
            dep_add(dd, x->fwd_job[i], x->bwd_job[i]);
    for (int e = 0; e < dd->n; e++) {
        x->jobs[dd->e[e][0]].nsucc++;
        x->jobs[dd->e[e][1]].npred++;
    }
    for (int j = 0; j < x->njobs; j++) {
        x->jobs[j].succ = soap_xmalloc((size_t)(x->jobs[j].nsucc ? x->jobs[j].nsucc : 1) * sizeof(int));
        x->jobs[j].nsucc = 0;
    }
    for (int e = 0; e < dd->n; e++) {
        xjob *j = &x->jobs[dd->e[e][0]];
        j->succ[j->nsucc++] = dd->e[e][1];
    }
    /* Device orders: forward by op (an op's rings before its tasks),
     * backward by reverse op (an op's rings after its tasks), updates. */
    for (int pass = 0; pass < 2; pass++) {
        for (int d = 0; d < x->m->ndevices; d++)
            x->dev[d].njobs = 0;
        int c = 0; /* rings are in op order */
        for (int op = 0; op < x->g->nops; op++) {
            for (; c < x->nrings && x->rings[c].op == op; c++) {
                int k = x->rings[c].ga.ndevices;
                for (int j = x->rings[c].fwd_job; j < x->rings[c].fwd_job + k * k; j++)
                    put_job(x, pass, j);
            }
            for (int i = x->task_base[op]; i < x->task_base[op + 1]; i++)
                put_job(x, pass, x->fwd_job[i]);
        }
        c = x->nrings - 1;
        for (int op = x->g->nops - 1; op >= 0; op--) {
            for (int i = x->task_base[op]; i < x->task_base[op + 1]; i++)
                if (x->bwd_job[i] >= 0)
                    put_job(x, pass, x->bwd_job[i]);
            for (; c >= 0 && x->rings[c].op == op; c--) {
                int k = x->rings[c].ga.ndevices;
                if (x->rings[c].grad)
                    for (int j = x->rings[c].bwd_job; j < x->rings[c].bwd_job + k * (k - 1); j++)
                        put_job(x, pass, j);
            }
        }
        for (int u = 0; u < x->nupdates; u++) {
            xdevice *dv = &x->dev[x->updates[u].dev];
            if (pass)
                dv->jobs[dv->njobs] = base + u;
            dv->njobs++;
        }
        if (pass == 0)
            for (int d = 0; d < x->m->ndevices; d++)
                x->dev[d].jobs = soap_xmalloc((size_t)(x->dev[d].njobs ? x->dev[d].njobs : 1) * sizeof(int));
    }
}

void soap_exec_plan(soap_exec *x, unsigned long seed)
{
    deps dd = {0, 0, NULL};
    plan_tasks(x, seed);
    plan_jobs(x);
    plan_inputs(x, &dd);
    plan_weights(x, seed);
    plan_updates(x, &dd);
    finish_jobs(x, &dd);
    free(dd.e);
}

void soap_exec_plan_free(soap_exec *x)
{
    if (x->tasks) {
        for (int i = 0; i < x->ntasks; i++) {
            xtask *k = &x->tasks[i];
            const soap_op *o = &x->g->ops[k->op];
            x->b->free(x->ctx, k->dev, k->y.data);
            if (k->dy.data)
                x->b->free(x->ctx, k->dev, k->dy.data);
            if (k->labels.data)
                x->b->free(x->ctx, k->dev, k->labels.data);
            for (int j = 0; j < o->ninputs; j++) {
                xinput *in = &k->inputs[j];
                if (!in->alias) {
                    if (k->in[j].data)
                        x->b->free(x->ctx, k->dev, k->in[j].data);
                    if (k->din[j].data)
                        x->b->free(x->ctx, k->dev, k->din[j].data);
                }
                free(in->pieces);
            }
            free(k->inputs);
            free(k->in);
            free(k->din);
            free(k->pulls);
        }
    }
    free(x->tasks);
    free(x->task_base);
    for (int u = 0; u < x->nupdates; u++)
        if (x->updates[u].scratch.data)
            x->b->free(x->ctx, x->updates[u].dev, x->updates[u].scratch.data);
    free(x->updates);
    for (int c = 0; c < x->nrings; c++) {
        xring *r = &x->rings[c];
        for (int q = 0; q < r->ga.ndevices; q++) {
            x->b->free(x->ctx, r->ga.devices[q], r->buf[q].data);
            if (r->gbuf[q].data)
                x->b->free(x->ctx, r->ga.devices[q], r->gbuf[q].data);
        }
        free(r->buf);
        free(r->gbuf);
        free(r->block_base);
        free(r->blocks);
    }
    free(x->rings);
    int nd = x->m->ndevices, nw = x->g->nweights;
    if (x->wrep)
        for (int i = 0; i < nd * nw; i++) {
            if (x->wrep[i].data)
                x->b->free(x->ctx, i / nw, x->wrep[i].data);
            if (x->grep[i].data)
                x->b->free(x->ctx, i / nw, x->grep[i].data);
        }
    free(x->wrep);
    free(x->grep);
    if (x->host_w)
        for (int w = 0; w < nw; w++)
            free(x->host_w[w]);
    free(x->host_w);
    for (int j = 0; j < x->njobs; j++)
        free(x->jobs[j].succ);
    free(x->jobs);
    free(x->fwd_job);
    free(x->bwd_job);
}
