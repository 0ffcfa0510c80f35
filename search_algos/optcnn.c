/* optcnn.c: a dynamic program over per-operator configurations in the style
 * of OptCNN (Jia et al., ICML 2018): no inter-operator concurrency, so the
 * cost of a strategy is a sum of per-op and per-edge terms, which a dynamic
 * program minimises exactly for chains and, by node and edge elimination,
 * for series-parallel graphs.
 *
 * The cost model (its own, not the simulator's; the strategy it picks is
 * then simulated like any other):
 *  - node (op, config): the busiest device's forward + backward compute
 *    time (tasks on one device run one after another) plus the weight
 *    synchronisation: per group of tasks that need the same weight region,
 *    a ring all-reduce, 2 (r - 1) / r x bytes over the slowest link of the
 *    machine; the largest group counts (groups sync in parallel);
 *  - edge (producer config, consumer config): forward activations and
 *    backward gradients, per consumer task the sum of its incoming
 *    transfers (latency + bytes / route bottleneck bandwidth), the slowest
 *    consumer task counts, times 2 (forward and backward).
 * Candidates: every degree vector of the space, task t on device t
 * (OptCNN has no device placement; the O letter is ignored).
 *
 * Elimination (repeated until nothing changes): parallel edges are added;
 * a node with one neighbour is folded into it; a node with exactly one
 * in-edge and one out-edge is replaced by an edge between its neighbours.
 * A graph that is not series-parallel keeps several nodes; they are set by
 * coordinate descent (each to its best given its neighbours, until stable)
 * and r->exhausted stays 0 (the answer is then not proven optimal for the
 * model). Then the eliminated nodes are set in reverse order.
 */
#include <stdio.h>
#include <string.h>

#include "search_internal.h"

typedef struct dp_edge {
    int u, v;       /* u before v */
    double *cost;   /* [nc(u)][nc(v)] */
    int alive;
} dp_edge;

typedef enum { ELIM_FOLD, ELIM_SERIES } elim_kind;
typedef struct elim {
    elim_kind kind;
    int node;       /* eliminated */
    int a, b;       /* FOLD: a = the neighbour; SERIES: a = in, b = out */
    int *arg;       /* FOLD: [nc(a)]; SERIES: [nc(a)][nc(b)] */
} elim;

typedef struct dp {
    const soap_search_problem *p;
    soap_space *space;
    int nops;
    int *nc;          /* candidates per op */
    double **node;    /* [op][nc] */
    int *alive;
    dp_edge *e;
    int ne, cap;
    elim *el;
    int nel;
    int *choice;
} dp;

static void cand(const dp *d, int op, int c, soap_config *out)
{
    search_space_config_vec(d->space, op, c, out);
}

static double slowest_link(const soap_machine *m)
{
    double bw = INFINITY;
    for (int l = 0; l < m->nlinks; l++)
        bw = fmin(bw, m->links[l].bandwidth);
    return isfinite(bw) ? bw : 1e12;
}

static double node_cost(const soap_search_problem *p, int op, const soap_config *c)
{
    const soap_graph *g = p->g;
    const soap_machine *m = p->m;
    double load[SOAP_MAX_TASKS] = {0};
    for (int t = 0; t < c->ntasks; t++) {
        soap_region r = soap_config_task_region(g, op, c, t);
        const soap_device_type *ty = &m->types[m->devices[c->device[t]].type];
        soap_task_cost tc = soap_sim_task_cost(p->sim, op, &r, ty);
        load[c->device[t] % SOAP_MAX_TASKS] +=
            tc.fwd_s + (g->ops[op].kind == SOAP_OP_INPUT ? 0.0 : tc.bwd_s);
    }
    double busy = 0.0;
    for (int t = 0; t < SOAP_MAX_TASKS; t++)
        busy = fmax(busy, load[t]);
    double sync = 0.0, bw = slowest_link(m);
    const soap_op *o = &g->ops[op];
    for (int w = 0; w < o->nweights; w++) {
        int done[SOAP_MAX_TASKS] = {0};
        for (int t = 0; t < c->ntasks; t++) {
            if (done[t])
                continue;
            soap_region out = soap_config_task_region(g, op, c, t);
            soap_region wr = soap_op_weight_region(g, op, w, &out);
            int r = 1;
            for (int u = t + 1; u < c->ntasks; u++) {
                soap_region ou = soap_config_task_region(g, op, c, u);
                soap_region wu = soap_op_weight_region(g, op, w, &ou);
                if (soap_region_equal(&wr, &wu)) {
                    done[u] = 1;
                    r++;
                }
            }
            double bytes = (double)soap_region_volume(&wr) * SOAP_ELEM_BYTES;
            if (r > 1)
                sync = fmax(sync, 2.0 * (r - 1) / r * bytes / bw);
        }
    }
    return busy + sync;
}

static double edge_cost(const soap_search_problem *p, int op, int in, const soap_config *cp,
                        const soap_config *cc, soap_xfer_vec *xv)
{
    const soap_machine *m = p->m;
    int n = soap_decomp_edge(p->g, op, in, cp, cc, xv);
    const soap_xfer *buf = xv->data;
    double per[SOAP_MAX_TASKS] = {0};
    for (int k = 0; k < n; k++) {
        int src = cp->device[buf[k].src_task], dst = cc->device[buf[k].dst_task];
        if (src == dst)
            continue;
        int len = 0;
        const soap_hop *h = soap_machine_route(m, src, dst, &len);
        double bw = INFINITY, lat = 0.0;
        for (int j = 0; j < len; j++) {
            bw = fmin(bw, m->links[h[j].link].bandwidth);
            lat += m->links[h[j].link].latency;
        }
        double bytes = (double)soap_region_volume(&buf[k].region) * SOAP_ELEM_BYTES;
        per[buf[k].dst_task] += lat + (isfinite(bw) ? bytes / bw : 0.0);
    }
    double worst = 0.0;
    for (int t = 0; t < cc->ntasks; t++)
        worst = fmax(worst, per[t]);
    return 2.0 * worst;
}

static void add_edge(dp *d, int u, int v, double *cost)
{
    if (d->ne >= d->cap) {
        d->cap = d->cap ? 2 * d->cap : 64;
        d->e = soap_xrealloc(d->e, (size_t)d->cap * sizeof *d->e);
    }
    d->e[d->ne++] = (dp_edge){.u = u, .v = v, .cost = cost, .alive = 1};
}

/* Live edges at node x: count, and the first one's index. */
static int degree(const dp *d, int x, int *in, int *out, int *first_in, int *first_out)
{
    *in = *out = 0;
    *first_in = *first_out = -1;
    for (int k = 0; k < d->ne; k++) {
        if (!d->e[k].alive)
            continue;
        if (d->e[k].v == x && (*in)++ == 0)
            *first_in = k;
        if (d->e[k].u == x && (*out)++ == 0)
            *first_out = k;
    }
    return *in + *out;
}

/* Adds parallel edges into one; 1 if any merged. */
static int merge_parallel(dp *d)
{
    int changed = 0;
    for (int a = 0; a < d->ne; a++) {
        if (!d->e[a].alive)
            continue;
        for (int b = a + 1; b < d->ne; b++) {
            if (!d->e[b].alive || d->e[b].u != d->e[a].u || d->e[b].v != d->e[a].v)
                continue;
            long cells = (long)d->nc[d->e[a].u] * d->nc[d->e[a].v];
            for (long k = 0; k < cells; k++)
                d->e[a].cost[k] += d->e[b].cost[k];
            d->e[b].alive = 0;
            free(d->e[b].cost);
            d->e[b].cost = NULL;
            changed = 1;
        }
    }
    return changed;
}

static void push_elim(dp *d, elim e)
{
    d->el[d->nel++] = e;
}

/* One elimination; 1 if one was made. */
static int eliminate_one(dp *d)
{
    for (int x = 0; x < d->nops; x++) {
        if (!d->alive[x])
            continue;
        int in, out, fi, fo;
        int deg = degree(d, x, &in, &out, &fi, &fo);
        int alive_nodes = 0;
        for (int y = 0; y < d->nops; y++)
            alive_nodes += d->alive[y];
        if (deg == 1 && alive_nodes > 1) {
            /* Fold x into its one neighbour. */
            int k = in ? fi : fo;
            dp_edge *e = &d->e[k];
            int nb = in ? e->u : e->v;
            int nn = d->nc[nb], nx = d->nc[x];
            int *arg = soap_xcalloc((size_t)nn, sizeof *arg);
            for (int a = 0; a < nn; a++) {
                double best = INFINITY;
                for (int c = 0; c < nx; c++) {
                    double w = d->node[x][c] +
                               (in ? e->cost[(long)a * nx + c] : e->cost[(long)c * nn + a]);
                    if (w < best) {
                        best = w;
                        arg[a] = c;
                    }
                }
                d->node[nb][a] += best;
            }
            e->alive = 0;
            free(e->cost);
            e->cost = NULL;
            d->alive[x] = 0;
            push_elim(d, (elim){.kind = ELIM_FOLD, .node = x, .a = nb, .arg = arg});
            return 1;
        }
        if (in == 1 && out == 1) {
            dp_edge *e1 = &d->e[fi], *e2 = &d->e[fo];
            int u = e1->u, w = e2->v;
            if (u == w)
                continue;
            int nu = d->nc[u], nx = d->nc[x], nw = d->nc[w];
            double *cost = soap_xmalloc((size_t)nu * (size_t)nw * sizeof *cost);
            int *arg = soap_xmalloc((size_t)nu * (size_t)nw * sizeof *arg);
            for (int a = 0; a < nu; a++)
                for (int b = 0; b < nw; b++) {
                    double best = INFINITY;
                    int bc = 0;
                    for (int c = 0; c < nx; c++) {
                        double v = e1->cost[(long)a * nx + c] + d->node[x][c] +
                                   e2->cost[(long)c * nw + b];
                        if (v < best) {
                            best = v;
                            bc = c;
                        }
                    }
                    cost[(long)a * nw + b] = best;
                    arg[(long)a * nw + b] = bc;
                }
            e1->alive = e2->alive = 0;
            free(e1->cost);
            free(e2->cost);
            e1->cost = e2->cost = NULL;
            d->alive[x] = 0;
            add_edge(d, u, w, cost);
            push_elim(d, (elim){.kind = ELIM_SERIES, .node = x, .a = u, .b = w, .arg = arg});
            return 1;
        }
    }
    return 0;
}

/* The cost of setting x to c given the current choices of its neighbours. */
static double local_cost(const dp *d, int x, int c)
{
    double s = d->node[x][c];
    for (int k = 0; k < d->ne; k++) {
        const dp_edge *e = &d->e[k];
        if (!e->alive)
            continue;
        if (e->u == x)
            s += e->cost[(long)c * d->nc[e->v] + d->choice[e->v]];
        else if (e->v == x)
            s += e->cost[(long)d->choice[e->u] * d->nc[x] + c];
    }
    return s;
}

static soap_status run_optcnn(const soap_search_problem *p, const soap_search_options *o,
                              soap_search_result *r, soap_error *err)
{
    const soap_graph *g = p->g;
    double start = search_now();
    soap_search_space sp = o->space;
    sp.placement = 0;
    dp d;
    memset(&d, 0, sizeof d);
    d.p = p;
    d.nops = g->nops;
    d.space = soap_space_new(g, p->m->ndevices, &sp);
    d.nc = soap_xcalloc((size_t)g->nops, sizeof *d.nc);
    d.node = soap_xcalloc((size_t)g->nops, sizeof *d.node);
    d.alive = soap_xcalloc((size_t)g->nops, sizeof *d.alive);
    d.choice = soap_xcalloc((size_t)g->nops, sizeof *d.choice);
    d.el = soap_xcalloc((size_t)g->nops, sizeof *d.el);
    long evals = 0;
    for (int op = 0; op < g->nops; op++) {
        d.nc[op] = soap_space_ndegrees(d.space, op);
        d.node[op] = soap_xcalloc((size_t)d.nc[op], sizeof *d.node[op]);
        d.alive[op] = 1;
        for (int c = 0; c < d.nc[op]; c++) {
            soap_config cfg;
            cand(&d, op, c, &cfg);
            d.node[op][c] = node_cost(p, op, &cfg);
            evals++;
        }
    }
    soap_xfer_vec xv = {0};
    for (int op = 0; op < g->nops; op++)
        for (int i = 0; i < g->ops[op].ninputs; i++) {
            int u = g->ops[op].inputs[i];
            int nu = d.nc[u], nv = d.nc[op];
            double *cost = soap_xmalloc((size_t)nu * (size_t)nv * sizeof *cost);
            for (int a = 0; a < nu; a++) {
                soap_config cu;
                cand(&d, u, a, &cu);
                for (int b = 0; b < nv; b++) {
                    soap_config cv;
                    cand(&d, op, b, &cv);
                    cost[(long)a * nv + b] = edge_cost(p, op, i, &cu, &cv, &xv);
                    evals++;
                }
            }
            add_edge(&d, u, op, cost);
        }
    soap_xfer_vec_free(&xv);
    while (merge_parallel(&d) || eliminate_one(&d))
        ;
    /* What is left: one node (series-parallel), or a core to descend on. */
    int left = 0;
    for (int x = 0; x < d.nops; x++)
        left += d.alive[x];
    for (int x = 0; x < d.nops; x++)
        if (d.alive[x]) {
            int best = 0;
            for (int c = 1; c < d.nc[x]; c++)
                if (d.node[x][c] < d.node[x][best])
                    best = c;
            d.choice[x] = best;
        }
    if (left > 1) {
        for (int round = 0, changed = 1; changed && round < 100; round++) {
            changed = 0;
            for (int x = 0; x < d.nops; x++) {
                if (!d.alive[x])
                    continue;
                int best = d.choice[x];
                double bv = local_cost(&d, x, best);
                for (int c = 0; c < d.nc[x]; c++) {
                    double v = local_cost(&d, x, c);
                    if (v < bv) {
                        bv = v;
                        best = c;
                    }
                }
                changed |= best != d.choice[x];
                d.choice[x] = best;
            }
        }
    }
    for (int k = d.nel - 1; k >= 0; k--) {
        elim *e = &d.el[k];
        if (e->kind == ELIM_FOLD)
            d.choice[e->node] = e->arg[d.choice[e->a]];
        else
            d.choice[e->node] = e->arg[(long)d.choice[e->a] * d.nc[e->b] + d.choice[e->b]];
        free(e->arg);
    }
    soap_strategy *s = soap_strategy_clone(p->inits[0]);
    for (int op = 0; op < g->nops; op++)
        cand(&d, op, d.choice[op], &s->configs[op]);
    double t = search_simulate(p->sim, s);
    int fits = o->allow_over_capacity || search_sim_fits(p->sim);
    if (fits) {
        r->best = s;
        r->best_s = t;
    } else {
        soap_strategy_free(s); /* soap_search_run falls back to an initial one */
        r->over_capacity = 1;
    }
    r->found_by_search = 1;
    r->proposals = evals;
    r->chains = r->threads = 1;
    r->simulation = "its own cost model, then one full simulation";
    r->exhausted = left <= 1;
    snprintf(r->origin, sizeof r->origin,
             "optcnn: dynamic program over %ld node and edge costs, %s", evals,
             left <= 1 ? "exact for its cost model (series-parallel)"
                       : "coordinate descent on a core that is not series-parallel");
    soap_search_log_row row = {.elapsed_s = search_now() - start, .proposals = evals,
                               .chain = 0, .current_s = t, .best_s = t};
    search_log_push(&r->log, &r->log_len, &r->log_cap, &row);
    for (int k = 0; k < d.ne; k++)
        free(d.e[k].cost);
    free(d.e);
    for (int op = 0; op < g->nops; op++)
        free(d.node[op]);
    free(d.node);
    free(d.nc);
    free(d.alive);
    free(d.choice);
    free(d.el);
    soap_space_free(d.space);
    return SOAP_OK;
}

const soap_search_ops search_optcnn = {
    .name = "optcnn",
    .description = "OptCNN-style dynamic program over per-op configs (no inter-op "
                   "concurrency; node/edge elimination)",
    .run = run_optcnn,
};
