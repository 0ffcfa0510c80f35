/* taskgraph.c: the simulator's task graph: the task and edge pools with
 * their free lists, and the builders of the three kinds of groups:
 *
 *  - compute(op): a fwd and a bwd task per task of op's config on its
 *    device, durations from soap_costs_task for that device's type; bwd
 *    depends on fwd (the activations). An INPUT has only a fwd task (data
 *    need no gradient).
 *  - edge(op, input): soap_decomp_edge's transfers. Same device: a plain
 *    dependency fwd(producer task) -> fwd(consumer task). Between two
 *    devices: one message per (source device, destination device) pair,
 *    carrying every piece between them, as a chain of transfer tasks over
 *    soap_machine_route's hops, each on its link direction (or bus) for
 *    latency + bytes / bandwidth seconds; it leaves after the fwd of every
 *    contributing producer task and precedes the fwd of every consumer task
 *    it feeds. Backward: the gradient of the same regions goes from those
 *    consumers' bwd tasks back to those producers' bwd tasks as one message
 *    over the route in the other direction (none for an INPUT producer).
 *    An all-gather edge (soap_decomp_allgather: every consumer task needs
 *    every producer block, one device set of k >= 3) is instead one ring
 *    collective per pass (gather_pass): k messages along the ring rather
 *    than k(k - 1) pairs, each with soap_gather_edge_elems' elements. An
 *    all-to-all edge (soap_decomp_alltoall: every consumer task needs a
 *    piece of every producer task) keeps its pairs' bytes but is one
 *    collective per pass too (alltoall_pass): a task per link direction
 *    the messages cross, between joins.
 *  - sync(weight): per soap_decomp_shards shard held by k devices: k == 1:
 *    an update task after the bwd tasks that compute the shard's gradient on
 *    that device (soap_decomp_grads says which, per replica); ps: each other
 *    replica sends its gradient to the first device, an update there, the
 *    updated shard goes back (a replica's part starts after its last bwd
 *    task computing that gradient); allreduce: a ring over the replicas in
 *    ascending order, one collective that starts when every replica's
 *    gradient is ready (a zero-duration join): each ring edge moves 2(k-1)
 *    chunks of bytes/k, streamed through its route's hops (one task per hop,
 *    see build_shard), then a join and an update per replica. With no_overlap, sync waits for the barrier that follows every
 *    bwd task instead.
 *    Update: 3 x shard bytes / memory bandwidth + launch overhead (read the
 *    weight and its gradient, write the weight).
 *
 * Keys follow sim_internal.h; they depend only on each task's identity.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

const char *const sim_kind_names[SIM_KIND_COUNT] = {
    [SIM_FREE] = "free", [SIM_FWD] = "fwd",       [SIM_BWD] = "bwd",
    [SIM_XFER] = "xfer", [SIM_GRAD] = "grad",     [SIM_SYNC] = "sync",
    [SIM_UPDATE] = "update", [SIM_JOIN] = "join", [SIM_BARRIER] = "barrier",
};

/* ------------------------------------------------------------------ */
/* Vectors and pools                                                   */
/* ------------------------------------------------------------------ */

void sim_ivec_push(sim_ivec *v, int x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 256;
        v->v = soap_xrealloc(v->v, (size_t)v->cap * sizeof *v->v);
    }
    v->v[v->n++] = x;
}

void sim_ivec_free(sim_ivec *v)
{
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

/* The arrays indexed by task slot or holding up to one entry per task. */
static void resize_task_arrays(soap_sim *sim, int cap)
{
    /* 64-byte aligned, so that each task's hot fields sit in one line. */
    sim_task *t = aligned_alloc(_Alignof(sim_task), (size_t)cap * sizeof *t);
    SOAP_ASSERT(t != NULL);
    if (sim->task_used)
        memcpy(t, sim->tasks, (size_t)sim->task_used * sizeof *t);
    free(sim->tasks);
    sim->tasks = t;
    sim->order = soap_xrealloc(sim->order, (size_t)cap * sizeof *sim->order);
    sim->pmax = soap_xrealloc(sim->pmax, (size_t)cap * sizeof *sim->pmax);
    sim->snap_id = soap_xrealloc(sim->snap_id, (size_t)cap * sizeof *sim->snap_id);
    sim->snap_ready = soap_xrealloc(sim->snap_ready, (size_t)cap * sizeof *sim->snap_ready);
    sim->task_cap = cap;
}

void sim_pools_init(soap_sim *sim)
{
    resize_task_arrays(sim, 1024);
    sim->edge_cap = 4096;
    sim->edges = soap_xmalloc((size_t)sim->edge_cap * sizeof *sim->edges);
    sim->task_used = sim->edge_used = 0;
    sim->task_free = sim->edge_free = -1;
    sim->pairs = soap_xmalloc((size_t)SOAP_MAX_TASKS * SOAP_MAX_TASKS * sizeof *sim->pairs);
    memset(sim->pair_slot, 0xff, sizeof sim->pair_slot); /* every entry -1 */
    sim->dev_rank = soap_xmalloc((size_t)sim->m->ndevices * sizeof *sim->dev_rank);
    for (int d = 0; d < sim->m->ndevices; d++)
        sim->dev_rank[d] = -1;
}

void sim_pools_free(soap_sim *sim)
{
    free(sim->tasks);
    free(sim->order);
    free(sim->pmax);
    free(sim->heap);
    free(sim->snap_id);
    free(sim->snap_ready);
    free(sim->edges);
    free(sim->pairs);
    free(sim->dev_rank);
}

void sim_graph_clear(soap_sim *sim)
{
    sim->task_used = sim->edge_used = 0;
    sim->task_free = sim->edge_free = -1;
    sim->nlive = 0;
    sim->norder = 0;
    sim->nheap = 0;
    sim->barrier = -1;
    for (int i = 0; i < sim->ngroups; i++)
        sim->group_head[i] = -1;
    sim->created.n = sim->dead.n = sim->changed.n = sim->undo_groups.n = 0;
    sim->pending = sim->can_undo = 0;
}

/* A new task in `group`, state SIM_NEW, recorded in sim->created. */
static int task_new(soap_sim *sim, int group, uint64_t key, sim_kind kind, int res,
                    double dur)
{
    SOAP_ASSERT(dur >= 0 && dur < 1e30);
    if (sim->task_free < 0 && sim->task_used == sim->task_cap)
        resize_task_arrays(sim, 2 * sim->task_cap);
    int x;
    if (sim->task_free >= 0) {
        x = sim->task_free;
        sim->task_free = sim->tasks[x].gnext;
    } else {
        x = sim->task_used++;
    }
    sim_task *t = &sim->tasks[x];
    memset(t, 0, sizeof *t);
    t->key = key;
    t->dur = dur;
    t->res = res;
    t->eout = t->ein = -1;
    t->pos = INT32_MAX;
    t->res_prev = -1;
    t->kind = (uint8_t)kind;
    t->state = SIM_NEW;
    t->group = group;
    t->gnext = sim->group_head[group];
    sim->group_head[group] = x;
    t->op = t->idx = t->idx2 = t->input = t->dev = t->link = t->target = -1;
    sim->nlive++;
    sim_ivec_push(&sim->created, x);
    return x;
}

static void edge_add(soap_sim *sim, int src, int dst)
{
    SOAP_ASSERT(src >= 0 && dst >= 0 && src != dst);
    SOAP_ASSERT(sim->tasks[src].key < sim->tasks[dst].key);
    int e;
    if (sim->edge_free >= 0) {
        e = sim->edge_free;
        sim->edge_free = sim->edges[e].next_out;
    } else {
        if (sim->edge_used == sim->edge_cap) {
            sim->edge_cap *= 2;
            sim->edges = soap_xrealloc(sim->edges, (size_t)sim->edge_cap * sizeof *sim->edges);
        }
        e = sim->edge_used++;
    }
    sim_edge *ed = &sim->edges[e];
    sim_task *s = &sim->tasks[src], *d = &sim->tasks[dst];
    ed->src = src;
    ed->dst = dst;
    ed->prev_out = -1;
    ed->next_out = s->eout;
    if (s->eout >= 0)
        sim->edges[s->eout].prev_out = e;
    s->eout = e;
    ed->prev_in = -1;
    ed->next_in = d->ein;
    if (d->ein >= 0)
        sim->edges[d->ein].prev_in = e;
    d->ein = e;
}

static void edge_release(soap_sim *sim, int e)
{
    sim->edges[e].src = sim->edges[e].dst = -1;
    sim->edges[e].next_out = sim->edge_free;
    sim->edge_free = e;
}

void sim_task_detach(soap_sim *sim, int x)
{
    sim_task *t = &sim->tasks[x];
    for (int e = t->eout; e >= 0;) {
        sim_edge *ed = &sim->edges[e];
        int next = ed->next_out;
        sim_task *d = &sim->tasks[ed->dst];
        if (ed->prev_in >= 0)
            sim->edges[ed->prev_in].next_in = ed->next_in;
        else
            d->ein = ed->next_in;
        if (ed->next_in >= 0)
            sim->edges[ed->next_in].prev_in = ed->prev_in;
        edge_release(sim, e);
        e = next;
    }
    t->eout = -1;
    for (int e = t->ein; e >= 0;) {
        sim_edge *ed = &sim->edges[e];
        int next = ed->next_in;
        sim_task *s = &sim->tasks[ed->src];
        if (ed->prev_out >= 0)
            sim->edges[ed->prev_out].next_out = ed->next_out;
        else
            s->eout = ed->next_out;
        if (ed->next_out >= 0)
            sim->edges[ed->next_out].prev_out = ed->prev_out;
        edge_release(sim, e);
        e = next;
    }
    t->ein = -1;
}

/* Removes edge e from the in-list of its destination / the out-list of its
 * source (the edge record stays in the other end's list). */
static void unlink_in(soap_sim *sim, int e)
{
    sim_edge *ed = &sim->edges[e];
    if (ed->prev_in >= 0)
        sim->edges[ed->prev_in].next_in = ed->next_in;
    else
        sim->tasks[ed->dst].ein = ed->next_in;
    if (ed->next_in >= 0)
        sim->edges[ed->next_in].prev_in = ed->prev_in;
}

static void unlink_out(soap_sim *sim, int e)
{
    sim_edge *ed = &sim->edges[e];
    if (ed->prev_out >= 0)
        sim->edges[ed->prev_out].next_out = ed->next_out;
    else
        sim->tasks[ed->src].eout = ed->next_out;
    if (ed->next_out >= 0)
        sim->edges[ed->next_out].prev_out = ed->prev_out;
}

void sim_task_unlink(soap_sim *sim, int x)
{
    const sim_task *T = sim->tasks;
    for (int e = T[x].eout; e >= 0; e = sim->edges[e].next_out)
        if (T[sim->edges[e].dst].state != SIM_DEAD)
            unlink_in(sim, e);
    for (int e = T[x].ein; e >= 0; e = sim->edges[e].next_in)
        if (T[sim->edges[e].src].state != SIM_DEAD)
            unlink_out(sim, e);
}

void sim_task_relink(soap_sim *sim, int x)
{
    sim_task *T = sim->tasks;
    for (int e = T[x].eout; e >= 0; e = sim->edges[e].next_out) {
        sim_edge *ed = &sim->edges[e];
        sim_task *d = &T[ed->dst];
        if (d->state == SIM_DEAD)
            continue;
        ed->prev_in = -1;
        ed->next_in = d->ein;
        if (d->ein >= 0)
            sim->edges[d->ein].prev_in = e;
        d->ein = e;
    }
    for (int e = T[x].ein; e >= 0; e = sim->edges[e].next_in) {
        sim_edge *ed = &sim->edges[e];
        sim_task *s = &T[ed->src];
        if (s->state == SIM_DEAD)
            continue;
        ed->prev_out = -1;
        ed->next_out = s->eout;
        if (s->eout >= 0)
            sim->edges[s->eout].prev_out = e;
        s->eout = e;
    }
}

void sim_release_unlinked(soap_sim *sim, const int *dead, int n)
{
    sim_task *T = sim->tasks;
    /* Every edge once: those from a live task by the dead end's in-list,
     * the rest by their (dead) source's out-list. */
    for (int i = 0; i < n; i++)
        for (int e = T[dead[i]].ein; e >= 0;) {
            int next = sim->edges[e].next_in;
            if (T[sim->edges[e].src].state != SIM_DEAD)
                edge_release(sim, e);
            e = next;
        }
    for (int i = 0; i < n; i++) {
        for (int e = T[dead[i]].eout; e >= 0;) {
            int next = sim->edges[e].next_out;
            edge_release(sim, e);
            e = next;
        }
    }
    for (int i = 0; i < n; i++) {
        T[dead[i]].eout = T[dead[i]].ein = -1;
        sim_task_release(sim, dead[i]);
    }
}

void sim_task_release(soap_sim *sim, int x)
{
    sim_task *t = &sim->tasks[x];
    SOAP_ASSERT(t->kind != SIM_FREE && t->eout < 0 && t->ein < 0);
    t->kind = SIM_FREE;
    t->gnext = sim->task_free;
    sim->task_free = x;
    sim->nlive--;
}

void sim_edge_ends(const soap_sim *sim, int e, int *op, int *input)
{
    SOAP_ASSERT(e >= 0 && e < sim->nedges);
    *op = sim->edge_op[e];
    *input = e - sim->edge_base[*op];
    SOAP_ASSERT(*input >= 0 && *input < sim->g->ops[*op].ninputs);
}

/* ------------------------------------------------------------------ */
/* Transfers over routes                                               */
/* ------------------------------------------------------------------ */

/* Resource of one hop: the link's direction, or the bus. */
static int hop_res(const soap_sim *sim, const soap_hop *h)
{
    const soap_link *l = &sim->m->links[h->link];
    int r = sim->link_res[h->link];
    if (l->nends == 2 && h->from != l->ends[0])
        r++;
    return r;
}

/* Identity of a chain's tasks (copied to every hop). */
typedef struct chain_id {
    int op, idx, idx2, input;
    int gather; /* 1: a ring edge of an all-gather edge's collective */
} chain_id;

/* Adds the hops of a transfer of `bytes` from device a to device b; hop h
 * gets key | h << hop_shift. The first hop depends on `pred` (if >= 0).
 * Returns the last hop; *first gets the first. */
static int add_chain(soap_sim *sim, int group, sim_kind kind, int a, int b, double bytes,
                     uint64_t key, int hop_shift, const chain_id *id, int pred, int *first)
{
    int len;
    const soap_hop *hops = soap_machine_route(sim->m, a, b, &len);
    SOAP_ASSERT(len >= 1 && len < SIM_KEY_MAX_HOPS);
    int prev = pred, head = -1;
    for (int h = 0; h < len; h++) {
        const soap_link *l = &sim->m->links[hops[h].link];
        double dur = l->latency + bytes / l->bandwidth;
        int x = task_new(sim, group, key | ((uint64_t)h << hop_shift), kind,
                         hop_res(sim, &hops[h]), dur);
        sim_task *t = &sim->tasks[x];
        t->op = id->op;
        t->idx = id->idx;
        t->idx2 = id->idx2;
        t->input = id->input;
        t->gather = (uint8_t)id->gather;
        t->dev = b;
        t->link = hops[h].link;
        t->hop = (uint8_t)h;
        t->last = (uint8_t)(h == len - 1);
        t->bytes = bytes;
        if (prev >= 0)
            edge_add(sim, prev, x);
        if (h == 0)
            head = x;
        prev = x;
    }
    if (first)
        *first = head;
    return prev;
}

/* ------------------------------------------------------------------ */
/* Compute tasks                                                       */
/* ------------------------------------------------------------------ */

void sim_config_costs(soap_sim *sim, int op, const soap_config *c, soap_task_cost *out)
{
    const soap_graph *g = sim->g;
    /* The cost of the previous task, reused while the device type and the
     * block's sizes repeat (equal blocks on one kind of device: most
     * tasks), which saves the cache's hashing. */
    const soap_device_type *prev_type = NULL;
    int64_t prev_size[SOAP_MAX_DIMS] = {0};
    soap_task_cost tc = {0, 0};
    for (int t = 0; t < c->ntasks; t++) {
        soap_region r = soap_config_task_region(g, op, c, t);
        const soap_device_type *type = &sim->m->types[sim->m->devices[c->device[t]].type];
        int same = type == prev_type;
        for (int d = 0; d < r.ndims && same; d++)
            same = r.hi[d] - r.lo[d] == prev_size[d];
        if (!same) {
            tc = soap_costs_task(sim->costs, g, op, &r, type);
            prev_type = type;
            for (int d = 0; d < r.ndims; d++)
                prev_size[d] = r.hi[d] - r.lo[d];
        }
        out[t] = tc;
    }
}

void sim_build_compute(soap_sim *sim, int op)
{
    const soap_graph *g = sim->g;
    const soap_op *o = &g->ops[op];
    const soap_config *c = &sim->strat->configs[op];
    int group = sim_group_compute(sim, op);
    soap_task_cost costs[SOAP_MAX_TASKS];
    sim_config_costs(sim, op, c, costs);
    for (int t = 0; t < c->ntasks; t++) {
        soap_region r = soap_config_task_region(g, op, c, t);
        int dev = c->device[t];
        soap_task_cost tc = costs[t];
        double bytes = (double)soap_region_volume(&r) * SOAP_ELEM_BYTES;
        int f = task_new(sim, group, sim_key_compute(SIM_PHASE_FWD, op, t), SIM_FWD, dev,
                         tc.fwd_s);
        sim_task *ft = &sim->tasks[f];
        ft->op = op;
        ft->idx = t;
        ft->dev = dev;
        ft->bytes = bytes;
        sim->fwd_id[op][t] = f;
        sim->bwd_id[op][t] = -1;
        if (o->kind == SOAP_OP_INPUT)
            continue;
        int b = task_new(sim, group, sim_key_compute(SIM_PHASE_BWD, op, t), SIM_BWD, dev,
                         tc.bwd_s);
        sim_task *bt = &sim->tasks[b];
        bt->op = op;
        bt->idx = t;
        bt->dev = dev;
        bt->bytes = bytes;
        bt->target = f;
        sim->tasks[f].target = b;
        sim->bwd_id[op][t] = b;
        /* The activations: ops nobody consumes (the loss) start backward
         * right after their forward; the rest also wait for gradients. */
        edge_add(sim, f, b);
        if (sim->barrier >= 0)
            edge_add(sim, b, sim->barrier);
    }
}

/* ------------------------------------------------------------------ */
/* Activation and gradient transfers of one graph edge                 */
/* ------------------------------------------------------------------ */

/* rank[t] = the rank of task t's device among the distinct devices of c,
 * in the order of first use (0, 1, ...): a small index for pair_slot. */
static void device_ranks(soap_sim *sim, const soap_config *c, int *rank)
{
    int n = 0;
    for (int t = 0; t < c->ntasks; t++) {
        int d = c->device[t];
        if (sim->dev_rank[d] < 0)
            sim->dev_rank[d] = n++;
        rank[t] = sim->dev_rank[d];
    }
    for (int t = 0; t < c->ntasks; t++)
        sim->dev_rank[c->device[t]] = -1;
}

/* Edges from `from` (a compute task id per task index: fwd_id or bwd_id of
 * one op) for every task in mask to x, or from x to each if `into`. */
static void link_mask(soap_sim *sim, const int *from, uint64_t mask, int x, int into)
{
    for (; mask; mask &= mask - 1) {
        int t = __builtin_ctzll(mask);
        if (into)
            edge_add(sim, x, from[t]);
        else
            edge_add(sim, from[t], x);
    }
}

/* The ring collective of an all-gather edge (soap_decomp_allgather): in one
 * pass (forward: the all-gather of the producer blocks, kind SIM_XFER;
 * backward: the reduce-scatter of their gradients, SIM_GRAD), a join
 * (step 0) after every task in `before`, then per ring edge r one message
 * of soap_gather_edge_elems(r, backward) elements from devices[r] to
 * devices[r + 1 mod k] as a chain over its route's hops (step 1, like a
 * pair's message: latency + bytes / bandwidth per hop), then a join (step
 * 2) that every task in `after` waits for. The message stands for the k - 1
 * chunks the ring edge moves (their bytes in one task per hop, as the
 * all-reduce does): the k ring edges together move the (k - 1) x total
 * elements of the k(k - 1) point-to-point messages. Every consumer waits
 * for the whole collective, also for the blocks its own device made (they
 * need nothing else: the join follows every producer). `feed[r]` is the
 * task the message into ring position r feeds (the smallest consumer fwd
 * task, respectively the smallest producer bwd task, on that device): the
 * received bytes are held until its bwd (forward) or its end (backward). */
static void gather_pass(soap_sim *sim, int group, int c, int i, const soap_gather *ga,
                        int phase, const int *before, int nbefore, const int *after,
                        int nafter, const int *feed)
{
    int k = ga->ndevices, backward = phase == SIM_PHASE_BWD;
    sim_kind kind = backward ? SIM_GRAD : SIM_XFER;
    int join[2];
    for (int j = 0; j < 2; j++) {
        join[j] = task_new(sim, group, sim_key_gather(phase, c, i, 2 * j, 0), SIM_JOIN, -1, 0);
        sim_task *t = &sim->tasks[join[j]];
        t->op = c;
        t->input = i;
        t->idx2 = 2 * j;
        t->dev = ga->devices[0];
        t->gather = 1;
    }
    for (int q = 0; q < nbefore; q++)
        edge_add(sim, before[q], join[0]);
    for (int r = 0; r < k; r++) {
        int to = (r + 1) % k;
        double bytes = (double)soap_gather_edge_elems(ga, r, backward) * SOAP_ELEM_BYTES;
        chain_id id = {.op = c, .idx = r, .idx2 = 1, .input = i, .gather = 1};
        int last = add_chain(sim, group, kind, ga->devices[r], ga->devices[to], bytes,
                             sim_key_gather(phase, c, i, 1, r), SIM_KEY_PASS_HOP_SHIFT, &id,
                             join[0], NULL);
        sim->tasks[last].target = feed[to];
        edge_add(sim, last, join[1]);
    }
    for (int q = 0; q < nafter; q++)
        edge_add(sim, join[1], after[q]);
}

static void build_gather(soap_sim *sim, int group, int c, int i, int p, const soap_gather *ga,
                         int grad)
{
    const soap_config *pc = &sim->strat->configs[p], *cc = &sim->strat->configs[c];
    int k = ga->ndevices;
    for (int r = 0; r < k; r++)
        sim->dev_rank[ga->devices[r]] = r;
    /* The smallest consumer / producer task on each ring position (every
     * position holds both: one device set). */
    int cmin[SOAP_MAX_TASKS], pmin[SOAP_MAX_TASKS];
    for (int r = 0; r < k; r++)
        cmin[r] = pmin[r] = -1;
    for (int t = cc->ntasks - 1; t >= 0; t--)
        cmin[sim->dev_rank[cc->device[t]]] = t;
    for (int s = pc->ntasks - 1; s >= 0; s--)
        pmin[sim->dev_rank[pc->device[s]]] = s;
    for (int r = 0; r < k; r++) {
        SOAP_ASSERT(cmin[r] >= 0 && pmin[r] >= 0);
        sim->dev_rank[ga->devices[r]] = -1;
    }
    int feed[SOAP_MAX_TASKS] = {0};
    for (int r = 0; r < k; r++)
        feed[r] = sim->fwd_id[c][cmin[r]];
    gather_pass(sim, group, c, i, ga, SIM_PHASE_FWD, sim->fwd_id[p], pc->ntasks,
                sim->fwd_id[c], cc->ntasks, feed);
    if (!grad)
        return;
    for (int r = 0; r < k; r++)
        feed[r] = sim->bwd_id[p][pmin[r]];
    gather_pass(sim, group, c, i, ga, SIM_PHASE_BWD, sim->bwd_id[c], cc->ntasks,
                sim->bwd_id[p], pc->ntasks, feed);
}

/* Keys of an all-to-all edge's tasks lie in the consumer's transfer block
 * of the pass, marked like a gather's (low bit): step 0 the start join, 1
 * the link tasks (the resource in bits 1..13), 2 the done join, 3 the
 * arrival joins (the receiving device's rank). */
#define A2A_MAX_RES (1 << 13)

/* One pass of an all-to-all edge (soap_decomp_alltoall) as a collective:
 * a join (step 0) after every task of `before`; then for every link
 * direction (or bus) that the pairs' messages cross, one task holding it
 * for latency + (the bytes of every message over it) / bandwidth: the
 * messages share their links, all links busy side by side, as the ring
 * all-reduce's hops are; a join (2) when every link is done; and per
 * receiving device an arrival join (3) holding the bytes it received
 * (sim_result.c's memory: from its end until the end of the bwd of
 * `feed`, the smallest receiving task there, forward; until the end of
 * feed, backward), which its receiving tasks wait for. Pairs go from
 * pr->src to pr->dst forward and back backward. */
static void alltoall_pass(soap_sim *sim, int group, int c, int i, int phase,
                          const sim_pair *pairs, int npairs, const int *before, int nbefore,
                          const soap_config *rc, const int *recv_ids)
{
    int backward = phase == SIM_PHASE_BWD;
    sim_kind kind = backward ? SIM_GRAD : SIM_XFER;
    const soap_machine *m = sim->m;
    /* Bytes per resource and per receiving device. */
    int nagg = 0;
    double recv[SOAP_MAX_TASKS] = {0};
    int rank[SOAP_MAX_TASKS];
    int nrecv = 0;
    for (int t = 0; t < rc->ntasks; t++) {
        int d = rc->device[t];
        if (sim->dev_rank[d] < 0)
            sim->dev_rank[d] = nrecv++;
        rank[t] = sim->dev_rank[d];
    }
    for (int q = 0; q < npairs; q++) {
        const sim_pair *pr = &pairs[q];
        int a = backward ? pr->dst : pr->src, b = backward ? pr->src : pr->dst, len;
        double bytes = (double)pr->elems * SOAP_ELEM_BYTES;
        recv[sim->dev_rank[b]] += bytes;
        const soap_hop *hops = soap_machine_route(m, a, b, &len);
        for (int h = 0; h < len; h++) {
            int r = hop_res(sim, &hops[h]);
            if (sim->agg_bytes[r] == 0)
                sim->agg_res[nagg++] = r;
            sim->agg_bytes[r] += bytes;
            if (h == 0)
                sim->agg_sent[r] += bytes;
        }
    }
    int join[3];
    for (int j = 0; j < 2; j++) {
        join[j] = task_new(sim, group, sim_key_gather(phase, c, i, 2 * j, 0), SIM_JOIN, -1, 0);
        sim_task *t = &sim->tasks[join[j]];
        t->op = c;
        t->input = i;
        t->idx2 = 2 * j;
        t->gather = 2;
    }
    for (int q = 0; q < nbefore; q++)
        edge_add(sim, before[q], join[0]);
    for (int k = 0; k < nagg; k++) {
        int r = sim->agg_res[k], l = sim->res_link[r];
        const soap_link *lk = &m->links[l];
        double bytes = sim->agg_bytes[r];
        int y = task_new(sim, group, sim_key_gather(phase, c, i, 1, 0) | ((uint64_t)r << 1),
                         kind, r, lk->latency + bytes / lk->bandwidth);
        sim_task *t = &sim->tasks[y];
        t->op = c;
        t->input = i;
        t->idx2 = 1;
        t->link = l;
        t->hop = 1; /* bytes_total reads t->sent, not hop 0 */
        t->bytes = bytes;
        t->sent = sim->agg_sent[r];
        t->gather = 2;
        sim->agg_bytes[r] = sim->agg_sent[r] = 0;
        edge_add(sim, join[0], y);
        edge_add(sim, y, join[1]);
    }
    /* Arrivals: one per receiving device, in rank order. */
    int arrive[SOAP_MAX_TASKS];
    for (int t = rc->ntasks - 1; t >= 0; t--)
        arrive[rank[t]] = t; /* the smallest receiving task of each device */
    for (int d = 0; d < nrecv; d++) {
        int feed = recv_ids[arrive[d]];
        join[2] = task_new(sim, group, sim_key_gather(phase, c, i, 3, d), SIM_JOIN, -1, 0);
        sim_task *t = &sim->tasks[join[2]];
        t->op = c;
        t->input = i;
        t->idx2 = 3;
        t->dev = rc->device[arrive[d]];
        t->bytes = recv[d];
        t->target = feed;
        t->gather = 2;
        edge_add(sim, join[1], join[2]);
        arrive[d] = join[2];
    }
    for (int t = 0; t < rc->ntasks; t++)
        edge_add(sim, arrive[rank[t]], recv_ids[t]);
    for (int t = 0; t < rc->ntasks; t++)
        sim->dev_rank[rc->device[t]] = -1;
}

/* The pieces of soap_decomp_edge between tasks on one device are plain
 * dependencies. The pieces between two devices travel as one message per
 * (source device, destination device) pair: its bytes are the sum of the
 * pieces', it leaves when every producer task on the source that
 * contributes has finished, and every consumer task on the destination
 * that needs any of it waits for all of it (so does the gradient, in the
 * other direction). Its key uses the smallest producer and consumer task of
 * the pair, which name the pair (a task sits on one device). Received bytes
 * are held (sim_result.c's memory figure) until the smallest consumer
 * task's bwd, respectively the smallest producer task's bwd, ends. */
void sim_build_edge(soap_sim *sim, int e)
{
    const soap_graph *g = sim->g;
    int c, i;
    sim_edge_ends(sim, e, &c, &i);
    int p = g->ops[c].inputs[i];
    const soap_config *pc = &sim->strat->configs[p], *cc = &sim->strat->configs[c];
    int n = soap_decomp_edge(g, c, i, pc, cc, &sim->xfers);
    int group = sim_group_edge(sim, e);
    int grad = g->ops[p].kind != SOAP_OP_INPUT;
    soap_gather ga;
    if (soap_decomp_allgather(g, c, i, pc, cc, &sim->xfers, &ga)) {
        build_gather(sim, group, c, i, p, &ga, grad);
        return;
    }
    int prank[SOAP_MAX_TASKS], crank[SOAP_MAX_TASKS];
    device_ranks(sim, pc, prank);
    device_ranks(sim, cc, crank);
    int npairs = 0;
    for (int k = 0; k < n; k++) {
        const soap_xfer *x = &sim->xfers.data[k];
        int s = x->src_task, t = x->dst_task;
        SOAP_ASSERT(s >= 0 && s < pc->ntasks && t >= 0 && t < cc->ntasks);
        int ds = pc->device[s], dt = cc->device[t];
        if (ds == dt) {
            edge_add(sim, sim->fwd_id[p][s], sim->fwd_id[c][t]);
            if (grad)
                edge_add(sim, sim->bwd_id[c][t], sim->bwd_id[p][s]);
            continue;
        }
        int16_t *slot = &sim->pair_slot[prank[s]][crank[t]];
        if (*slot < 0) {
            *slot = (int16_t)npairs;
            sim->pairs[npairs++] = (sim_pair){.src = ds, .dst = dt, .smin = s, .tmin = t};
        }
        sim_pair *pr = &sim->pairs[*slot];
        pr->elems += soap_region_volume(&x->region);
        pr->smask |= 1ull << s;
        pr->tmask |= 1ull << t;
        if (s < pr->smin)
            pr->smin = s;
        if (t < pr->tmin)
            pr->tmin = t;
    }
    if (sim->nres <= A2A_MAX_RES && soap_decomp_alltoall(g, c, i, pc, cc, &sim->xfers)) {
        for (int q = 0; q < npairs; q++)
            sim->pair_slot[prank[sim->pairs[q].smin]][crank[sim->pairs[q].tmin]] = -1;
        alltoall_pass(sim, group, c, i, SIM_PHASE_FWD, sim->pairs, npairs, sim->fwd_id[p],
                      pc->ntasks, cc, sim->fwd_id[c]);
        if (grad)
            alltoall_pass(sim, group, c, i, SIM_PHASE_BWD, sim->pairs, npairs, sim->bwd_id[c],
                          cc->ntasks, pc, sim->bwd_id[p]);
        return;
    }
    for (int q = 0; q < npairs; q++) {
        const sim_pair *pr = &sim->pairs[q];
        sim->pair_slot[prank[pr->smin]][crank[pr->tmin]] = -1;
        double bytes = (double)pr->elems * SOAP_ELEM_BYTES;
        chain_id id = {.op = c, .idx = pr->tmin, .idx2 = pr->smin, .input = i};
        int first;
        int last = add_chain(sim, group, SIM_XFER, pr->src, pr->dst, bytes,
                             sim_key_pass(SIM_PHASE_FWD, c, 0, i, pr->tmin, pr->smin),
                             SIM_KEY_PASS_HOP_SHIFT, &id, -1, &first);
        link_mask(sim, sim->fwd_id[p], pr->smask, first, 0);
        link_mask(sim, sim->fwd_id[c], pr->tmask, last, 1);
        sim->tasks[last].target = sim->fwd_id[c][pr->tmin];
        if (!grad)
            continue;
        last = add_chain(sim, group, SIM_GRAD, pr->dst, pr->src, bytes,
                         sim_key_pass(SIM_PHASE_BWD, c, 1, i, pr->tmin, pr->smin),
                         SIM_KEY_PASS_HOP_SHIFT, &id, -1, &first);
        link_mask(sim, sim->bwd_id[c], pr->tmask, first, 0);
        link_mask(sim, sim->bwd_id[p], pr->smask, last, 1);
        sim->tasks[last].target = sim->bwd_id[p][pr->smin];
    }
}

/* ------------------------------------------------------------------ */
/* Weight synchronisation                                              */
/* ------------------------------------------------------------------ */

/* Bounds of each replica's run in sim->grads for shard si (entries from
 * *next on, ordered by (shard, replica)): replica x's tasks are
 * grads.data[dep_start[x] .. dep_start[x+1]). */
static void shard_deps(soap_sim *sim, int si, int k, int *next)
{
    const soap_grad_vec *gv = &sim->grads;
    int j = *next;
    for (int x = 0; x < k; x++) {
        sim->dep_start[x] = j;
        while (j < gv->n && gv->data[j].shard == si && gv->data[j].replica == x)
            j++;
        SOAP_ASSERT(j > sim->dep_start[x]); /* a replica computes it */
    }
    sim->dep_start[k] = j;
    *next = j;
}

/* Makes `target` wait for replica x's gradient (or the barrier). */
static void wait_grad(soap_sim *sim, int x, int target)
{
    if (sim->barrier >= 0) {
        edge_add(sim, sim->barrier, target);
        return;
    }
    for (int j = sim->dep_start[x]; j < sim->dep_start[x + 1]; j++) {
        const soap_grad_task *gt = &sim->grads.data[j];
        int b = sim->bwd_id[gt->op][gt->task];
        SOAP_ASSERT(b >= 0);
        edge_add(sim, b, target);
    }
}

static int update_task(soap_sim *sim, int group, uint64_t key, int w, int si, int dev,
                       double bytes)
{
    const soap_device_type *type = &sim->m->types[sim->m->devices[dev].type];
    double dur = 3.0 * bytes / type->mem_bandwidth + type->launch_overhead;
    int u = task_new(sim, group, key, SIM_UPDATE, dev, dur);
    sim_task *t = &sim->tasks[u];
    t->op = w;
    t->idx = si;
    t->dev = dev;
    t->bytes = bytes;
    return u;
}

/* A sync transfer of the shard's bytes from device a to b (step, chunk r
 * in the key), after `pred` (if >= 0); the last hop feeds `target` (if >=
 * 0). Returns the last hop; *first its first. */
static int sync_chain(soap_sim *sim, int group, int w, int si, int step, int r, int a, int b,
                      double bytes, int pred, int *first)
{
    chain_id id = {.op = w, .idx = si, .idx2 = step, .input = r};
    return add_chain(sim, group, SIM_SYNC, a, b, bytes, sim_key_sync(w, si, step, r),
                     SIM_KEY_SYNC_HOP_SHIFT, &id, pred, first);
}

/* The paper's runtime (--sync master): replica x's node master is the
 * first replica (lowest device: D is ascending) on its node; the global
 * master is D[0], the master of its node. Steps (the key's step field):
 * 1 each replica's gradient to its node master, 2 each other node master's
 * sum to D[0] (once its node's gradients and its own are in), 3 the
 * update on D[0] (once every node's sum and D[0]'s node are in), 4 the
 * weights from D[0] to each other node master, 5 from each node master to
 * its node's replicas. Summing the received gradients costs nothing beside
 * the transfers (as for ps, whose update reads them). With every replica
 * on one node it is ps. */
static void build_master_tree(soap_sim *sim, int w, int si, const soap_shard *sh, double bytes)
{
    int group = sim_group_sync(sim, w);
    int k = sh->ndevices;
    const int16_t *D = sh->devices;
    const soap_device *dev = sim->m->devices;
    int master[SOAP_MAX_REPLICAS]; /* replica index of x's node master */
    for (int x = 0; x < k; x++) {
        master[x] = x;
        for (int y = 0; y < x; y++)
            if (dev[D[y]].node == dev[D[x]].node) {
                master[x] = y;
                break;
            }
    }
    int u = update_task(sim, group, sim_key_sync(w, si, 3, 0), w, si, D[0], bytes);
    /* Where a node master's gathered sum goes: D[0]'s update, or the first
     * hop of the node master's send to D[0] (built below, node masters in
     * ascending order, so step 1's arrivals are linked when it exists). */
    int up[SOAP_MAX_REPLICAS];
    for (int x = 0; x < k; x++)
        up[x] = -1;
    up[0] = u;
    for (int x = 1; x < k; x++) {
        if (master[x] != x)
            continue;
        int first;
        int last = sync_chain(sim, group, w, si, 2, x, D[x], D[0], bytes, -1, &first);
        edge_add(sim, last, u);
        sim->tasks[last].target = u;
        up[x] = first;
    }
    for (int x = 0; x < k; x++) {
        if (master[x] == x) {
            wait_grad(sim, x, up[x]);
            continue;
        }
        int first;
        int last = sync_chain(sim, group, w, si, 1, x, D[x], D[master[x]], bytes, -1, &first);
        wait_grad(sim, x, first);
        edge_add(sim, last, up[master[x]]);
        sim->tasks[last].target = up[master[x]];
    }
    /* Down the tree: D[0] to the node masters, each master to its node. */
    int down[SOAP_MAX_REPLICAS];
    for (int x = 0; x < k; x++)
        down[x] = -1;
    down[0] = u;
    for (int x = 1; x < k; x++)
        if (master[x] == x)
            down[x] = sync_chain(sim, group, w, si, 4, x, D[0], D[x], bytes, u, NULL);
    for (int x = 1; x < k; x++)
        if (master[x] != x)
            sync_chain(sim, group, w, si, 5, x, D[master[x]], D[x], bytes, down[master[x]], NULL);
}

static void build_shard(soap_sim *sim, int w, int si, const soap_shard *sh)
{
    int group = sim_group_sync(sim, w);
    int k = sh->ndevices;
    double bytes = (double)soap_region_volume(&sh->region) * SOAP_ELEM_BYTES;
    const int16_t *D = sh->devices;
    if (k == 1) {
        int u = update_task(sim, group, sim_key_sync(w, si, 1, 0), w, si, D[0], bytes);
        wait_grad(sim, 0, u);
        return;
    }
    if (sim->opt.sync == SOAP_SYNC_PS) {
        /* Gather to D[0] (step 1), update there (2), send back (3). */
        int u = update_task(sim, group, sim_key_sync(w, si, 2, 0), w, si, D[0], bytes);
        wait_grad(sim, 0, u);
        for (int r = 1; r < k; r++) {
            chain_id id = {.op = w, .idx = si, .idx2 = 1, .input = r};
            int first;
            int last = add_chain(sim, group, SIM_SYNC, D[r], D[0], bytes,
                                 sim_key_sync(w, si, 1, r), SIM_KEY_SYNC_HOP_SHIFT, &id, -1,
                                 &first);
            wait_grad(sim, r, first);
            edge_add(sim, last, u);
            sim->tasks[last].target = u;
        }
        for (int r = 1; r < k; r++) {
            chain_id id = {.op = w, .idx = si, .idx2 = 3, .input = r};
            add_chain(sim, group, SIM_SYNC, D[0], D[r], bytes, sim_key_sync(w, si, 3, r),
                      SIM_KEY_SYNC_HOP_SHIFT, &id, u, NULL);
        }
        return;
    }
    if (sim->opt.sync == SOAP_SYNC_MASTER) {
        build_master_tree(sim, w, si, sh, bytes);
        return;
    }
    /* Ring all-reduce over the replicas in ascending order, as a collective:
     * it starts when every replica's gradient is ready (a join, step field
     * 0). Ring edge x (replica x to x+1 mod k) carries 2(k-1) chunks of
     * bytes/k; the chunks stream through the hops of its route, so each
     * hop is one task (step field 1, chunk field x) that holds its link for
     * 2(k-1) (bytes/k / hop bandwidth + route latency): uncontended, the
     * ring takes 2(k-1) (bytes/k / bottleneck bandwidth + route latency).
     * The hops of every ring edge run side by side; a second collective
     * over the same link waits for the first (FIFO), as NCCL's collectives
     * on one stream do. A join when every hop is done (step field 2), then
     * an update per replica (step field 3). */
    int start = task_new(sim, group, sim_key_sync(w, si, 0, 0), SIM_JOIN, -1, 0);
    int done = task_new(sim, group, sim_key_sync(w, si, 2, 0), SIM_JOIN, -1, 0);
    for (int j = 0; j < 2; j++) {
        sim_task *t = &sim->tasks[j == 0 ? start : done];
        t->op = w;
        t->idx = si;
        t->idx2 = j == 0 ? 0 : 2;
        t->dev = D[0];
    }
    for (int x = 0; x < k; x++)
        wait_grad(sim, x, start);
    double steps = 2.0 * (k - 1), chunk = bytes / k;
    for (int x = 0; x < k; x++) {
        int from = D[x], to = D[(x + 1) % k], len;
        const soap_hop *hops = soap_machine_route(sim->m, from, to, &len);
        SOAP_ASSERT(len >= 1 && len < SIM_KEY_MAX_HOPS);
        double latency = 0;
        for (int h = 0; h < len; h++)
            latency += sim->m->links[hops[h].link].latency;
        for (int h = 0; h < len; h++) {
            const soap_link *l = &sim->m->links[hops[h].link];
            uint64_t key = sim_key_sync(w, si, 1, x) | ((uint64_t)h << SIM_KEY_SYNC_HOP_SHIFT);
            int y = task_new(sim, group, key, SIM_SYNC, hop_res(sim, &hops[h]),
                             steps * (chunk / l->bandwidth + latency));
            sim_task *t = &sim->tasks[y];
            t->op = w;
            t->idx = si;
            t->idx2 = 1;
            t->input = x;
            t->dev = to;
            t->link = hops[h].link;
            t->hop = (uint8_t)h;
            t->last = (uint8_t)(h == len - 1);
            t->bytes = steps * chunk;
            edge_add(sim, start, y);
            edge_add(sim, y, done);
        }
    }
    for (int x = 0; x < k; x++) {
        int u = update_task(sim, group, sim_key_sync(w, si, 3, x), w, si, D[x], bytes);
        edge_add(sim, done, u);
    }
}

void sim_build_sync(soap_sim *sim, int w)
{
    int n = soap_decomp_shards(sim->g, sim->strat, w, &sim->shards);
    SOAP_ASSERT(n < SIM_KEY_MAX_SHARDS);
    /* With the barrier, sync waits for it, not for the producing tasks. */
    if (sim->barrier < 0)
        soap_decomp_grads(sim->g, sim->strat, sim->shards.data, n, &sim->grads);
    int next = 0;
    for (int si = 0; si < n; si++) {
        const soap_shard *sh = &sim->shards.data[si];
        SOAP_ASSERT(sh->weight == w && sh->ndevices >= 1 && sh->ndevices <= SOAP_MAX_REPLICAS);
        if (sim->barrier < 0)
            shard_deps(sim, si, sh->ndevices, &next);
        build_shard(sim, w, si, sh);
    }
}

void sim_build_all(soap_sim *sim)
{
    const soap_graph *g = sim->g;
    if (sim->opt.no_overlap)
        sim->barrier = task_new(sim, sim_group_global(sim), sim_key_sync(-1, 0, 0, 0),
                                SIM_BARRIER, -1, 0);
    for (int op = 0; op < g->nops; op++)
        sim_build_compute(sim, op);
    for (int e = 0; e < sim->nedges; e++)
        sim_build_edge(sim, e);
    for (int w = 0; w < g->nweights; w++)
        sim_build_sync(sim, w);
}

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

void sim_res_name(const soap_sim *sim, int r, char *buf, size_t len)
{
    const soap_machine *m = sim->m;
    if (r < 0) {
        snprintf(buf, len, "joins");
        return;
    }
    if (r < m->ndevices) {
        snprintf(buf, len, "%s", m->devices[r].name);
        return;
    }
    int l = sim->res_link[r];
    const soap_link *lk = &m->links[l];
    if (lk->nends != 2) {
        snprintf(buf, len, "%s", lk->name);
        return;
    }
    int dir = r - sim->link_res[l];
    int a = lk->ends[dir], b = lk->ends[1 - dir];
    snprintf(buf, len, "%s %s->%s", lk->name, soap_machine_vertex_name(m, a),
             soap_machine_vertex_name(m, b));
}

void sim_task_label(const soap_sim *sim, int x, char *buf, size_t len)
{
    const sim_task *t = &sim->tasks[x];
    const soap_graph *g = sim->g;
    switch ((sim_kind)t->kind) {
    case SIM_FWD:
    case SIM_BWD:
        snprintf(buf, len, "%s %s t%d", g->ops[t->op].name, sim_kind_names[t->kind], t->idx);
        break;
    case SIM_XFER:
    case SIM_GRAD: {
        int p = g->ops[t->op].inputs[t->input];
        if (t->gather == 2)
            snprintf(buf, len, "all-to-all %s%s -> %s on %s", t->kind == SIM_GRAD ? "grad " : "",
                     g->ops[p].name, g->ops[t->op].name, sim->m->links[t->link].name);
        else if (t->gather)
            snprintf(buf, len, "%s %s -> %s ring edge %d hop %d",
                     t->kind == SIM_XFER ? "all-gather" : "reduce-scatter", g->ops[p].name,
                     g->ops[t->op].name, t->idx, t->hop);
        else if (t->kind == SIM_XFER)
            snprintf(buf, len, "%s t%d -> %s t%d hop %d", g->ops[p].name, t->idx2,
                     g->ops[t->op].name, t->idx, t->hop);
        else
            snprintf(buf, len, "grad %s t%d -> %s t%d hop %d", g->ops[t->op].name, t->idx,
                     g->ops[p].name, t->idx2, t->hop);
        break;
    }
    case SIM_SYNC:
        if (sim->opt.sync == SOAP_SYNC_PS)
            snprintf(buf, len, "%s shard %d %s replica %d hop %d", g->weights[t->op].name,
                     t->idx, t->idx2 == 1 ? "gradient from" : "weights to", t->input, t->hop);
        else if (sim->opt.sync == SOAP_SYNC_MASTER)
            snprintf(buf, len, "%s shard %d %s replica %d hop %d", g->weights[t->op].name,
                     t->idx,
                     t->idx2 == 1   ? "gradient to its node master from"
                     : t->idx2 == 2 ? "node sum to the master from"
                     : t->idx2 == 4 ? "weights to the node master"
                                    : "weights from its node master to",
                     t->input, t->hop);
        else
            snprintf(buf, len, "%s shard %d all-reduce ring edge %d hop %d",
                     g->weights[t->op].name, t->idx, t->input, t->hop);
        break;
    case SIM_UPDATE:
        snprintf(buf, len, "%s shard %d update", g->weights[t->op].name, t->idx);
        break;
    case SIM_JOIN:
        if (t->gather == 2) {
            int p = g->ops[t->op].inputs[t->input];
            int bwd = (t->key >> 62) == SIM_PHASE_BWD;
            if (t->idx2 == 3)
                snprintf(buf, len, "all-to-all %s%s -> %s arrival on %s", bwd ? "grad " : "",
                         g->ops[p].name, g->ops[t->op].name, sim->m->devices[t->dev].name);
            else
                snprintf(buf, len, "all-to-all %s%s -> %s %s", bwd ? "grad " : "",
                         g->ops[p].name, g->ops[t->op].name, t->idx2 == 0 ? "start" : "done");
            break;
        }
        if (t->gather) {
            int p = g->ops[t->op].inputs[t->input];
            int bwd = (t->key >> 62) == SIM_PHASE_BWD;
            snprintf(buf, len, "%s %s -> %s %s", bwd ? "reduce-scatter" : "all-gather",
                     g->ops[p].name, g->ops[t->op].name, t->idx2 == 0 ? "start" : "done");
            break;
        }
        snprintf(buf, len, "%s shard %d %s", g->weights[t->op].name, t->idx,
                 t->idx2 == 0 ? "gradients ready" : "all-reduce done");
        break;
    case SIM_BARRIER:
        snprintf(buf, len, "backward done");
        break;
    default:
        snprintf(buf, len, "?");
        break;
    }
}
