/* sim_delta.c: delta simulation (soap_sim_delta) and its undo.
 *
 * A delta replaces the configs of a set of ops (one op, or the members of
 * a group that share a weight: soap_sim_delta_many; the one-op functions
 * are its n = 1 case): it removes the groups that depend on them (each
 * op's compute tasks, the transfers of its input edges and of the edges
 * that consume it, the synchronisation of its weights; a group two of the
 * ops share once) and builds them anew from the pools' free lists, then
 * re-simulates exactly from a cut.
 *
 * Why a cut is exact: a full simulation processes the tasks in increasing
 * (ready, key) (sim_internal.h), so the last processing order is the sorted
 * order of all tasks. Let the cut C be the smallest of
 *   - the old (ready, key) of every removed task and of every surviving task
 *     whose predecessors changed (lost or gained one), and
 *   - the new (ready, key) of every added or changed task whose predecessors
 *     all lie before the first part of the cut (their ends are final).
 * Every task processed before C keeps its predecessors, its resource queue
 * up to it and so its times; every other task of the new graph has (ready,
 * key) >= C (its predecessors are before C and its old value was >= C, or
 * it is one of the tasks above, or it follows a predecessor that is >= C).
 * So a full simulation of the new graph processes exactly the old prefix
 * first, with the same times, and then the rest. We keep the prefix and
 * resume the event loop from it: each resource's free time is the end of its
 * last task before the cut, the heap holds the tasks after the cut whose
 * predecessors are all before it. Times come out bitwise equal to a full
 * simulation (the same max and + on the same values).
 *
 * Work per delta: the removed and added groups plus the tasks after the cut
 * (found through the order and the resource chains, never a scan of the
 * whole graph). Nothing is allocated once the pools and scratch lists have
 * grown to their working size.
 *
 * Undo (a rejected proposal) re-simulates nothing: a delta keeps the tasks
 * it replaced, unlinked from the live graph but with their own edge lists,
 * the old order from the cut on with those tasks' ready times, and the
 * resources' state at the cut. soap_sim_undo drops the new tasks, links the
 * old ones back and replays the old order through the resource queues (no
 * heap, no edges: start = max(ready, resource free), end = start +
 * duration, as the event loop computed them), so the state is bitwise the
 * one before the delta. The next delta (or full
 * simulation) commits: the replaced tasks and their edges go back to the
 * pools then.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sim_internal.h"

/* Marks every task of `group` dead and empties the group. */
static void mark_group(soap_sim *sim, int group, int *p0)
{
    for (int x = sim->group_head[group]; x >= 0; x = sim->tasks[x].gnext) {
        sim_task *t = &sim->tasks[x];
        SOAP_ASSERT(t->state == SIM_LIVE);
        t->state = SIM_DEAD;
        sim_ivec_push(&sim->dead, x);
        if (t->pos < *p0)
            *p0 = t->pos;
    }
    sim->group_head[group] = -1;
}

static void mark_changed(soap_sim *sim, int y, int *p0)
{
    sim_task *t = &sim->tasks[y];
    if (t->state != SIM_LIVE || t->changed)
        return;
    t->changed = 1;
    sim_ivec_push(&sim->changed, y);
    if (t->pos < *p0)
        *p0 = t->pos;
}

/* First position i < n of the order with (ready, key) of order[i] >= (ready,
 * key). */
static int lower_bound(const soap_sim *sim, int n, double ready, uint64_t key)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        const sim_task *t = &sim->tasks[sim->order[mid]];
        if (t->ready < ready || (t->ready == ready && t->key < key))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Lowers *p to where task y's new (ready, key) falls in the old order, if
 * all of y's predecessors are old tasks processed before p0. */
static void cut_by_new_value(soap_sim *sim, int y, int p0, int *p)
{
    const sim_task *T = sim->tasks;
    double r = 0;
    for (int e = T[y].ein; e >= 0; e = sim->edges[e].next_in) {
        const sim_task *z = &T[sim->edges[e].src];
        if (z->state != SIM_LIVE || z->pos >= p0)
            return;
        if (z->end > r)
            r = z->end;
    }
    int q = lower_bound(sim, p0, r, T[y].key);
    if (q < *p)
        *p = q;
}

/* Sets y's ready and pending from its predecessors before the cut p; pushes
 * it when nothing is pending. */
static void prepare(soap_sim *sim, int y, int p)
{
    sim_task *T = sim->tasks;
    double r = 0;
    int pending = 0;
    for (int e = T[y].ein; e >= 0; e = sim->edges[e].next_in) {
        const sim_task *z = &T[sim->edges[e].src];
        if (z->pos < p) {
            if (z->end > r)
                r = z->end;
        } else {
            pending++;
        }
    }
    T[y].ready = r;
    T[y].pending = pending;
    if (pending == 0)
        sim_heap_push(sim, y);
}

/* Empties the group, remembering its head for undo. */
static void take_group(soap_sim *sim, int group, int *p0)
{
    sim_ivec_push(&sim->undo_groups, group);
    sim_ivec_push(&sim->undo_groups, sim->group_head[group]);
    mark_group(sim, group, p0);
}

static void revert(soap_sim *sim, int replay);

/* The resources' busy sums after the change (into res_busy_alt); returns
 * their largest, a lower bound of the new iteration time. */
static double busy_after(soap_sim *sim)
{
    double *b = sim->res_busy_alt;
    memcpy(b, sim->res_busy, (size_t)sim->nres * sizeof *b);
    const sim_task *T = sim->tasks;
    for (int i = 0; i < sim->dead.n; i++)
        if (T[sim->dead.v[i]].res >= 0)
            b[T[sim->dead.v[i]].res] -= T[sim->dead.v[i]].dur;
    for (int i = 0; i < sim->created.n; i++)
        if (T[sim->created.v[i]].res >= 0)
            b[T[sim->created.v[i]].res] += T[sim->created.v[i]].dur;
    double lb = 0;
    for (int r = 0; r < sim->nres; r++)
        if (b[r] > lb)
            lb = b[r];
    return lb;
}

/* Back to rest after a change: new tasks live, no task marked changed. */
static void settle(soap_sim *sim)
{
    for (int i = 0; i < sim->created.n; i++)
        sim->tasks[sim->created.v[i]].state = SIM_LIVE;
    for (int i = 0; i < sim->changed.n; i++)
        sim->tasks[sim->changed.v[i]].changed = 0;
    sim->changed.n = 0;
    sim->pending = 1;
}

/* Takes (once) the groups that depend on op's config: its compute tasks,
 * the transfers of its input edges and of the edges that consume it, the
 * synchronisation of its weights. A group two changed ops share (the edge
 * between them, a shared weight's synchronisation) is taken by the first
 * (group_mark). */
static void take_op_groups(soap_sim *sim, int op, int *p0)
{
    const soap_op *o = &sim->g->ops[op];
    int gc = sim_group_compute(sim, op);
    SOAP_ASSERT(!sim->group_mark[gc]); /* every op at most once in a change */
    sim->group_mark[gc] = 1;
    take_group(sim, gc, p0);
    for (int i = 0; i < o->ninputs; i++) {
        int ge = sim_group_edge(sim, sim->edge_base[op] + i);
        if (!sim->group_mark[ge]) {
            sim->group_mark[ge] = 1;
            take_group(sim, ge, p0);
        }
    }
    for (int j = sim->cons_start[op]; j < sim->cons_start[op + 1]; j++) {
        int ge = sim_group_edge(sim, sim->cons[j]);
        if (!sim->group_mark[ge]) {
            sim->group_mark[ge] = 1;
            take_group(sim, ge, p0);
        }
    }
    for (int k = 0; k < o->nweights; k++) {
        int gs = sim_group_sync(sim, o->weights[k]);
        if (!sim->group_mark[gs]) {
            sim->group_mark[gs] = 1;
            take_group(sim, gs, p0);
        }
    }
}

/* Builds the groups taken (undo_groups, in the order taken) anew from the
 * changed configs: every compute group first (transfers and
 * synchronisation read the compute tasks of both ends), then the edges,
 * then the weights; clears their marks. */
static void build_taken(soap_sim *sim)
{
    const int ne = sim->g->nops + sim->nedges;
    const sim_ivec *ug = &sim->undo_groups;
    for (int i = 0; i < ug->n; i += 2)
        if (ug->v[i] < sim->g->nops)
            sim_build_compute(sim, ug->v[i]);
    for (int i = 0; i < ug->n; i += 2)
        if (ug->v[i] >= sim->g->nops && ug->v[i] < ne)
            sim_build_edge(sim, ug->v[i] - sim->g->nops);
    for (int i = 0; i < ug->n; i += 2)
        if (ug->v[i] >= ne)
            sim_build_sync(sim, ug->v[i] - ne);
    for (int i = 0; i < ug->n; i += 2)
        sim->group_mark[ug->v[i]] = 0;
}

/* Replaces the config of every op ops[i] by cfgs[i] (those that differ
 * from the current one) and re-simulates from the cut, keeping what undo
 * needs. When the new time is sure to exceed `limit` (a resource's busy
 * sum, or a task that ends, after it) the change is undone at once: *exact
 * = 0 and the value returned is a lower bound of the new time above the
 * limit. The cut argument of the file comment holds for any set of
 * removed and rebuilt groups, so one op and several are the same code. */
static double apply(soap_sim *sim, int n, const int *ops, const soap_config *cfgs,
                    double limit, int *exact)
{
    int nold = sim->norder;
    int p0 = nold;
    sim->dead.n = sim->changed.n = sim->created.n = sim->undo_groups.n = 0;
    sim->undo_nold = nold;
    sim->undo_iteration = sim->iteration_s;
    sim->undo_nops = 0;
    for (int i = 0; i < n; i++) {
        int op = ops[i];
        if (soap_config_equal(&cfgs[i], &sim->strat->configs[op]))
            continue;
        int u = sim->undo_nops++;
        sim->undo_ops[u] = op;
        sim->undo_cfg[u] = sim->strat->configs[op];
        memcpy(sim->undo_fwd[u], sim->fwd_id[op], sizeof sim->undo_fwd[u]);
        memcpy(sim->undo_bwd[u], sim->bwd_id[op], sizeof sim->undo_bwd[u]);
    }
    SOAP_ASSERT(sim->undo_nops > 0);

    /* 1. The groups that depend on the changed ops' configs. */
    for (int u = 0; u < sim->undo_nops; u++)
        take_op_groups(sim, sim->undo_ops[u], &p0);

    /* 2. Survivors losing a predecessor; then unlink the dead from them
     * (the dead keep their own edge lists for undo). */
    for (int i = 0; i < sim->dead.n; i++) {
        int x = sim->dead.v[i];
        for (int e = sim->tasks[x].eout; e >= 0; e = sim->edges[e].next_out)
            mark_changed(sim, sim->edges[e].dst, &p0);
    }
    for (int i = 0; i < sim->dead.n; i++)
        sim_task_unlink(sim, sim->dead.v[i]);

    /* 3. The new groups (they may grow the pools: re-read pointers after). */
    for (int i = 0; i < n; i++)
        sim->strat->configs[ops[i]] = cfgs[i];
    build_taken(sim);
    /* Survivors gaining a predecessor (every new edge touches a new task). */
    for (int i = 0; i < sim->created.n; i++) {
        int x = sim->created.v[i];
        for (int e = sim->tasks[x].eout; e >= 0; e = sim->edges[e].next_out)
            mark_changed(sim, sim->edges[e].dst, &p0);
    }

    /* 3b. A bound that decides without simulating. The busy sums are kept
     * by additions and subtractions: the margin covers their rounding. */
    *exact = 1;
    double lb = busy_after(sim);
    if (lb > limit * (1 + 1e-7)) {
        settle(sim);
        sim->undo_p = nold;
        revert(sim, 0);
        *exact = 0;
        return lb;
    }

    /* 4. The cut. */
    int p = p0;
    for (int i = 0; i < sim->created.n; i++)
        cut_by_new_value(sim, sim->created.v[i], p0, &p);
    for (int i = 0; i < sim->changed.n; i++)
        cut_by_new_value(sim, sim->changed.v[i], p0, &p);
    sim->undo_p = p;

    /* 5. One pass over the old tasks after the cut: save them for undo; the
     * resources as they were just before the cut (a resource's last task
     * before the cut is the resource predecessor of its first task after
     * it; dead tasks' links are intact); the frontier: ready and pending
     * counts from the predecessors before the cut. A task after the cut
     * reads as "not before the cut" whether or not its position was reset
     * yet. */
    sim_task *T = sim->tasks;
    sim->nheap = 0;
    int bounded = limit < INFINITY;
    if (bounded)
        memset(sim->res_left, 0, (size_t)sim->nres * sizeof *sim->res_left);
    for (int i = p; i < nold; i++) {
        int y = sim->order[i];
        sim_task *t = &T[y];
        sim->snap_id[i] = y;
        sim->snap_ready[i] = t->ready;
        if (t->res >= 0 && (t->res_prev < 0 || T[t->res_prev].pos < p))
            sim->res_last[t->res] = t->res_prev;
        if (t->state != SIM_DEAD) {
            prepare(sim, y, p);
            if (bounded && t->res >= 0)
                sim->res_left[t->res] += t->dur;
        }
        t->pos = INT32_MAX;
    }
    for (int i = 0; i < sim->created.n; i++) {
        int y = sim->created.v[i];
        prepare(sim, y, p);
        if (bounded && T[y].res >= 0)
            sim->res_left[T[y].res] += T[y].dur;
    }
    for (int r = 0; r < sim->nres; r++) {
        int t = sim->res_last[r];
        SOAP_ASSERT(t < 0 || T[t].pos < p);
        sim->res_free[r] = t >= 0 ? T[t].end : 0;
    }
    memcpy(sim->snap_res_last, sim->res_last, (size_t)sim->nres * sizeof *sim->res_last);
    memcpy(sim->snap_res_free, sim->res_free, (size_t)sim->nres * sizeof *sim->res_free);
    sim->norder = p;
    double passed = sim_event_loop(sim, limit);

    /* 6. Bookkeeping back to rest; dead and created stay listed for undo. */
    settle(sim);
    if (passed >= 0) {
        revert(sim, 1);
        *exact = 0;
        return passed;
    }
    SOAP_ASSERT(sim->norder == sim->nlive - sim->dead.n);
    double *t = sim->res_busy;
    sim->res_busy = sim->res_busy_alt;
    sim->res_busy_alt = t;
    sim->busy_swapped = 1;
    return sim->iteration_s;
}

/* Replays the old tasks after the cut in their old order from the
 * resources' state at the cut: the same max and + as the event loop made,
 * so start and end come back bitwise. */
static void replay_order(soap_sim *sim)
{
    sim_task *T = sim->tasks;
    memcpy(sim->res_last, sim->snap_res_last, (size_t)sim->nres * sizeof *sim->res_last);
    memcpy(sim->res_free, sim->snap_res_free, (size_t)sim->nres * sizeof *sim->res_free);
    int p = sim->undo_p;
    double pm = p > 0 ? sim->pmax[p - 1] : 0;
    for (int i = p; i < sim->undo_nold; i++) {
        int x = sim->snap_id[i];
        sim_task *t = &T[x];
        double s = sim->snap_ready[i];
        t->ready = s;
        if (t->res >= 0) {
            int r = t->res;
            if (sim->res_free[r] > s)
                s = sim->res_free[r];
            t->end = s + t->dur;
            sim->res_free[r] = t->end;
            t->res_prev = sim->res_last[r];
            sim->res_last[r] = x;
        } else {
            t->end = s + t->dur;
            t->res_prev = -1;
        }
        t->start = s;
        t->pos = i;
        sim->order[i] = x;
        if (t->end > pm)
            pm = t->end;
        sim->pmax[i] = pm;
    }
}

/* Forgets the undo information of the last delta. */
static void delta_commit(soap_sim *sim)
{
    if (sim->pending)
        sim_release_unlinked(sim, sim->dead.v, sim->dead.n);
    sim->pending = 0;
    sim->can_undo = 0;
    sim->busy_swapped = 0;
    sim->dead.n = sim->created.n = sim->undo_groups.n = 0;
}

/* Puts the graph and timeline from before the last apply() back: the new
 * tasks go, the replaced ones are linked in again, and (replay) the old
 * order and times of the tasks after the cut are copied back (nothing
 * re-simulated); without replay the timeline was never touched. */
static void revert(soap_sim *sim, int replay)
{
    sim_task *T = sim->tasks;
    for (int i = 0; i < sim->created.n; i++)
        sim_task_detach(sim, sim->created.v[i]);
    for (int i = 0; i < sim->created.n; i++)
        sim_task_release(sim, sim->created.v[i]);
    for (int i = 0; i < sim->dead.n; i++)
        sim_task_relink(sim, sim->dead.v[i]);
    for (int i = 0; i < sim->dead.n; i++)
        T[sim->dead.v[i]].state = SIM_LIVE;
    /* Heads in reverse order of taking (each group is taken once). */
    for (int i = sim->undo_groups.n - 2; i >= 0; i -= 2)
        sim->group_head[sim->undo_groups.v[i]] = sim->undo_groups.v[i + 1];
    for (int u = sim->undo_nops - 1; u >= 0; u--) {
        int op = sim->undo_ops[u];
        memcpy(sim->fwd_id[op], sim->undo_fwd[u], sizeof sim->undo_fwd[u]);
        memcpy(sim->bwd_id[op], sim->undo_bwd[u], sizeof sim->undo_bwd[u]);
        sim->strat->configs[op] = sim->undo_cfg[u];
    }
    if (sim->busy_swapped) {
        double *t = sim->res_busy;
        sim->res_busy = sim->res_busy_alt;
        sim->res_busy_alt = t;
        sim->busy_swapped = 0;
    }
    if (replay)
        replay_order(sim);
    sim->norder = sim->undo_nold;
    sim->iteration_s = sim->undo_iteration;
    sim->dead.n = sim->created.n = sim->undo_groups.n = 0;
    sim->pending = 0;
    SOAP_ASSERT(sim->norder == sim->nlive);
}

/* ------------------------------------------------------------------ */
/* A lower bound before building (soap_sim_bound_change)               */
/* ------------------------------------------------------------------ */

/* Subtracts the durations of group's tasks from their resources' entries
 * in add[] (seconds), once per group (group_mark; bound_groups lists the
 * marked ones). */
static void bound_take(soap_sim *sim, int group, double *add)
{
    if (sim->group_mark[group])
        return;
    sim->group_mark[group] = 1;
    sim_ivec_push(&sim->bound_groups, group);
    const sim_task *T = sim->tasks;
    for (int x = sim->group_head[group]; x >= 0; x = T[x].gnext)
        if (T[x].res >= 0)
            add[T[x].res] -= T[x].dur;
}

/* Why it is a lower bound: apply() removes exactly the groups walked here
 * (each once) and builds the same groups anew; every other task keeps its
 * resource and duration. The new groups hold the new configs' compute
 * tasks (the durations sim_build_compute gives them, from the same cost
 * lookups) plus transfers, synchronisation and updates of durations >= 0,
 * left out here. A resource runs its tasks one at a time from time 0, so
 * the new iteration time is at least any resource's total. The busy sums
 * are kept by additions and subtractions (they drift from an exact sum by
 * rounding) and the event loop adds in another order: the relative margin
 * 1e-7 (as in apply's own busy test) times the sizes of the terms covers
 * both. An op whose config does not change is counted as removed and
 * re-added with the same costs (apply leaves it alone): still a bound. */
double soap_sim_bound_change_many(soap_sim *sim, int n, const int *ops,
                                  const soap_config *cfgs)
{
    SOAP_ASSERT(sim && sim->simulated && n >= 0 && (n == 0 || (ops && cfgs)));
    const soap_graph *g = sim->g;
    double *add = sim->bound_add;
    sim->bound_groups.n = 0;
    for (int i = 0; i < n; i++) {
        int op = ops[i];
        SOAP_ASSERT(op >= 0 && op < g->nops);
        const soap_op *o = &g->ops[op];
        bound_take(sim, sim_group_compute(sim, op), add);
        for (int j = 0; j < o->ninputs; j++)
            bound_take(sim, sim_group_edge(sim, sim->edge_base[op] + j), add);
        for (int j = sim->cons_start[op]; j < sim->cons_start[op + 1]; j++)
            bound_take(sim, sim_group_edge(sim, sim->cons[j]), add);
        for (int k = 0; k < o->nweights; k++)
            bound_take(sim, sim_group_sync(sim, o->weights[k]), add);
    }
    for (int i = 0; i < sim->bound_groups.n; i++)
        sim->group_mark[sim->bound_groups.v[i]] = 0;
    /* The new configs' compute tasks, costed as sim_build_compute costs
     * them. */
    soap_task_cost costs[SOAP_MAX_TASKS];
    for (int i = 0; i < n; i++) {
        const soap_op *o = &g->ops[ops[i]];
        const soap_config *c = &cfgs[i];
        sim_config_costs(sim, ops[i], c, costs);
        for (int t = 0; t < c->ntasks; t++)
            add[c->device[t]] +=
                o->kind == SOAP_OP_INPUT ? costs[t].fwd_s : costs[t].fwd_s + costs[t].bwd_s;
    }
    /* The largest new total, less the margin; add[] back to zero. */
    double lb = 0;
    for (int r = 0; r < sim->nres; r++) {
        double b = sim->res_busy[r] + add[r];
        double size = sim->res_busy[r] + fabs(add[r]);
        add[r] = 0;
        b -= 1e-7 * size;
        if (b > lb)
            lb = b;
    }
    return lb;
}

double soap_sim_bound_change(soap_sim *sim, int op, const soap_config *c)
{
    SOAP_ASSERT(sim && c);
    return soap_sim_bound_change_many(sim, 1, &op, c);
}

double soap_sim_delta(soap_sim *sim, int op, const soap_config *c)
{
    return soap_sim_delta_limit(sim, op, c, INFINITY, NULL);
}

double soap_sim_delta_limit(soap_sim *sim, int op, const soap_config *c, double limit,
                            int *exact)
{
    SOAP_ASSERT(c);
    return soap_sim_delta_many(sim, 1, &op, c, limit, exact);
}

double soap_sim_delta_many(soap_sim *sim, int n, const int *ops, const soap_config *cfgs,
                           double limit, int *exact)
{
    int ex = 1;
    SOAP_ASSERT(sim && sim->simulated && n >= 0 && (n == 0 || (ops && cfgs)));
    soap_error err;
    soap_error_clear(&err);
    int differ = 0;
    for (int i = 0; i < n; i++) {
        SOAP_ASSERT(ops[i] >= 0 && ops[i] < sim->g->nops);
        SOAP_ASSERT(soap_config_check(sim->g, ops[i], &cfgs[i], sim->m->ndevices, &err) ==
                    SOAP_OK);
        differ |= !soap_config_equal(&cfgs[i], &sim->strat->configs[ops[i]]);
    }
    delta_commit(sim);
    sim->can_undo = 1;
    double t = sim->iteration_s; /* nothing to apply, nothing to revert */
    if (differ)
        t = apply(sim, n, ops, cfgs, limit, &ex);
    if (!ex)
        sim->can_undo = 0;
    if (exact)
        *exact = ex;
    return t;
}

void soap_sim_undo(soap_sim *sim)
{
    SOAP_ASSERT(sim);
    if (sim->can_undo && sim->pending)
        revert(sim, 1);
    sim->can_undo = 0;
}
