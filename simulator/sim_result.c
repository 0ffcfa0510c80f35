/* sim_result.c: the figures of the last simulation (soap_sim_result_get):
 * iteration time and throughput, per-device busy time and peak memory,
 * bytes per link kind, the critical path, the lower bounds, task counts.
 *
 * Critical path: the longest path through the schedule where a task's
 * predecessors are its dependencies and the previous task on its resource,
 * each path weighted by the durations on it. Since start = max(ready, end of
 * the resource's previous task) and ready = max end of the dependencies, the
 * end of every task is exactly the length of the longest such path ending in
 * it, so the critical path equals the iteration time (computed here
 * separately, as a check that tests assert).
 *
 * Bounds (each <= the iteration time): lb_work = the devices' total busy
 * time / devices; lb_critical = the longest dependency path with transfers
 * taking no time (resources ignored); lb_link = the busiest link direction
 * (or bus): the sum of its transfers' times; lb = the largest.
 *
 * Memory per device (bytes): the weights and gradients of every shard it
 * holds (sim_weight_bytes: 2 x shard bytes of soap_decomp_shards, the whole
 * iteration; the executor's allocation differs as test_weight_memory.c
 * pins: it adds a sum buffer per replicated shard, and keeps one box per
 * weight and device, the hull of the shards the device holds), plus a
 * sweep over the timeline of
 *  - activations: a fwd task's output from its start to the end of its bwd
 *    task (an INPUT's data for the whole iteration);
 *  - received activations: from the arrival (end of the last hop) to the end
 *    of the consumer's bwd task, which needs them again;
 *  - received gradients: from the arrival to the end of the bwd task that
 *    consumes them;
 *  - ps: gradients gathered at the first replica, from arrival to the end of
 *    the update. Ring all-reduce chunks and the updated weights sent back are
 *    reduced / written in place and take nothing extra.
 *  - an all-gather edge's ring (taskgraph.c's gather_pass): the message of
 *    ring edge r is what its receiver gets, every block but its own
 *    (forward) or the partial gradient sums of every block but the
 *    sender's (backward), held like a pair's message: from its arrival to
 *    the end of the bwd of the smallest consumer task on the receiver
 *    (forward), respectively to the end of the smallest producer task's bwd
 *    there (backward). Summed over the ring, each pass holds what the
 *    k(k - 1) pairs would deliver.
 *  - an all-to-all edge (taskgraph.c's alltoall_pass): what a device
 *    receives in a pass (every pair's message into it) is held from its
 *    arrival join to the end of the smallest receiving task's bwd
 *    (forward), respectively of that task (backward), as the pairs' were.
 * Task counts: ncomm counts transfer hops (XFER, GRAD, an all-to-all's
 * link tasks) and the joins of all-gather and all-to-all collectives; nsync the weight synchronisation (SYNC, UPDATE,
 * its joins) and the barrier. Bytes: every hop adds its bytes to its link's
 * kind (bytes_by_kind), every message its bytes once (bytes_total, at hop
 * 0); a ring edge of a collective is one message, so an all-gather edge
 * adds (k - 1) x its producer's output bytes per pass, as its pairs did;
 * an all-to-all's link task adds the bytes of the messages it carries
 * first (sent), so the edge adds its pairs' bytes.
 * At equal times frees come before allocations (a buffer freed at t can be
 * reused by one allocated at t).
 */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

typedef struct mem_event {
    double t;
    double bytes; /* > 0 alloc, < 0 free */
    int dev;
    int seq;      /* creation order: a total order for equal events */
} mem_event;

static int cmp_event(const void *a, const void *b)
{
    const mem_event *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if ((x->bytes < 0) != (y->bytes < 0))
        return x->bytes < 0 ? -1 : 1;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

static int is_compute(const sim_task *t)
{
    return t->kind == SIM_FWD || t->kind == SIM_BWD || t->kind == SIM_UPDATE;
}

static int is_transfer(const sim_task *t)
{
    return t->kind == SIM_XFER || t->kind == SIM_GRAD || t->kind == SIM_SYNC;
}

static void push_event(mem_event **ev, int *n, int *cap, int dev, double t, double bytes)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 1024;
        *ev = soap_xrealloc(*ev, (size_t)*cap * sizeof **ev);
    }
    (*ev)[*n] = (mem_event){.t = t, .bytes = bytes, .dev = dev, .seq = *n};
    (*n)++;
}

void sim_weight_bytes(soap_sim *sim, double *bytes)
{
    const soap_graph *g = sim->g;
    memset(bytes, 0, (size_t)sim->m->ndevices * sizeof *bytes);
    for (int w = 0; w < g->nweights; w++) {
        int n = soap_decomp_shards(g, sim->strat, w, &sim->shards);
        const soap_shard *sh = sim->shards.data;
        for (int s = 0; s < n; s++) {
            double b = 2.0 * (double)soap_region_volume(&sh[s].region) * SOAP_ELEM_BYTES;
            for (int k = 0; k < sh[s].ndevices; k++)
                bytes[sh[s].devices[k]] += b;
        }
    }
}

static void memory(soap_sim *sim, double *peak)
{
    const soap_machine *m = sim->m;
    int nd = m->ndevices;
    double *base = soap_xcalloc((size_t)nd, sizeof *base);
    sim_weight_bytes(sim, base); /* weights and their gradients */

    mem_event *ev = NULL;
    int nev = 0, evcap = 0;
    const sim_task *T = sim->tasks;
    double forever = sim->iteration_s;
    for (int i = 0; i < sim->norder; i++) {
        const sim_task *t = &T[sim->order[i]];
        switch ((sim_kind)t->kind) {
        case SIM_FWD:
            push_event(&ev, &nev, &evcap, t->dev, t->start, t->bytes);
            push_event(&ev, &nev, &evcap, t->dev, t->target >= 0 ? T[t->target].end : forever,
                       -t->bytes);
            break;
        case SIM_XFER:
            if (t->last) {
                int bwd = T[t->target].target;
                push_event(&ev, &nev, &evcap, t->dev, t->end, t->bytes);
                push_event(&ev, &nev, &evcap, t->dev, bwd >= 0 ? T[bwd].end : forever,
                           -t->bytes);
            }
            break;
        case SIM_GRAD:
            if (t->last) {
                push_event(&ev, &nev, &evcap, t->dev, t->end, t->bytes);
                push_event(&ev, &nev, &evcap, t->dev, T[t->target].end, -t->bytes);
            }
            break;
        case SIM_JOIN:
            /* An all-to-all edge's arrival on a device: what the device
             * received, held like a pair's message. */
            if (t->gather == 2 && t->idx2 == 3) {
                int fwd = (t->key >> 62) == SIM_PHASE_FWD;
                int until = fwd ? T[t->target].target : t->target;
                push_event(&ev, &nev, &evcap, t->dev, t->end, t->bytes);
                push_event(&ev, &nev, &evcap, t->dev, until >= 0 ? T[until].end : forever,
                           -t->bytes);
            }
            break;
        case SIM_SYNC:
            /* Received gradients (ps: step 1; master: steps 1 and 2) are
             * held until the task they feed ends. */
            if (t->last && t->target >= 0 &&
                ((sim->opt.sync == SOAP_SYNC_PS && t->idx2 == 1) ||
                 (sim->opt.sync == SOAP_SYNC_MASTER && (t->idx2 == 1 || t->idx2 == 2)))) {
                push_event(&ev, &nev, &evcap, t->dev, t->end, t->bytes);
                push_event(&ev, &nev, &evcap, t->dev, T[t->target].end, -t->bytes);
            }
            break;
        default:
            break;
        }
    }
    if (nev > 1)
        qsort(ev, (size_t)nev, sizeof *ev, cmp_event);
    for (int d = 0; d < nd; d++)
        peak[d] = base[d];
    double cur = 0;
    for (int i = 0; i < nev; i++) {
        if (i == 0 || ev[i].dev != ev[i - 1].dev)
            cur = 0;
        cur += ev[i].bytes;
        if (base[ev[i].dev] + cur > peak[ev[i].dev])
            peak[ev[i].dev] = base[ev[i].dev] + cur;
    }
    free(ev);
    free(base);
}

/* Longest paths over the processing order (a topological order of both the
 * dependencies and the resource queues). cp: schedule path (= end times);
 * lbc: dependencies only, transfers free. Arrays indexed by task slot. */
static void longest_paths(const soap_sim *sim, double *cp, double *lbc)
{
    const sim_task *T = sim->tasks;
    for (int i = 0; i < sim->norder; i++) {
        int x = sim->order[i];
        const sim_task *t = &T[x];
        double a = 0, b = 0;
        for (int e = t->ein; e >= 0; e = sim->edges[e].next_in) {
            int z = sim->edges[e].src;
            if (cp[z] > a)
                a = cp[z];
            if (lbc[z] > b)
                b = lbc[z];
        }
        if (t->res_prev >= 0 && cp[t->res_prev] > a)
            a = cp[t->res_prev];
        cp[x] = a + t->dur;
        lbc[x] = b + (is_compute(t) ? t->dur : 0);
    }
}

void sim_mark_critical(const soap_sim *sim, unsigned char *on_path)
{
    const sim_task *T = sim->tasks;
    memset(on_path, 0, (size_t)(sim->task_used ? sim->task_used : 1));
    if (sim->norder == 0)
        return;
    /* The task that ends last (first such in the order), then backwards:
     * the dependency or resource predecessor whose end is this start. */
    int x = -1;
    for (int i = 0; i < sim->norder; i++)
        if (T[sim->order[i]].end == sim->iteration_s) {
            x = sim->order[i];
            break;
        }
    while (x >= 0) {
        on_path[x] = 1;
        const sim_task *t = &T[x];
        int next = -1;
        if (t->res_prev >= 0 && T[t->res_prev].end == t->start)
            next = t->res_prev;
        for (int e = t->ein; e >= 0 && next < 0; e = sim->edges[e].next_in)
            if (T[sim->edges[e].src].end == t->start)
                next = sim->edges[e].src;
        x = next;
    }
}

void soap_sim_result_get(soap_sim *sim, soap_sim_result *r)
{
    SOAP_ASSERT(sim && r);
    memset(r, 0, sizeof *r);
    const soap_machine *m = sim->m;
    int nd = m->ndevices;
    r->ndevices = nd;
    r->busy_s = soap_xcalloc((size_t)nd, sizeof *r->busy_s);
    r->peak_mem = soap_xcalloc((size_t)nd, sizeof *r->peak_mem);
    soap_costs_counts(sim->costs, &r->costs_measured, &r->costs_analytic);
    if (!sim->simulated)
        return;
    r->iteration_s = sim->iteration_s;
    r->throughput = sim->iteration_s > 0 ? (double)sim->g->batch / sim->iteration_s : 0;

    /* Sums run in the processing order, so that they do not depend on where
     * tasks sit in the pool (a delta-built graph and a fresh one give the
     * same figures bitwise). */
    const sim_task *T = sim->tasks;
    double *res_busy = soap_xcalloc((size_t)sim->nres, sizeof *res_busy);
    double work = 0;
    for (int i = 0; i < sim->norder; i++) {
        const sim_task *t = &T[sim->order[i]];
        r->ntasks++;
        if (t->kind == SIM_FWD || t->kind == SIM_BWD)
            r->ncompute++;
        else if (t->kind == SIM_XFER || t->kind == SIM_GRAD || t->gather)
            r->ncomm++;
        else
            r->nsync++;
        if (t->res >= 0)
            res_busy[t->res] += t->dur;
        if (is_compute(t))
            work += t->dur;
        if (is_transfer(t)) {
            r->bytes_by_kind[m->links[t->link].kind] += t->bytes;
            if (t->gather == 2)
                r->bytes_total += t->sent;
            else if (t->hop == 0)
                r->bytes_total += t->bytes;
        }
    }
    for (int d = 0; d < nd; d++)
        r->busy_s[d] = res_busy[d];
    for (int q = nd; q < sim->nres; q++)
        if (res_busy[q] > r->lb_link_s)
            r->lb_link_s = res_busy[q];
    free(res_busy);
    r->lb_work_s = work / nd;

    size_t n = (size_t)(sim->task_used ? sim->task_used : 1);
    double *cp = soap_xcalloc(n, sizeof *cp);
    double *lbc = soap_xcalloc(n, sizeof *lbc);
    longest_paths(sim, cp, lbc);
    for (int i = 0; i < sim->norder; i++) {
        int x = sim->order[i];
        if (cp[x] > r->critical_path_s)
            r->critical_path_s = cp[x];
        if (lbc[x] > r->lb_critical_s)
            r->lb_critical_s = lbc[x];
    }
    free(cp);
    free(lbc);
    r->lb_s = r->lb_work_s;
    if (r->lb_critical_s > r->lb_s)
        r->lb_s = r->lb_critical_s;
    if (r->lb_link_s > r->lb_s)
        r->lb_s = r->lb_link_s;

    memory(sim, r->peak_mem);
    for (int d = 0; d < nd; d++)
        if (r->peak_mem[d] > m->types[m->devices[d].type].mem_capacity)
            r->over_capacity++;
}

void soap_sim_result_free(soap_sim_result *r)
{
    if (!r)
        return;
    free(r->busy_s);
    free(r->peak_mem);
    r->busy_s = r->peak_mem = NULL;
}

long soap_sim_ntasks(const soap_sim *sim)
{
    SOAP_ASSERT(sim != NULL);
    return sim->norder;
}
