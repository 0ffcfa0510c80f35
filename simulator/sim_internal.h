/* sim_internal.h: the simulator's internal state, shared by taskgraph.c
 * (building and removing tasks), sim_full.c (the simulator object and the
 * event loop), sim_delta.c (delta simulation), sim_result.c (figures) and
 * sim_export.c (trace and DOT). Not installed; soap_sim.h is the interface.
 *
 * The task graph lives in two pools with free lists (tasks, edges), so that
 * a delta that removes and re-adds an operator's tasks allocates nothing
 * once the pools have grown to their working size. Tasks are grouped: the
 * compute tasks of one op, the transfers of one graph edge (op, input) (for
 * an all-gather edge its ring collectives, joins included), the weight
 * synchronisation of one weight, and one global group (the barrier used by
 * no_overlap). A delta removes and rebuilds whole groups.
 *
 * Keys: every task has a unique 64-bit key that depends only on what the
 * task is (phase, op, task index, input, producer task, hop, shard, step,
 * chunk), never on construction order, and that is a topological order
 * (every edge goes from a smaller to a larger key). Layout, high bits first:
 *
 *   forward  (phase 0): op(20) | sub(1) | input(10) | dst(6) | src(6) | hop(5)
 *                       sub 0: the transfers into op, sub 1: op's fwd tasks
 *                       (the task index in the low bits); a transfer's dst
 *                       and src are the smallest consumer and producer task
 *                       of its device pair (one message per pair and edge)
 *   backward (phase 1): (2^20-1-op)(20) | sub(1) | as above; sub 0: op's bwd
 *                       tasks, sub 1: the gradients op sends to its inputs
 *   an all-gather edge's collective (sim_build_edge), in the transfer
 *   block of its pass (phase 0 sub 0 / phase 1 sub 1 of the consumer op):
 *                       ... | input(10) | step(6) | ring(6) | hop(5) | 1(14)
 *                       step 0: the join that starts it, 1: ring edge
 *                       `ring`'s hops, 2: the join that ends it; the low
 *                       field is 1 (a pair's message has 0 there), so the
 *                       two never meet, and step orders start < hops < end
 *   sync     (phase 2): weight+1(16) | shard(16) | step(8) | chunk(7) | hop(5)
 *                       weight field 0: the no_overlap barrier
 *
 * Ops come in topological order (inputs precede), so a transfer into op
 * (forward block of op) follows its producer's block; backward blocks run in
 * reverse op order, so a gradient sent by op's bwd reaches its producer's
 * block later; synchronisation follows every backward task.
 *
 * Semantics (full and delta compute exactly this): each resource (device,
 * link direction, bus) runs its tasks in increasing (ready, key); ready =
 * max end of the predecessors (0 if none); start = max(ready, end of the
 * previous task on the resource); end = start + duration. Tasks without a
 * resource (joins, the barrier; zero duration) start when ready. Iteration
 * time = the largest end. Since successors get ready >= end >= ready of the
 * task that releases them and a larger key, a heap keyed by (ready, key)
 * pops tasks in exactly increasing (ready, key): the processing order is
 * the sorted order of all tasks, which delta simulation relies on.
 */
#ifndef SOAP_SIM_INTERNAL_H
#define SOAP_SIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "soap_sim.h"

/* ---- key fields ---- */
#define SIM_KEY_OP_BITS 20
#define SIM_KEY_MAX_OPS ((1 << SIM_KEY_OP_BITS) - 1)
#define SIM_KEY_MAX_INPUTS 1024
#define SIM_KEY_MAX_HOPS 32
#define SIM_KEY_MAX_WEIGHTS ((1 << 16) - 1)
#define SIM_KEY_MAX_SHARDS (1 << 16)

enum { SIM_PHASE_FWD = 0, SIM_PHASE_BWD = 1, SIM_PHASE_SYNC = 2 };

/* Forward / backward phase: `sub` 0 or 1, fields as in the file comment. */
static inline uint64_t sim_key_pass(int phase, int op, int sub, int input, int dst, int src)
{
    uint64_t a = phase == SIM_PHASE_FWD ? (uint64_t)op : (uint64_t)(SIM_KEY_MAX_OPS - op);
    return ((uint64_t)phase << 62) | (a << 42) | ((uint64_t)sub << 41) |
           ((uint64_t)input << 31) | ((uint64_t)dst << 25) | ((uint64_t)src << 19);
}
#define SIM_KEY_PASS_HOP_SHIFT 14
/* A task of an all-gather edge's ring collective: step 0 / 2 (joins, ring
 * 0) or 1 (ring edge `ring`, hop h added as h << SIM_KEY_PASS_HOP_SHIFT),
 * in the consumer op's transfer block of `phase`. */
static inline uint64_t sim_key_gather(int phase, int op, int input, int step, int ring)
{
    return sim_key_pass(phase, op, phase == SIM_PHASE_FWD ? 0 : 1, input, step, ring) | 1u;
}
/* A compute task (fwd in phase 0, bwd in phase 1): index t in the low bits. */
static inline uint64_t sim_key_compute(int phase, int op, int t)
{
    return sim_key_pass(phase, op, phase == SIM_PHASE_FWD ? 1 : 0, 0, 0, 0) | (uint64_t)t;
}
/* Sync phase; weight -1 is the barrier. */
static inline uint64_t sim_key_sync(int weight, int shard, int step, int chunk)
{
    return ((uint64_t)SIM_PHASE_SYNC << 62) | ((uint64_t)(weight + 1) << 46) |
           ((uint64_t)shard << 30) | ((uint64_t)step << 22) | ((uint64_t)chunk << 15);
}
#define SIM_KEY_SYNC_HOP_SHIFT 10

/* ---- tasks ---- */
typedef enum sim_kind {
    SIM_FREE = 0, /* a slot on the free list */
    SIM_FWD,      /* forward compute task, on a device */
    SIM_BWD,      /* backward compute task, on a device */
    SIM_XFER,     /* one hop of an activation transfer (forward) */
    SIM_GRAD,     /* one hop of a gradient transfer (backward) */
    SIM_SYNC,     /* one hop of a weight-gradient / weight transfer */
    SIM_UPDATE,   /* weight update of one shard on one device */
    SIM_JOIN,     /* zero-duration join, no resource: every replica's gradient
                     of a shard is ready, or its all-reduce is done
                     (allreduce); or (gather = 1) an all-gather edge's
                     collective may start / is done */
    SIM_BARRIER,  /* zero-duration, no resource: all backward tasks done
                     (no_overlap) */
    SIM_KIND_COUNT
} sim_kind;

/* Delta bookkeeping per task. */
enum { SIM_LIVE = 0, SIM_DEAD = 1, SIM_NEW = 2 };

typedef struct sim_task {
    /* hot: what the event loop touches, the first 64 bytes (one cache line:
     * the pool is 64-byte aligned and the struct 128 bytes) */
    _Alignas(64) uint64_t key;
    double dur;         /* seconds */
    double ready, start, end; /* seconds, of the last simulation */
    int res;            /* resource, -1 for joins and the barrier */
    int pending;        /* predecessors not yet processed */
    int eout, ein;      /* first out- / in-edge, -1 if none */
    int pos;            /* position in the processing order; INT32_MAX
                           while not (yet) processed */
    int res_prev;       /* previous task on res in the processing order */
    /* identity and bookkeeping */
    uint8_t kind;       /* sim_kind */
    uint8_t state;      /* SIM_LIVE / SIM_DEAD / SIM_NEW (delta) */
    uint8_t hop;        /* transfers: hop index along the route */
    uint8_t last;       /* transfers: 1 = last hop (arrives at a device) */
    uint8_t changed;    /* delta: predecessors changed */
    uint8_t gather;     /* 1: a task of an all-gather edge's ring
                           collective (XFER/GRAD hops, JOINs); 2: of an
                           all-to-all edge's collective (a link
                           direction's XFER/GRAD task, JOINs) */
    int group;          /* owning group */
    int gnext;          /* next task of the group, or next free slot */
    int op;             /* compute: the op; XFER/GRAD and gather joins:
                           the consumer op; SYNC/UPDATE/JOIN: the weight */
    int idx;            /* compute: task index; XFER/GRAD: the smallest
                           consumer task the message feeds (or drains), for
                           a gather ring edge its index r; gather joins: -1;
                           sync group: shard index */
    int idx2;           /* XFER/GRAD: the smallest producer task, gather:
                           the key's step (0, 1, 2); sync: step */
    int input;          /* XFER/GRAD and gather joins: input index; sync:
                           chunk / replica */
    int dev;            /* compute/update: device; transfers: destination
                           device of the whole chain; joins: the first
                           device of the ring */
    int link;           /* transfers: link of this hop */
    int target;         /* last hops: the task fed (fwd / bwd / update;
                           gather: the smallest consumer fwd / producer bwd
                           task on the receiving device); compute: the fwd
                           <-> bwd partner; else -1 */
    double bytes;       /* transfers: bytes moved; compute: output bytes;
                           update: shard bytes; all-to-all arrival joins:
                           bytes received on dev */
    double sent;        /* all-to-all link tasks: bytes of the messages
                           whose first hop this link is (bytes_total) */
} sim_task;
_Static_assert(offsetof(sim_task, kind) == 64, "the event loop's fields fill one cache line");

typedef struct sim_edge {
    int dst, next_out;      /* first: what the event loop reads */
    int src, prev_out;      /* in src's out-list */
    int next_in, prev_in;   /* in dst's in-list */
} sim_edge;

/* A heap entry: (ready, key) ordered, id of the task. */
typedef struct sim_heap_item {
    double ready;
    uint64_t key;
    int id;
} sim_heap_item;

/* The message of one graph edge between one pair of devices
 * (sim_build_edge): every piece from producer tasks on `src` to consumer
 * tasks on `dst`. */
typedef struct sim_pair {
    int src, dst;              /* devices */
    int smin, tmin;            /* smallest producer / consumer task: the key */
    int64_t elems;             /* elements of all its pieces */
    uint64_t smask, tmask;     /* producer / consumer tasks (bit = index) */
} sim_pair;
_Static_assert(SOAP_MAX_TASKS <= 64, "sim_pair's task masks are 64 bits");

/* A growable int vector (scratch lists that stop growing after warm-up). */
typedef struct sim_ivec {
    int *v;
    int n, cap;
} sim_ivec;

struct soap_sim {
    const soap_graph *g;
    const soap_machine *m;
    soap_costs *costs;         /* borrowed (soap_sim_new) or owned (a clone) */
    int owns_costs;            /* a clone: its own handle, freed with it */
    soap_sim_options opt;
    uint64_t model_fp, machine_fp; /* of g and m: what strategies must match */
    soap_strategy *strat;      /* the strategy simulated, owned */
    int simulated;             /* a full simulation has run */

    /* resources: devices 0..ndevices-1, then per link one (bus) or two
     * (point-to-point: direction 0 = ends[0] -> ends[1]) */
    int nres;
    int *link_res;             /* per link: its first resource */
    int *res_link;             /* per resource: link id, -1 for a device */

    /* graph structure */
    int nedges;                /* graph edges (op, input) */
    int *edge_base;            /* per op: index of its first input edge */
    int *edge_op;              /* per edge: the consumer op */
    int *cons_start, *cons;    /* per op: the edge ids that consume it */
    int ngroups;               /* nops + nedges + nweights + 1 */
    int *group_head;
    int (*fwd_id)[SOAP_MAX_TASKS]; /* per op, per task: compute task ids */
    int (*bwd_id)[SOAP_MAX_TASKS];
    int barrier;               /* task id (no_overlap) or -1 */

    /* pools */
    sim_task *tasks;
    int task_cap, task_used, task_free, nlive;
    sim_edge *edges;
    int edge_cap, edge_used, edge_free;

    /* simulation state (sized with the task pool) */
    int *order;                /* processing order of the last simulation */
    double *pmax;              /* pmax[i] = largest end in order[0..i] */
    int norder;
    sim_heap_item *heap;       /* grown on demand (the frontier is far
                                  smaller than the graph) */
    int nheap, heap_cap;
    double *res_free;          /* per resource: end of its last task */
    double *res_busy;          /* per resource: the sum of its tasks'
                                  durations (a lower bound of the iteration
                                  time; kept up to date by deltas, so it may
                                  drift from an exact sum by rounding) */
    double *res_busy_alt;      /* scratch: the next / the undone res_busy */
    double *agg_bytes;         /* scratch of an all-to-all edge: per
                                  resource, bytes crossing it; zero between
                                  builds */
    double *agg_sent;          /* ... of which first hops */
    int *agg_res;              /* the resources touched, nagg of them */
    double *res_left;          /* per resource, during a bounded event loop
                                  (a delta with a limit): the durations of
                                  its tasks not processed yet, so that
                                  res_free + res_left bounds its last end */
    double *bound_add;         /* scratch of soap_sim_bound_change: per
                                  resource, seconds its tasks would gain;
                                  all zero between calls */
    int busy_swapped;          /* the last delta swapped the two */
    int *res_last;             /* per resource: its last task, -1 */
    double iteration_s;

    /* scratch, grown on demand */
    soap_xfer_vec xfers;       /* one edge's transfers */
    soap_shard_vec shards;     /* one weight's shards */
    soap_grad_vec grads;       /* their producing bwd tasks */
    int dep_start[SOAP_MAX_REPLICAS + 1]; /* one shard's replicas: their
                                  runs in grads */
    sim_ivec created, dead, changed;
    sim_pair *pairs;           /* one edge's device pairs, SOAP_MAX_TASKS^2 */
    int16_t pair_slot[SOAP_MAX_TASKS][SOAP_MAX_TASKS]; /* (producer device
                                  rank, consumer device rank) -> index in
                                  pairs; -1 between builds */
    int *dev_rank;             /* per device: scratch rank, -1 between uses */

    /* The last delta, until the next one (or a full simulation) commits it:
     * what undo needs to put the previous graph and timeline back. The
     * tasks it replaced stay allocated, unlinked from the live graph
     * (`dead`), its new tasks are in `created`. */
    int can_undo;              /* soap_sim_undo has something to revert */
    int pending;               /* dead/created still held for undo */
    int undo_nops;             /* ops the last delta changed */
    int *undo_ops;             /* per changed op (nops slots): its id */
    soap_config *undo_cfg;     /* its previous config */
    int (*undo_fwd)[SOAP_MAX_TASKS], (*undo_bwd)[SOAP_MAX_TASKS]; /* its
                                  previous compute task ids */
    int undo_p, undo_nold;     /* the cut and the old task count */
    double undo_iteration;
    unsigned char *group_mark; /* per group: scratch of a multi-op delta or
                                  bound (visited once); all 0 between calls */
    sim_ivec bound_groups;     /* scratch of soap_sim_bound_change_many: the
                                  groups it marked */
    sim_ivec undo_groups;      /* (group, old head) pairs */
    int *snap_id;              /* old order[p..nold) */
    double *snap_ready;        /* their ready times; start and end follow
                                  (undo replays the old resource queues) */
    int *snap_res_last;        /* per resource, at the cut */
    double *snap_res_free;
};

/* ---- taskgraph.c ---- */
void sim_ivec_push(sim_ivec *v, int x);
void sim_ivec_free(sim_ivec *v);
/* Grows the per-task arrays when the task pool grows. */
void sim_pools_init(soap_sim *sim);
void sim_pools_free(soap_sim *sim);
/* Empties the task graph (all slots back to the pools, groups empty). */
void sim_graph_clear(soap_sim *sim);
/* Builds every group of the current strategy. */
void sim_build_all(soap_sim *sim);
/* The forward and backward cost of every task of config c of op
 * (out[0..c->ntasks)), the one costing rule of compute tasks (the task
 * graph and the pre-check's bound both use it). */
void sim_config_costs(soap_sim *sim, int op, const soap_config *c, soap_task_cost *out);
void sim_build_compute(soap_sim *sim, int op);
void sim_build_edge(soap_sim *sim, int edge);
void sim_build_sync(soap_sim *sim, int weight);
/* Group ids. */
static inline int sim_group_compute(const soap_sim *sim, int op) { return op; }
static inline int sim_group_edge(const soap_sim *sim, int edge)
{
    return sim->g->nops + edge;
}
static inline int sim_group_sync(const soap_sim *sim, int w)
{
    return sim->g->nops + sim->nedges + w;
}
static inline int sim_group_global(const soap_sim *sim)
{
    return sim->g->nops + sim->nedges + sim->g->nweights;
}
/* Removes every edge of task x (the task itself stays allocated). */
void sim_task_detach(soap_sim *sim, int x);
/* Unlinks the edges between x and tasks not SIM_DEAD from those tasks'
 * lists (x keeps its own lists), and links them back. */
void sim_task_unlink(soap_sim *sim, int x);
void sim_task_relink(soap_sim *sim, int x);
/* Frees n unlinked SIM_DEAD tasks and their edges. */
void sim_release_unlinked(soap_sim *sim, const int *dead, int n);
/* Returns slot x to the free list. */
void sim_task_release(soap_sim *sim, int x);
/* The consumer op and input of graph edge e. */
void sim_edge_ends(const soap_sim *sim, int e, int *op, int *input);
/* Name of resource r ("n0.gpu0", "n0.nv01 n0.gpu0->n0.gpu1", "membus"). */
void sim_res_name(const soap_sim *sim, int r, char *buf, size_t len);
/* A short label of task x ("conv1 fwd t3"). */
void sim_task_label(const soap_sim *sim, int x, char *buf, size_t len);
extern const char *const sim_kind_names[SIM_KIND_COUNT];

/* ---- sim_full.c ---- */
/* Heap of ready tasks by (ready, key). */
void sim_heap_push(soap_sim *sim, int id);
/* Runs the event loop from the current heap, appending to the order. With
 * a finite `limit` it stops early, returning a lower bound of the
 * iteration time above the limit, as soon as a task ends after it or a
 * resource's free time plus the work it has left (res_left, which the
 * caller fills for the tasks still to run) passes it; else it returns -1. */
double sim_event_loop(soap_sim *sim, double limit);

/* ---- sim_result.c ---- */
/* Bytes of weights and weight gradients each device holds for the whole
 * iteration (2 x the bytes of every shard it holds), into bytes[ndevices];
 * the base of the peak memory figure. Uses sim->shards as scratch. */
void sim_weight_bytes(soap_sim *sim, double *bytes);
/* on_path[x] = 1 for the tasks of one critical path (sized task_used). */
void sim_mark_critical(const soap_sim *sim, unsigned char *on_path);

#endif
