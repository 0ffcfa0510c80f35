/* decomp.c: the task decomposition that the simulator and the executor
 * share (soap_strategies.h, "Task decomposition"). Three derivations, all
 * pure functions of (graph, configs), writing into growable outputs that
 * the caller keeps:
 *
 * soap_decomp_edge: the transfers along one edge of the operator graph. For
 *   every consumer task t (in task order) the consumer needs
 *   soap_op_input_region(op, i, region of t) of its input i, in the
 *   producer's output coordinates. Every producer task s whose output block
 *   overlaps that region sends the intersection. Since a config cuts every
 *   dim into equal blocks (soap_config_task_region: block j of k covers
 *   [size*j/k, size*(j+1)/k)), the blocks a range overlaps are found per dim
 *   by division, so the cost is the number of emitted pieces, not T^2.
 *   Order: (dst_task, src_task) ascending.
 *
 * soap_decomp_shards: the replicated pieces of one weight. Every task of
 *   every op using the weight needs soap_op_weight_region(...) of it on its
 *   device. The weight is cut at every lo/hi of those regions (per dim, the
 *   sorted unique coordinates make a grid); each grid cell is held by the set
 *   of devices whose task regions contain it (cells nobody needs are not
 *   shards). Cells are then merged greedily into boxes of equal device sets:
 *   from the first free cell in row-major order, grow along the last dim,
 *   then along each earlier dim while the whole slab has the same set and is
 *   free. Shards come out in row-major order of their first cell, devices
 *   ascending. When every task needs the same region the result is one shard.
 *   It allocates scratch for the grid (cells x 128 bytes) on every call: it
 *   belongs to building a task graph, not to the per-event paths. A cell
 *   held by more than SOAP_MAX_REPLICAS devices (only possible for a weight
 *   shared by several ops on a machine of more than 64 devices) does not fit
 *   a soap_shard and aborts.
 *
 * soap_decomp_grads: which backward tasks produce each shard's gradient, on
 *   which replica. A task's weight region is a union of grid cells, so when
 *   it meets a shard (a box of cells with one device set) its device holds
 *   that shard: the replica index is found by bisection in the shard's
 *   ascending devices. Pairs are emitted in (op, slot, task, shard) order and
 *   then sorted stably by (shard, replica), a bottom-up merge sort through
 *   the upper half of the output (no scratch of its own). The simulator
 *   makes each replica's part of the weight synchronisation wait for that
 *   replica's tasks; the executor makes every replica's update wait for all
 *   of them (its sum reads every replica's gradient).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "soap_strategies.h"

/* ------------------------------------------------------------------ */
/* Growable outputs                                                    */
/* ------------------------------------------------------------------ */

/* Room for at least `need` elements of `size` bytes in *data (capacity
 * *cap), doubling from 16. */
static void *reserve(void *data, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return data;
    int c = *cap ? *cap : 16;
    while (c < need) {
        SOAP_ASSERT(c <= INT_MAX / 2);
        c *= 2;
    }
    *cap = c;
    return soap_xrealloc(data, (size_t)c * size);
}
#define RESERVE(v, need) ((v)->data = reserve((v)->data, &(v)->cap, (need), sizeof *(v)->data))

void soap_xfer_vec_free(soap_xfer_vec *v)
{
    if (!v)
        return;
    free(v->data);
    memset(v, 0, sizeof *v);
}

void soap_shard_vec_free(soap_shard_vec *v)
{
    if (!v)
        return;
    free(v->data);
    memset(v, 0, sizeof *v);
}

void soap_grad_vec_free(soap_grad_vec *v)
{
    if (!v)
        return;
    free(v->data);
    memset(v, 0, sizeof *v);
}

/* ------------------------------------------------------------------ */
/* Edges                                                               */
/* ------------------------------------------------------------------ */

/* Lowest block j of k (blocks of [0, size)) with hi_j > x, i.e. the block
 * holding coordinate x (0 <= x < size). */
static int block_of(int64_t size, int k, int64_t x)
{
    int64_t j = (x * k) / size; /* exact for equal blocks, a close guess else */
    if (j >= k)
        j = k - 1;
    while (j > 0 && size * j / k > x)
        j--;
    while (j < k - 1 && size * (j + 1) / k <= x)
        j++;
    return (int)j;
}

int soap_decomp_edge(const soap_graph *g, int op, int i, const soap_config *producer,
                     const soap_config *consumer, soap_xfer_vec *out)
{
    SOAP_ASSERT(g && op >= 0 && op < g->nops && producer && consumer && out);
    const soap_op *o = &g->ops[op];
    SOAP_ASSERT(i >= 0 && i < o->ninputs);
    int pop = o->inputs[i];
    const soap_shape *ps = &g->ops[pop].out;
    SOAP_ASSERT(producer->ndims == ps->ndims && consumer->ndims == o->out.ndims);

    int n = 0;
    for (int t = 0; t < consumer->ntasks; t++) {
        soap_region treg = soap_config_task_region(g, op, consumer, t);
        soap_region need = soap_op_input_region(g, op, i, &treg);
        if (soap_region_empty(&need))
            continue;
        SOAP_ASSERT(need.ndims == ps->ndims);
        /* Per dim, the range of producer blocks that the needed range
         * overlaps: [first[d], last[d]]. */
        int first[SOAP_MAX_DIMS], last[SOAP_MAX_DIMS], idx[SOAP_MAX_DIMS];
        for (int d = 0; d < ps->ndims; d++) {
            SOAP_ASSERT(need.lo[d] >= 0 && need.hi[d] <= ps->size[d]);
            first[d] = block_of(ps->size[d], producer->degree[d], need.lo[d]);
            last[d] = block_of(ps->size[d], producer->degree[d], need.hi[d] - 1);
            idx[d] = first[d];
        }
        /* Walk the box of blocks with the last dim fastest, which visits
         * producer tasks in ascending index order (row-major). */
        for (;;) {
            /* Producer task s's block (soap_config_task_region's formula,
             * inline: this loop runs once per piece) cut with the need. */
            int s = 0, empty = 0;
            soap_region inter;
            memset(&inter, 0, sizeof inter);
            inter.ndims = ps->ndims;
            for (int d = 0; d < ps->ndims; d++) {
                int k = producer->degree[d];
                s = s * k + idx[d];
                int64_t lo = ps->size[d] * idx[d] / k, hi = ps->size[d] * (idx[d] + 1) / k;
                inter.lo[d] = lo > need.lo[d] ? lo : need.lo[d];
                inter.hi[d] = hi < need.hi[d] ? hi : need.hi[d];
                empty |= inter.lo[d] >= inter.hi[d];
            }
            if (!empty) {
                if (n == out->cap)
                    RESERVE(out, n + 1);
                out->data[n].src_task = s;
                out->data[n].dst_task = t;
                out->data[n].region = inter;
                n++;
            }
            int d = ps->ndims - 1;
            while (d >= 0 && idx[d] == last[d]) {
                idx[d] = first[d];
                d--;
            }
            if (d < 0)
                break;
            idx[d]++;
        }
    }
    out->n = n;
    return n;
}

/* ------------------------------------------------------------------ */
/* All-gather edges                                                    */
/* ------------------------------------------------------------------ */

int soap_decomp_allgather(const soap_graph *g, int op, int i, const soap_config *producer,
                          const soap_config *consumer, const soap_xfer_vec *xfers,
                          soap_gather *out)
{
    SOAP_ASSERT(g && producer && consumer && xfers && out);
    int np = producer->ntasks, nc = consumer->ntasks;
    if (np < SOAP_GATHER_MIN_DEVICES || nc < SOAP_GATHER_MIN_DEVICES ||
        xfers->n != np * nc)
        return 0;
    /* Every (consumer, producer) pair has one piece (soap_decomp_edge emits
     * at most one per pair), so a count of np * nc means every pair is
     * present; each piece must be the producer's whole block. */
    int pop = g->ops[op].inputs[i];
    soap_region block[SOAP_MAX_TASKS];
    for (int s = 0; s < np; s++)
        block[s] = soap_config_task_region(g, pop, producer, s);
    for (int k = 0; k < xfers->n; k++) {
        const soap_xfer *x = &xfers->data[k];
        if (!soap_region_equal(&x->region, &block[x->src_task]))
            return 0;
    }
    /* One device set on both sides. */
    uint64_t pset[SOAP_MAX_DEVICES / 64 + 1] = {0}, cset[SOAP_MAX_DEVICES / 64 + 1] = {0};
    for (int s = 0; s < np; s++)
        pset[producer->device[s] / 64] |= 1ull << (producer->device[s] % 64);
    for (int t = 0; t < nc; t++)
        cset[consumer->device[t] / 64] |= 1ull << (consumer->device[t] % 64);
    int k = 0;
    for (size_t w = 0; w < sizeof pset / sizeof pset[0]; w++) {
        if (pset[w] != cset[w])
            return 0;
        k += __builtin_popcountll(pset[w]);
    }
    if (k < SOAP_GATHER_MIN_DEVICES)
        return 0;
    memset(out, 0, sizeof *out);
    out->ndevices = k;
    int r = 0;
    for (int d = 0; d < SOAP_MAX_DEVICES && r < k; d++)
        if (pset[d / 64] >> (d % 64) & 1)
            out->devices[r++] = (int16_t)d;
    for (int s = 0; s < np; s++) {
        int pos = 0;
        while (out->devices[pos] != producer->device[s])
            pos++;
        int64_t v = soap_region_volume(&block[s]);
        out->elems[pos] += v;
        out->total += v;
    }
    return 1;
}

/* Distinct devices of c's tasks (up to SOAP_MAX_TASKS). */
static int distinct_devices(const soap_config *c)
{
    int n = 0;
    int16_t seen[SOAP_MAX_TASKS];
    for (int t = 0; t < c->ntasks; t++) {
        int dup = 0;
        for (int k = 0; k < n && !dup; k++)
            dup = seen[k] == c->device[t];
        if (!dup)
            seen[n++] = c->device[t];
    }
    return n;
}

int soap_decomp_alltoall(const soap_graph *g, int op, int i, const soap_config *producer,
                         const soap_config *consumer, const soap_xfer_vec *xfers)
{
    SOAP_ASSERT(g && producer && consumer && xfers);
    if (xfers->n != producer->ntasks * consumer->ntasks ||
        distinct_devices(producer) < SOAP_GATHER_MIN_DEVICES ||
        distinct_devices(consumer) < SOAP_GATHER_MIN_DEVICES)
        return 0;
    soap_gather ga;
    return !soap_decomp_allgather(g, op, i, producer, consumer, xfers, &ga);
}

int64_t soap_gather_edge_elems(const soap_gather *ga, int r, int backward)
{
    SOAP_ASSERT(ga && r >= 0 && r < ga->ndevices);
    int pos = backward ? r : (r + 1) % ga->ndevices;
    return ga->total - ga->elems[pos];
}

/* ------------------------------------------------------------------ */
/* Weight shards                                                       */
/* ------------------------------------------------------------------ */

/* A set of devices as a bit set (SOAP_MAX_DEVICES bits). */
#define DEVSET_WORDS ((SOAP_MAX_DEVICES + 63) / 64)
typedef struct devset {
    uint64_t w[DEVSET_WORDS];
} devset;

/* One task's need: a weight region on a device. */
typedef struct need {
    soap_region r;
    int device;
} need;

/* Sorted unique copy in place; returns the new count. The needs of a
 * weight repeat few distinct coordinates (every step of a shared LSTM layer
 * brings the same ones), so each value is looked up by bisection among the
 * distinct ones kept so far at the front of v and inserted only if new:
 * O(n log u) for u distinct values instead of sorting all n. */
static int unique_i64(int64_t *v, int n)
{
    int m = 0;
    for (int k = 0; k < n; k++) {
        int64_t x = v[k];
        int lo = 0, hi = m;
        while (lo < hi) {
            int mid = lo + (hi - lo) / 2;
            if (v[mid] < x)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < m && v[lo] == x)
            continue;
        memmove(&v[lo + 1], &v[lo], (size_t)(m - lo) * sizeof *v); /* m <= k */
        v[lo] = x;
        m++;
    }
    return m;
}

/* Index of x in sorted unique v[0..n) (x must be there). */
static int find_i64(const int64_t *v, int n, int64_t x)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (v[mid] == x)
            return mid;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    SOAP_ASSERT(!"coordinate not in grid");
    return -1;
}

static int devset_empty(const devset *s)
{
    for (int k = 0; k < DEVSET_WORDS; k++)
        if (s->w[k])
            return 0;
    return 1;
}

/* The grid over the weight: per dim the cut coordinates, the cells' device
 * sets (row-major over cells) and which cells a shard has taken. */
typedef struct grid {
    int ndims;
    int ncut[SOAP_MAX_DIMS];      /* coordinates per dim (cells = ncut-1) */
    int64_t *cut[SOAP_MAX_DIMS];
    int ncells[SOAP_MAX_DIMS];
    long total;
    devset *set;
    unsigned char *taken;
} grid;

static long cell_index(const grid *gr, const int *c)
{
    long k = 0;
    for (int d = 0; d < gr->ndims; d++)
        k = k * gr->ncells[d] + c[d];
    return k;
}

/* 1 if every cell of the box [lo, hi) (cell coordinates) is free and has
 * device set `want`. */
static int box_matches(const grid *gr, const int *lo, const int *hi, const devset *want)
{
    int c[SOAP_MAX_DIMS];
    for (int d = 0; d < gr->ndims; d++) {
        if (lo[d] >= hi[d])
            return 0;
        c[d] = lo[d];
    }
    for (;;) {
        long k = cell_index(gr, c);
        if (gr->taken[k] || memcmp(&gr->set[k], want, sizeof *want) != 0)
            return 0;
        int d = gr->ndims - 1;
        while (d >= 0 && c[d] + 1 == hi[d]) {
            c[d] = lo[d];
            d--;
        }
        if (d < 0)
            return 1;
        c[d]++;
    }
}

static void box_take(grid *gr, const int *lo, const int *hi)
{
    int c[SOAP_MAX_DIMS];
    for (int d = 0; d < gr->ndims; d++)
        c[d] = lo[d];
    for (;;) {
        gr->taken[cell_index(gr, c)] = 1;
        int d = gr->ndims - 1;
        while (d >= 0 && c[d] + 1 == hi[d]) {
            c[d] = lo[d];
            d--;
        }
        if (d < 0)
            return;
        c[d]++;
    }
}

/* One task that needs a piece of a weight: op's weight slot `slot` is the
 * weight, and task `task` of op's config (on `device`) needs `region` of it
 * (not empty). weight_use_next walks them in (op, slot, task) order: the
 * one enumeration that the shards and their gradient producers share. */
typedef struct weight_use {
    int op, slot, task, device;
    soap_region region;
} weight_use;

static weight_use weight_use_first(void)
{
    return (weight_use){.op = 0, .slot = 0, .task = -1};
}

static int weight_use_next(const soap_graph *g, const soap_strategy *s, int w, weight_use *u)
{
    for (; u->op < g->nops; u->op++, u->slot = 0, u->task = -1) {
        const soap_op *o = &g->ops[u->op];
        const soap_config *c = &s->configs[u->op];
        for (; u->slot < o->nweights; u->slot++, u->task = -1) {
            if (o->weights[u->slot] != w)
                continue;
            while (++u->task < c->ntasks) {
                soap_region treg = soap_config_task_region(g, u->op, c, u->task);
                u->region = soap_op_weight_region(g, u->op, u->slot, &treg);
                if (!soap_region_empty(&u->region)) {
                    u->device = c->device[u->task];
                    return 1;
                }
            }
        }
    }
    return 0;
}

int soap_decomp_shards(const soap_graph *g, const soap_strategy *s, int weight,
                       soap_shard_vec *out)
{
    SOAP_ASSERT(g && s && s->nops == g->nops && out);
    SOAP_ASSERT(weight >= 0 && weight < g->nweights);
    out->n = 0;
    const soap_shape *ws = &g->weights[weight].shape;

    /* Every (op using the weight, task) need; duplicates (e.g. LSTM steps
     * with one config) are harmless. */
    int nneeds = 0, capneeds = 16;
    need *needs = soap_xmalloc((size_t)capneeds * sizeof *needs);
    for (weight_use u = weight_use_first(); weight_use_next(g, s, weight, &u);) {
        SOAP_ASSERT(u.region.ndims == ws->ndims);
        SOAP_ASSERT(u.device >= 0 && u.device < SOAP_MAX_DEVICES);
        if (nneeds == capneeds) {
            capneeds *= 2;
            needs = soap_xrealloc(needs, (size_t)capneeds * sizeof *needs);
        }
        needs[nneeds].r = u.region;
        needs[nneeds].device = u.device;
        nneeds++;
    }
    if (nneeds == 0) {
        free(needs);
        return 0;
    }

    /* The grid: per dim, every lo/hi of the needs. */
    grid gr;
    memset(&gr, 0, sizeof gr);
    gr.ndims = ws->ndims;
    gr.total = 1;
    for (int d = 0; d < gr.ndims; d++) {
        gr.cut[d] = soap_xmalloc((size_t)(2 * nneeds) * sizeof(int64_t));
        for (int k = 0; k < nneeds; k++) {
            gr.cut[d][2 * k] = needs[k].r.lo[d];
            gr.cut[d][2 * k + 1] = needs[k].r.hi[d];
        }
        gr.ncut[d] = unique_i64(gr.cut[d], 2 * nneeds);
        gr.ncells[d] = gr.ncut[d] - 1;
        SOAP_ASSERT(gr.ncells[d] >= 1);
        gr.total *= gr.ncells[d];
    }
    gr.set = soap_xcalloc((size_t)gr.total, sizeof *gr.set);
    gr.taken = soap_xcalloc((size_t)gr.total, 1);

    /* Mark each need's cells with its device. */
    for (int k = 0; k < nneeds; k++) {
        int lo[SOAP_MAX_DIMS], hi[SOAP_MAX_DIMS], c[SOAP_MAX_DIMS];
        for (int d = 0; d < gr.ndims; d++) {
            lo[d] = find_i64(gr.cut[d], gr.ncut[d], needs[k].r.lo[d]);
            hi[d] = find_i64(gr.cut[d], gr.ncut[d], needs[k].r.hi[d]);
            c[d] = lo[d];
        }
        int dev = needs[k].device;
        for (;;) {
            devset *ds = &gr.set[cell_index(&gr, c)];
            ds->w[dev / 64] |= (uint64_t)1 << (dev % 64);
            int d = gr.ndims - 1;
            while (d >= 0 && c[d] + 1 == hi[d]) {
                c[d] = lo[d];
                d--;
            }
            if (d < 0)
                break;
            c[d]++;
        }
    }
    free(needs);

    /* Greedy box merge in row-major order of the first cell. */
    int n = 0;
    int c[SOAP_MAX_DIMS] = {0};
    for (long k = 0; k < gr.total; k++) {
        /* c = cell coordinates of k */
        long rest = k;
        for (int d = gr.ndims - 1; d >= 0; d--) {
            c[d] = (int)(rest % gr.ncells[d]);
            rest /= gr.ncells[d];
        }
        if (gr.taken[k] || devset_empty(&gr.set[k]))
            continue;
        const devset want = gr.set[k];
        int lo[SOAP_MAX_DIMS], hi[SOAP_MAX_DIMS];
        for (int d = 0; d < gr.ndims; d++) {
            lo[d] = c[d];
            hi[d] = c[d] + 1;
        }
        /* Grow along the last dim first, then earlier dims, each by whole
         * slabs of the box grown so far. */
        for (int d = gr.ndims - 1; d >= 0; d--) {
            for (;;) {
                if (hi[d] >= gr.ncells[d])
                    break;
                int slo[SOAP_MAX_DIMS], shi[SOAP_MAX_DIMS];
                memcpy(slo, lo, sizeof slo);
                memcpy(shi, hi, sizeof shi);
                slo[d] = hi[d];
                shi[d] = hi[d] + 1;
                if (!box_matches(&gr, slo, shi, &want))
                    break;
                hi[d]++;
            }
        }
        box_take(&gr, lo, hi);
        if (n == out->cap)
            RESERVE(out, n + 1);
        soap_shard *sh = &out->data[n];
        memset(sh, 0, sizeof *sh);
        sh->weight = weight;
        sh->region.ndims = gr.ndims;
        for (int d = 0; d < gr.ndims; d++) {
            sh->region.lo[d] = gr.cut[d][lo[d]];
            sh->region.hi[d] = gr.cut[d][hi[d]];
        }
        int nd = 0;
        for (int dev = 0; dev < SOAP_MAX_DEVICES; dev++) {
            if (!(want.w[dev / 64] >> (dev % 64) & 1))
                continue;
            /* A cell can be held by at most every task of every op using
             * the weight; more distinct devices than SOAP_MAX_REPLICAS
             * would not fit the struct. */
            SOAP_ASSERT(nd < SOAP_MAX_REPLICAS);
            sh->devices[nd++] = (int16_t)dev;
        }
        sh->ndevices = nd;
        n++;
    }

    for (int d = 0; d < gr.ndims; d++)
        free(gr.cut[d]);
    free(gr.set);
    free(gr.taken);
    out->n = n;
    return n;
}

/* ------------------------------------------------------------------ */
/* The tasks that produce each shard's gradient                        */
/* ------------------------------------------------------------------ */

/* 1 if a and b share an element. */
static int regions_meet(const soap_region *a, const soap_region *b)
{
    for (int d = 0; d < a->ndims; d++) {
        int64_t lo = a->lo[d] > b->lo[d] ? a->lo[d] : b->lo[d];
        int64_t hi = a->hi[d] < b->hi[d] ? a->hi[d] : b->hi[d];
        if (lo >= hi)
            return 0;
    }
    return 1;
}

/* Index of dev in sh->devices (ascending), -1 if absent. */
static int replica_of(const soap_shard *sh, int dev)
{
    int lo = 0, hi = sh->ndevices - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (sh->devices[mid] == dev)
            return mid;
        if (sh->devices[mid] < dev)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static int grad_before(const soap_grad_task *a, const soap_grad_task *b)
{
    return a->shard < b->shard || (a->shard == b->shard && a->replica < b->replica);
}

/* Stable sort of v[0..n) by (shard, replica) through tmp[0..n): bottom-up
 * merges of runs of width 1, 2, 4, ..., alternating between the two;
 * the result ends in v. */
static void sort_grads(soap_grad_task *v, soap_grad_task *tmp, int n)
{
    soap_grad_task *src = v, *dst = tmp;
    for (int w = 1; w < n; w *= 2) {
        for (int lo = 0; lo < n; lo += 2 * w) {
            int mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int a = lo, b = mid, k = lo;
            while (a < mid && b < hi)
                dst[k++] = grad_before(&src[b], &src[a]) ? src[b++] : src[a++];
            while (a < mid)
                dst[k++] = src[a++];
            while (b < hi)
                dst[k++] = src[b++];
        }
        soap_grad_task *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, (size_t)n * sizeof *v);
}

int soap_decomp_grads(const soap_graph *g, const soap_strategy *s, const soap_shard *shards,
                      int nshards, soap_grad_vec *out)
{
    SOAP_ASSERT(g && s && s->nops == g->nops && out && nshards >= 0);
    SOAP_ASSERT(shards != NULL || nshards == 0);
    out->n = 0;
    if (nshards == 0)
        return 0;
    int w = shards[0].weight;
    SOAP_ASSERT(w >= 0 && w < g->nweights);
    for (int k = 1; k < nshards; k++)
        SOAP_ASSERT(shards[k].weight == w);

    /* (task, shard) pairs in (op, slot, task, shard) order. */
    int n = 0;
    for (weight_use u = weight_use_first(); weight_use_next(g, s, w, &u);)
        for (int si = 0; si < nshards; si++) {
            if (!regions_meet(&u.region, &shards[si].region))
                continue;
            /* The task's region is a union of grid cells, so it holds a cell
             * of the shard: the task's device is one of its holders. */
            int x = replica_of(&shards[si], u.device);
            SOAP_ASSERT(x >= 0);
            if (n == out->cap)
                RESERVE(out, n + 1);
            out->data[n++] = (soap_grad_task){.shard = si, .replica = x, .op = u.op,
                                              .task = u.task};
        }
    /* The upper half of the output is the merge buffer. */
    RESERVE(out, 2 * n);
    sort_grads(out->data, out->data + n, n);
    out->n = n;

    /* Every replica computes some of its shard's gradient (that is why it
     * holds the shard). */
    int j = 0;
    for (int si = 0; si < nshards; si++)
        for (int x = 0; x < shards[si].ndevices; x++) {
            SOAP_ASSERT(j < n && out->data[j].shard == si && out->data[j].replica == x);
            while (j < n && out->data[j].shard == si && out->data[j].replica == x)
                j++;
        }
    SOAP_ASSERT(j == n);
    return n;
}
