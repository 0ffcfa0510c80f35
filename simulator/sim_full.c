/* sim_full.c: the simulator object (soap_sim_new / soap_sim_clone /
 * soap_sim_free: the resources, the graph structure the builders index, the
 * pools), the event loop shared by full and delta simulation, and
 * soap_sim_full.
 *
 * A clone shares nothing mutable with its original: it gets a cost handle
 * of its own (soap_costs_share: the loaded providers are shared, read-only;
 * the cache is the clone's) and builds its own structure from the graph and
 * machine, which both only read. So the two may run on different threads.
 *
 * Event loop: a binary heap of ready tasks keyed by (ready, key), written
 * here, grown geometrically (it stops growing after the first runs). Pop the
 * smallest, start it at max(ready, end of the previous task on its
 * resource), end = start + duration, raise each successor's ready to that
 * end and push the successor once all its predecessors are done. Times are
 * only ever combined by max and by one addition per task, so every
 * simulation of the same task graph gives bitwise the same times, whatever
 * order it was built in.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

/* ------------------------------------------------------------------ */
/* Creation                                                            */
/* ------------------------------------------------------------------ */

static soap_status check_inputs(const soap_graph *g, const soap_machine *m,
                                const soap_sim_options *opt, soap_error *err)
{
    if (opt && ((int)opt->sync < 0 || opt->sync >= SOAP_SYNC_MODE_COUNT))
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "simulator: unknown weight sync mode %d (expected ps, allreduce or master)",
                              (int)opt->sync);
    if (g->nops >= SIM_KEY_MAX_OPS)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "model '%s': %d operators, the simulator handles at most %d",
                              g->name, g->nops, SIM_KEY_MAX_OPS - 1);
    if (g->nweights >= SIM_KEY_MAX_WEIGHTS)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "model '%s': %d weights, the simulator handles at most %d",
                              g->name, g->nweights, SIM_KEY_MAX_WEIGHTS - 1);
    for (int op = 0; op < g->nops; op++)
        if (g->ops[op].ninputs >= SIM_KEY_MAX_INPUTS)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "model '%s', op '%s': %d inputs, the simulator handles at "
                                  "most %d",
                                  g->name, g->ops[op].name, g->ops[op].ninputs,
                                  SIM_KEY_MAX_INPUTS - 1);
    if (m->ndevices < 1 || m->ndevices > SOAP_MAX_DEVICES || !m->route_len)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "machine '%s': expected a finished machine with 1..%d devices",
                              m->name, SOAP_MAX_DEVICES);
    for (int d = 0; d < m->ndevices; d++) {
        const soap_device_type *t = &m->types[m->devices[d].type];
        if (!(t->mem_bandwidth > 0) || !(t->launch_overhead >= 0))
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "machine '%s', device type '%s': expected a positive memory "
                                  "bandwidth and a launch overhead >= 0 (weight updates need "
                                  "them)",
                                  m->name, t->name);
    }
    for (int l = 0; l < m->nlinks; l++)
        if (!(m->links[l].bandwidth > 0) || !(m->links[l].latency >= 0))
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "machine '%s', link '%s': expected a positive bandwidth and a "
                                  "latency >= 0",
                                  m->name, m->links[l].name);
    for (int i = 0; i < m->ndevices * m->ndevices; i++)
        if (m->route_len[i] >= SIM_KEY_MAX_HOPS)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "machine '%s': a route of %d hops between %s and %s, the "
                                  "simulator handles at most %d",
                                  m->name, m->route_len[i],
                                  m->devices[i / m->ndevices].name,
                                  m->devices[i % m->ndevices].name, SIM_KEY_MAX_HOPS - 1);
    return SOAP_OK;
}

/* The simulator of g on m (checked) with cost handle c (freed with the
 * simulator if owns_costs). */
static soap_sim *sim_create(const soap_graph *g, const soap_machine *m, soap_costs *c,
                            int owns_costs, const soap_sim_options *opt, uint64_t model_fp,
                            uint64_t machine_fp)
{
    soap_sim *sim = soap_xcalloc(1, sizeof *sim);
    sim->g = g;
    sim->m = m;
    sim->costs = c;
    sim->owns_costs = owns_costs;
    sim->opt = *opt;
    sim->model_fp = model_fp;
    sim->machine_fp = machine_fp;
    sim->strat = soap_strategy_new(g, m);

    /* Resources. */
    sim->nres = m->ndevices;
    sim->link_res = soap_xmalloc((size_t)(m->nlinks ? m->nlinks : 1) * sizeof(int));
    for (int l = 0; l < m->nlinks; l++) {
        sim->link_res[l] = sim->nres;
        sim->nres += m->links[l].nends == 2 ? 2 : 1;
    }
    sim->res_link = soap_xmalloc((size_t)sim->nres * sizeof(int));
    for (int r = 0; r < m->ndevices; r++)
        sim->res_link[r] = -1;
    for (int l = 0; l < m->nlinks; l++)
        for (int k = 0; k < (m->links[l].nends == 2 ? 2 : 1); k++)
            sim->res_link[sim->link_res[l] + k] = l;
    sim->res_free = soap_xcalloc((size_t)sim->nres, sizeof(double));
    sim->res_busy = soap_xcalloc((size_t)sim->nres, sizeof(double));
    sim->res_busy_alt = soap_xcalloc((size_t)sim->nres, sizeof(double));
    sim->res_left = soap_xcalloc((size_t)sim->nres, sizeof(double));
    sim->agg_bytes = soap_xcalloc((size_t)sim->nres, sizeof(double));
    sim->agg_sent = soap_xcalloc((size_t)sim->nres, sizeof(double));
    sim->agg_res = soap_xcalloc((size_t)sim->nres, sizeof(int));
    sim->bound_add = soap_xcalloc((size_t)sim->nres, sizeof(double));
    sim->res_last = soap_xmalloc((size_t)sim->nres * sizeof(int));
    sim->snap_res_free = soap_xcalloc((size_t)sim->nres, sizeof(double));
    sim->snap_res_last = soap_xmalloc((size_t)sim->nres * sizeof(int));

    /* Graph edges and who consumes each op. */
    int nops = g->nops;
    sim->edge_base = soap_xmalloc((size_t)(nops + 1) * sizeof(int));
    for (int op = 0; op < nops; op++) {
        sim->edge_base[op] = sim->nedges;
        sim->nedges += g->ops[op].ninputs;
    }
    sim->edge_base[nops] = sim->nedges;
    sim->edge_op = soap_xmalloc((size_t)(sim->nedges ? sim->nedges : 1) * sizeof(int));
    sim->cons_start = soap_xcalloc((size_t)nops + 1, sizeof(int));
    sim->cons = soap_xmalloc((size_t)(sim->nedges ? sim->nedges : 1) * sizeof(int));
    for (int op = 0; op < nops; op++)
        for (int i = 0; i < g->ops[op].ninputs; i++) {
            sim->edge_op[sim->edge_base[op] + i] = op;
            sim->cons_start[g->ops[op].inputs[i] + 1]++;
        }
    for (int op = 0; op < nops; op++)
        sim->cons_start[op + 1] += sim->cons_start[op];
    int *fill = soap_xcalloc((size_t)nops + 1, sizeof(int));
    for (int op = 0; op < nops; op++)
        for (int i = 0; i < g->ops[op].ninputs; i++) {
            int p = g->ops[op].inputs[i];
            sim->cons[sim->cons_start[p] + fill[p]++] = sim->edge_base[op] + i;
        }
    free(fill);

    int nw = g->nweights;
    sim->ngroups = nops + sim->nedges + nw + 1;
    sim->group_head = soap_xmalloc((size_t)sim->ngroups * sizeof(int));
    sim->fwd_id = soap_xmalloc((size_t)(nops ? nops : 1) * sizeof *sim->fwd_id);
    sim->bwd_id = soap_xmalloc((size_t)(nops ? nops : 1) * sizeof *sim->bwd_id);
    sim->undo_ops = soap_xmalloc((size_t)(nops ? nops : 1) * sizeof *sim->undo_ops);
    sim->undo_cfg = soap_xmalloc((size_t)(nops ? nops : 1) * sizeof *sim->undo_cfg);
    sim->undo_fwd = soap_xmalloc((size_t)(nops ? nops : 1) * sizeof *sim->undo_fwd);
    sim->undo_bwd = soap_xmalloc((size_t)(nops ? nops : 1) * sizeof *sim->undo_bwd);
    sim->group_mark = soap_xcalloc((size_t)sim->ngroups, 1);
    sim_pools_init(sim);
    sim_graph_clear(sim);
    return sim;
}

soap_sim *soap_sim_new(const soap_graph *g, const soap_machine *m, soap_costs *c,
                       const soap_sim_options *opt, soap_error *err)
{
    if (!g || !m || !c) {
        soap_error_set(err, SOAP_ERR_INVALID,
                       "simulator: expected a graph, a machine and costs");
        return NULL;
    }
    if (check_inputs(g, m, opt, err) != SOAP_OK)
        return NULL;
    soap_sim_options o = {.sync = SOAP_SYNC_ALLREDUCE};
    if (opt)
        o = *opt;
    return sim_create(g, m, c, 0, &o, soap_graph_fingerprint(g), soap_machine_fingerprint(m));
}

soap_sim *soap_sim_clone(const soap_sim *sim, soap_error *err)
{
    if (!sim) {
        soap_error_set(err, SOAP_ERR_INVALID, "simulator clone: expected a simulator");
        return NULL;
    }
    /* Only fields that never change after creation are read. */
    return sim_create(sim->g, sim->m, soap_costs_share(sim->costs), 1, &sim->opt,
                      sim->model_fp, sim->machine_fp);
}

void soap_sim_free(soap_sim *sim)
{
    if (!sim)
        return;
    soap_strategy_free(sim->strat);
    free(sim->link_res);
    free(sim->res_link);
    free(sim->res_free);
    free(sim->res_busy);
    free(sim->res_busy_alt);
    free(sim->res_left);
    free(sim->agg_bytes);
    free(sim->agg_sent);
    free(sim->agg_res);
    free(sim->bound_add);
    free(sim->res_last);
    free(sim->snap_res_free);
    free(sim->snap_res_last);
    sim_ivec_free(&sim->undo_groups);
    free(sim->undo_ops);
    free(sim->undo_cfg);
    free(sim->undo_fwd);
    free(sim->undo_bwd);
    free(sim->group_mark);
    sim_ivec_free(&sim->bound_groups);
    free(sim->edge_base);
    free(sim->edge_op);
    free(sim->cons_start);
    free(sim->cons);
    free(sim->group_head);
    free(sim->fwd_id);
    free(sim->bwd_id);
    soap_xfer_vec_free(&sim->xfers);
    soap_shard_vec_free(&sim->shards);
    soap_grad_vec_free(&sim->grads);
    sim_ivec_free(&sim->created);
    sim_ivec_free(&sim->dead);
    sim_ivec_free(&sim->changed);
    sim_pools_free(sim);
    if (sim->owns_costs)
        soap_costs_free(sim->costs);
    free(sim);
}

const soap_strategy *soap_sim_strategy(const soap_sim *sim)
{
    SOAP_ASSERT(sim);
    return sim->strat;
}

soap_task_cost soap_sim_task_cost(soap_sim *sim, int op, const soap_region *region,
                                  const soap_device_type *dev)
{
    SOAP_ASSERT(sim);
    return soap_costs_task(sim->costs, sim->g, op, region, dev);
}

/* ------------------------------------------------------------------ */
/* Heap and event loop                                                 */
/* ------------------------------------------------------------------ */

static inline int heap_less(const sim_heap_item *a, const sim_heap_item *b)
{
    return a->ready < b->ready || (a->ready == b->ready && a->key < b->key);
}

void sim_heap_push(soap_sim *sim, int id)
{
    const sim_task *t = &sim->tasks[id];
    sim_heap_item it = {t->ready, t->key, id};
    if (sim->nheap == sim->heap_cap) {
        sim->heap_cap = sim->heap_cap ? 2 * sim->heap_cap : 1024;
        sim->heap = soap_xrealloc(sim->heap, (size_t)sim->heap_cap * sizeof *sim->heap);
    }
    sim_heap_item *h = sim->heap;
    int i = sim->nheap++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!heap_less(&it, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = it;
}

static int heap_pop(soap_sim *sim)
{
    sim_heap_item *h = sim->heap;
    int top = h[0].id;
    sim_heap_item last = h[--sim->nheap];
    int n = sim->nheap, i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && heap_less(&h[c + 1], &h[c]))
            c++;
        if (!heap_less(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (n > 0)
        h[i] = last;
    return top;
}

double sim_event_loop(soap_sim *sim, double limit)
{
    double passed = -1;
    sim_task *T = sim->tasks;
    const sim_edge *E = sim->edges;
    double *res_free = sim->res_free;
    int *res_last = sim->res_last;
    double *res_left = sim->res_left;
    int bounded = limit < INFINITY;
    int n = sim->norder;
    double pm = n ? sim->pmax[n - 1] : 0;
    while (sim->nheap > 0) {
        int x = heap_pop(sim);
        sim_task *t = &T[x];
        double s = t->ready;
        double end;
        if (t->res >= 0) {
            int r = t->res;
            if (res_free[r] > s)
                s = res_free[r];
            end = s + t->dur;
            res_free[r] = end;
            t->res_prev = res_last[r];
            res_last[r] = x;
        } else {
            end = s + t->dur;
            t->res_prev = -1;
        }
        t->start = s;
        t->end = end;
        t->pos = n;
        sim->order[n] = x;
        if (end > pm)
            pm = end;
        sim->pmax[n] = pm;
        n++;
        if (bounded) {
            if (end > limit) {
                passed = end;
                break;
            }
            /* The resource's remaining tasks run one after another from
             * its free time on: its last end is at least res_free +
             * res_left. The sum is rounded differently from the chain of
             * max and + that gives the exact end: the relative margin
             * covers it (as for the busy bound of a delta). */
            if (t->res >= 0) {
                double left = res_left[t->res] -= t->dur;
                double lb = (end + left) * (1 - 1e-7);
                if (lb > limit) {
                    passed = lb;
                    break;
                }
            }
        }
        /* The successors' lines are fetched side by side before they are
         * updated: the event loop waits on memory more than it computes. */
        for (int e = t->eout; e >= 0; e = E[e].next_out)
            __builtin_prefetch(&T[E[e].dst], 1);
        for (int e = t->eout; e >= 0; e = E[e].next_out) {
            int y = E[e].dst;
            sim_task *ty = &T[y];
            if (end > ty->ready)
                ty->ready = end;
            if (--ty->pending == 0) {
                /* Its first out-edge, for when it is popped. */
                if (ty->eout >= 0)
                    __builtin_prefetch(&E[ty->eout]);
                sim_heap_push(sim, y);
            }
        }
        if (sim->nheap > 0)
            __builtin_prefetch(&T[sim->heap[0].id]);
    }
    sim->norder = n;
    sim->iteration_s = n ? sim->pmax[n - 1] : 0;
    return passed;
}

/* Full simulation of the current task graph. */
static void simulate_all(soap_sim *sim)
{
    sim_task *T = sim->tasks;
    for (int x = 0; x < sim->task_used; x++) {
        sim_task *t = &T[x];
        if (t->kind == SIM_FREE)
            continue;
        t->state = SIM_LIVE;
        t->changed = 0;
        t->ready = 0;
        t->pos = INT32_MAX;
        int k = 0;
        for (int e = t->ein; e >= 0; e = sim->edges[e].next_in)
            k++;
        t->pending = k;
    }
    for (int r = 0; r < sim->nres; r++) {
        sim->res_free[r] = 0;
        sim->res_last[r] = -1;
        sim->res_busy[r] = 0;
    }
    for (int x = 0; x < sim->task_used; x++)
        if (T[x].kind != SIM_FREE && T[x].res >= 0)
            sim->res_busy[T[x].res] += T[x].dur;
    sim->busy_swapped = 0;
    sim->norder = 0;
    sim->nheap = 0;
    for (int x = 0; x < sim->task_used; x++)
        if (T[x].kind != SIM_FREE && T[x].pending == 0)
            sim_heap_push(sim, x);
    sim_event_loop(sim, INFINITY);
    /* Every task runs: the graph is acyclic since keys order every edge. */
    SOAP_ASSERT(sim->norder == sim->nlive);
    sim->created.n = 0;
}

double soap_sim_full(soap_sim *sim, const soap_strategy *s, soap_error *err)
{
    if (!sim || !s) {
        soap_error_set(err, SOAP_ERR_INVALID, "simulate: expected a simulator and a strategy");
        return -1;
    }
    /* Checked where it entered (a loader or soap_strategy_check): here only
     * what says it is for this graph and machine, cheaply. */
    SOAP_ASSERT(s->nops == sim->g->nops && s->ndevices == sim->m->ndevices);
    SOAP_ASSERT(s->model_fp == sim->model_fp && s->machine_fp == sim->machine_fp);
    soap_strategy_copy(sim->strat, s);
    sim_graph_clear(sim);
    sim_build_all(sim);
    simulate_all(sim);
    sim->simulated = 1;
    sim->can_undo = sim->pending = 0;
    return sim->iteration_s;
}
