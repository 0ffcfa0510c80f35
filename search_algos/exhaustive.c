/* exhaustive.c: enumeration of the whole search space with branch and
 * bound, for tiny problems (lenet or a short rnnlm on 2-4 devices with a
 * narrow --dims), to know the true optimum.
 *
 * The space: for every op every degree vector of the space and, with
 * placement freedom, every assignment of its k tasks to the n devices (n^k;
 * not only the blocks the neighbourhood uses), without it tasks on devices
 * 0..k-1. Ops are fixed in id order, depth first; a leaf is simulated by
 * soap_sim_delta of the ops that changed since the last leaf (usually the
 * last one or two).
 *
 * Bound: the compute tasks of a device run one after another, so the
 * iteration takes at least the busiest device's compute time, and at least
 * (compute so far + the least compute each remaining op can have) / n. A
 * subtree whose bound is not below the best so far (the best initial
 * strategy to start with) cannot hold a strictly faster strategy and is
 * skipped. Spaces over SOAP_EXHAUSTIVE_MAX strategies are refused.
 */
#include <stdio.h>
#include <string.h>

#include "search_internal.h"

#define SOAP_EXHAUSTIVE_MAX 1e12

typedef struct ex {
    const soap_search_problem *p;
    const soap_search_options *o;
    soap_search_result *r;
    soap_space *space;
    int n, nops, ntypes;
    int *first;        /* per op: index of its first vector in cost[] rows */
    double *cost;      /* per (op, vector, task, device type): fwd + bwd s */
    int *cfirst;       /* per (op, vector): offset into cost */
    double *rest;      /* rest[k]: least total compute of ops k.. */
    double *load;      /* per device */
    double total;
    soap_config *sel;
    int *dirty;
    double best_s;
    long leaves, pruned, props_budget;
    double t_end, start;
    int aborted;
    long best_leaf;
    soap_strategy *best;
} ex;

static long assignments(const ex *e, int k)
{
    if (!search_space_spec(e->space)->placement)
        return 1;
    long a = 1;
    for (int i = 0; i < k; i++)
        a *= e->n;
    return a;
}

static double task_cost(const ex *e, int op, int v, int t, int type)
{
    return e->cost[e->cfirst[e->first[op] + v] + t * e->ntypes + type];
}

static void leaf(ex *e)
{
    double t = -1.0;
    for (int op = 0; op < e->nops; op++)
        if (e->dirty[op]) {
            t = soap_sim_delta(e->p->sim, op, &e->sel[op]);
            e->dirty[op] = 0;
        }
    SOAP_ASSERT(t >= 0.0);
    e->leaves++;
    if (soap_search_improves(t, e->best_s) &&
        (e->o->allow_over_capacity || search_sim_fits(e->p->sim))) {
        e->best_s = t;
        e->best_leaf = e->leaves;
        soap_strategy_copy(e->best, soap_sim_strategy(e->p->sim));
        soap_search_log_row row = {.elapsed_s = search_now() - e->start,
                                   .proposals = e->leaves, .chain = 0,
                                   .current_s = t, .best_s = t};
        search_log_push(&e->r->log, &e->r->log_len, &e->r->log_cap, &row);
    }
}

static int over(ex *e)
{
    if (e->aborted)
        return 1;
    if ((e->o->stop && *e->o->stop) || (e->props_budget > 0 && e->leaves >= e->props_budget) ||
        (e->t_end > 0 && (e->leaves & 255) == 0 && search_now() >= e->t_end)) {
        e->aborted = 1;
        e->r->interrupted = e->o->stop && *e->o->stop;
    }
    return e->aborted;
}

static void dfs(ex *e, int k)
{
    if (over(e))
        return;
    if (k == e->nops) {
        leaf(e);
        return;
    }
    const soap_machine *m = e->p->m;
    int nv = soap_space_ndegrees(e->space, k);
    for (int v = 0; v < nv; v++) {
        int tasks = search_space_vec_tasks(e->space, k, v);
        long na = assignments(e, tasks);
        soap_config c;
        search_space_config_vec(e->space, k, v, &c);
        for (long a = 0; a < na; a++) {
            if (search_space_spec(e->space)->placement) {
                long x = a;
                for (int t = tasks - 1; t >= 0; t--) {
                    c.device[t] = (int16_t)(x % e->n);
                    x /= e->n;
                }
            }
            double add = 0.0;
            for (int t = 0; t < tasks; t++) {
                int d = c.device[t];
                double w = task_cost(e, k, v, t, m->devices[d].type);
                e->load[d] += w;
                add += w;
            }
            e->total += add;
            double bound = (e->total + e->rest[k + 1]) / e->n;
            for (int d = 0; d < e->n; d++)
                bound = fmax(bound, e->load[d]);
            if (soap_search_improves(bound, e->best_s)) {
                e->sel[k] = c;
                e->dirty[k] = 1;
                dfs(e, k + 1);
            } else {
                e->pruned++;
            }
            for (int t = 0; t < tasks; t++) {
                int d = c.device[t];
                e->load[d] -= task_cost(e, k, v, t, m->devices[d].type);
            }
            e->total -= add;
            if (e->aborted)
                return;
        }
    }
}

static soap_status run_exhaustive(const soap_search_problem *p, const soap_search_options *o,
                                  soap_search_result *r, soap_error *err)
{
    const soap_graph *g = p->g;
    const soap_machine *m = p->m;
    ex e;
    memset(&e, 0, sizeof e);
    e.p = p;
    e.o = o;
    e.r = r;
    e.n = m->ndevices;
    e.nops = g->nops;
    e.ntypes = m->ntypes;
    e.space = soap_space_new(g, e.n, &o->space);

    double size = 1.0;
    int nvec = 0;
    for (int op = 0; op < g->nops; op++) {
        double s = 0.0;
        for (int v = 0; v < soap_space_ndegrees(e.space, op); v++) {
            int k = search_space_vec_tasks(e.space, op, v);
            s += o->space.placement ? pow((double)e.n, (double)k) : 1.0;
        }
        size *= s;
        nvec += soap_space_ndegrees(e.space, op);
    }
    if (size > SOAP_EXHAUSTIVE_MAX) {
        char buf[8];
        soap_space_free(e.space);
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "exhaustive: the space holds %.3g strategies (%d ops, %d "
                              "devices, dims %s); expected at most %.0e: use fewer devices "
                              "or fewer --dims letters (e.g. S)",
                              size, g->nops, e.n, soap_search_space_str(&o->space, buf, sizeof buf),
                              SOAP_EXHAUSTIVE_MAX);
    }

    /* Task compute costs per (op, vector, task, device type). */
    e.first = soap_xcalloc((size_t)g->nops, sizeof *e.first);
    e.cfirst = soap_xcalloc((size_t)nvec, sizeof *e.cfirst);
    int rows = 0, cells = 0;
    for (int op = 0; op < g->nops; op++) {
        e.first[op] = rows;
        for (int v = 0; v < soap_space_ndegrees(e.space, op); v++) {
            e.cfirst[rows++] = cells;
            cells += search_space_vec_tasks(e.space, op, v) * e.ntypes;
        }
    }
    e.cost = soap_xcalloc((size_t)cells, sizeof *e.cost);
    e.rest = soap_xcalloc((size_t)g->nops + 1, sizeof *e.rest);
    for (int op = 0; op < g->nops; op++) {
        double least = INFINITY;
        for (int v = 0; v < soap_space_ndegrees(e.space, op); v++) {
            soap_config c;
            search_space_config_vec(e.space, op, v, &c);
            for (int ty = 0; ty < e.ntypes; ty++) {
                double sum = 0.0;
                for (int t = 0; t < c.ntasks; t++) {
                    soap_region reg = soap_config_task_region(g, op, &c, t);
                    soap_task_cost tc = soap_sim_task_cost(p->sim, op, &reg, &m->types[ty]);
                    double w = tc.fwd_s + (g->ops[op].kind == SOAP_OP_INPUT ? 0.0 : tc.bwd_s);
                    e.cost[e.cfirst[e.first[op] + v] + t * e.ntypes + ty] = w;
                    sum += w;
                }
                least = fmin(least, sum);
            }
        }
        e.rest[op] = least;
    }
    for (int op = g->nops - 1; op >= 0; op--)
        e.rest[op] += e.rest[op + 1];

    e.load = soap_xcalloc((size_t)e.n, sizeof *e.load);
    e.sel = soap_xcalloc((size_t)g->nops, sizeof *e.sel);
    e.dirty = soap_xcalloc((size_t)g->nops, sizeof *e.dirty);
    e.best_s = INFINITY;
    int base = -1;
    for (int i = 0; i < p->ninits; i++)
        if ((r->init_fits[i] || o->allow_over_capacity) &&
            (base < 0 || r->init_s[i] < r->init_s[base]))
            base = i;
    if (base >= 0)
        e.best_s = r->init_s[base];
    e.best = soap_strategy_clone(p->inits[0]);
    e.props_budget = o->proposals;
    e.start = search_now();
    e.t_end = o->seconds > 0 ? e.start + o->seconds : 0.0;
    search_simulate(p->sim, p->inits[0]);
    for (int op = 0; op < g->nops; op++)
        e.dirty[op] = 1;
    dfs(&e, 0);
    r->proposals = e.leaves;
    r->accepted = 0;
    r->chains = 1;
    r->threads = 1;
    r->simulation = "delta simulation";
    r->exhausted = !e.aborted;
    if (e.best_leaf > 0) {
        r->best = e.best;
        e.best = NULL;
        r->best_s = e.best_s;
        r->found_by_search = 1;
        snprintf(r->origin, sizeof r->origin,
                 "exhaustive: leaf %ld of %ld simulated (%ld subtrees pruned)%s",
                 e.best_leaf, e.leaves, e.pruned,
                 e.aborted ? ", stopped before the end" : ", the optimum");
    }
    if (e.best)
        soap_strategy_free(e.best);
    free(e.first);
    free(e.cfirst);
    free(e.cost);
    free(e.rest);
    free(e.load);
    free(e.sel);
    free(e.dirty);
    soap_space_free(e.space);
    return SOAP_OK;
}

const soap_search_ops search_exhaustive = {
    .name = "exhaustive",
    .description = "every strategy of the space, branch and bound (tiny cases only)",
    .run = run_exhaustive,
};
