/* exec_internal.h: the runner's plan of one strategy (internal to soap_exec;
 * plan.c builds it, runner.c executes it).
 *
 * Op tasks: one per task of every op's config (soap_config_task_region),
 * each with its output block y and output gradient dy on its device, and per
 * input the block the task reads (the region soap_op_input_region names)
 * and its gradient. The pieces of each input come from soap_decomp_edge,
 * the decomposition the simulator uses too (soap_strategies.h): a piece
 * from a producer task on the
 * same device that covers the whole need is read in place (alias: no copy,
 * as the simulator has no transfer there); otherwise the consumer's thread
 * gathers the pieces into its own block, and in the backward pass the
 * producer's thread pulls the gradient pieces back from the consumers' input
 * gradients and adds them to its dy, in a fixed order (every block has one
 * writer, so there are no races and results do not depend on timing).
 *
 * All-gather edges (soap_decomp_allgather: every consumer task needs every
 * producer task's whole block, one device set of k >= 3 on both sides) are
 * moved instead by one collective over the ring of soap_gather (the
 * simulator models the same ring): an xring. Each ring device has a buffer
 * of the whole input; forward, its own producer blocks are copied in
 * locally, then k-1 ring steps: at step s device devices[r] receives from
 * devices[r-1] (indices mod k) the blocks that originated at ring position
 * r-1-s. Every consumer task on the device reads that buffer in place and
 * accumulates its input gradient into the device's gradient buffer of the
 * whole input; backward, k-1 ring steps of a reduce-scatter: at step s
 * devices[r] adds the partial sum received from devices[r-1] of the blocks
 * of position r-2-s, so after the last step each position holds the full
 * sum of its own blocks (summed in ring order starting after it, the same
 * order every run), which its producer tasks add into their dy. Each
 * (step, receiving device) is one job on the receiver's thread: jobs of a
 * collective are one planned object with their ring, so a backend with
 * collectives (NCCL's all-gather and reduce-scatter) can run the xring as
 * one call each way; the CPU backend runs the steps as copy and add.
 *
 * Weights: every device keeps one replica block per weight it uses, over
 * the bounding box of the regions its tasks need, and a gradient block of
 * the same box. The shards of soap_decomp_shards say which devices hold
 * which part: after every backward task producing part of a shard's
 * gradient (soap_decomp_grads, on any replica) is done, each replica sums
 * the gradients of all replicas in ascending device order (the same sum
 * everywhere, so replicas stay equal) into a buffer of the shard's size and
 * applies SGD to its own copy. So a device's weight memory is 2 x the boxes
 * plus a buffer per replicated shard it holds; the simulator counts 2 x the
 * shards it holds (tests/executor/test_weight_memory.c pins both).
 *
 * Jobs: a forward job per op task, a backward job per op task of a non-INPUT
 * op, k x k forward ring jobs (k local copies, k-1 steps of k receivers) and
 * k x (k-1) backward ones per xring (none when no gradient flows back), an
 * update job per (shard, replica). Each device runs its jobs in one fixed
 * order (forward by op, each op's rings' forward jobs before its tasks;
 * backward by reverse op, each op's rings' backward jobs after its tasks;
 * then updates; ring jobs by step, then position), which is a topological
 * order shared by all devices, so waiting for each job's predecessors
 * cannot deadlock. A ring step waits for the receiver's previous step (or
 * local copy) and the sender's; consumers wait for the last step on their
 * device, producers' backward for the last reduce-scatter step on theirs.
 */
#ifndef SOAP_EXEC_INTERNAL_H
#define SOAP_EXEC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "soap_exec.h"
#include "soap_strategies.h"

/* One input of an op task: where it reads and what it gathers. */
typedef struct xpiece {
    int task;          /* the other op task (producer, or consumer for pulls);
                          pulls from a ring: the ring position (on this
                          task's device) whose gradient buffer holds it */
    int input;         /* pulls: the consumer's input index */
    int ring;          /* pulls: the xring, -1 for a consumer's din */
    soap_region r;
} xpiece;

typedef struct xinput {
    int alias;         /* 1: the task's in / din blocks are the producer's
                          y / dy, or an xring's buffers on its device */
    int npieces;
    xpiece *pieces;    /* gathers (producer tasks), owned; none when alias */
} xinput;

typedef struct xtask {
    int op, t, dev;
    soap_region out;
    soap_block y, dy;
    soap_block labels;       /* SOFTMAX_CE only */
    xinput *inputs;          /* ninputs, owned */
    soap_block *in, *din;    /* per input, as the kernels take them, owned:
                                data NULL when the task needs nothing of it
                                / when no gradient flows back */
    soap_block w[SOAP_MAX_WEIGHTS], dw[SOAP_MAX_WEIGHTS];
    int npulls;
    xpiece *pulls;           /* gradient pieces to add into dy, owned */
    double loss_sum;         /* SOFTMAX_CE, this iteration */
} xtask;

/* A shard's update on one replica. */
typedef struct xupdate {
    int weight, dev;
    soap_region r;
    int nsrc;
    int16_t src[SOAP_MAX_REPLICAS]; /* replica devices, ascending */
    soap_block scratch;             /* the summed gradient (k > 1) */
} xupdate;

/* The collective of one all-gather edge (input `input` of op `op`). */
typedef struct xring {
    int op, input, producer;
    int grad;                /* a gradient flows back (producer not INPUT) */
    soap_gather ga;          /* k = ga.ndevices, ring order ga.devices */
    soap_region all;         /* the whole input: every consumer task's need */
    soap_block *buf;         /* per position: the gathered input, owned */
    soap_block *gbuf;        /* per position: its gradient sums (grad), owned */
    int *block_base;         /* per position r: its producer tasks are */
    int *blocks;             /*   blocks[block_base[r] .. block_base[r+1]),
                                 op task ids ascending; both owned */
    int fwd_job;             /* job (s, r) = fwd_job + (s + 1) k + r,
                                s = -1 (the local copy) .. k-2 */
    int bwd_job;             /* job (s, r) = bwd_job + s k + r, s = 0 .. k-2;
                                -1 without grad */
} xring;

/* Ring job `job` of c: its step s (-1: forward's local copy), receiving
 * position *recv, sending position *send (the receiver's for the local
 * copy) and the position *origin whose blocks it moves. */
static inline void xring_step(const xring *c, int job, int backward, int *s, int *recv,
                              int *send, int *origin)
{
    int k = c->ga.ndevices;
    int off = job - (backward ? c->bwd_job : c->fwd_job);
    *s = off / k - (backward ? 0 : 1);
    *recv = off % k;
    *send = *s < 0 ? *recv : (*recv + k - 1) % k;
    /* Forward: the blocks the sender received at its step s-1 (its own at
     * s = 0). Backward: the partial sums of position send-1-s, which the
     * sender received at its step s-1 (at s = 0 its own contribution to its
     * predecessor's blocks, the first hop of their trip). */
    *origin = *s < 0 ? *recv : ((*send - *s - (backward ? 1 : 0)) % k + k) % k;
}

enum { XJOB_FWD, XJOB_BWD, XJOB_UPD, XJOB_RING_FWD, XJOB_RING_BWD };

typedef struct xjob {
    int kind, index, dev;    /* index: op task, update or xring */
    int npred;
    atomic_int pending;
    int nsucc;
    int *succ;               /* owned */
} xjob;

typedef struct xdevice {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int njobs;
    int *jobs;               /* in execution order, owned */
    double bytes;            /* allocated */
    double weight_bytes;     /* of which weight replicas, their gradients and
                                the shards' sum buffers */
    int nzero;
    soap_block *zero;        /* blocks cleared at each iteration's start */
} xdevice;

struct soap_exec {
    const soap_backend_ops *b;
    void *ctx;
    const soap_graph *g;
    const soap_machine *m;
    soap_strategy *s;
    double lr;
    int ntasks;
    xtask *tasks;
    int *task_base;          /* per op: its first op task */
    int nupdates;
    xupdate *updates;
    int nrings;
    xring *rings;            /* in order of (op, input), owned */
    int njobs;
    xjob *jobs;
    int *fwd_job, *bwd_job;  /* per op task; bwd -1 for INPUT ops */
    xdevice *dev;
    soap_block *wrep, *grep; /* [dev * nweights + w]; data NULL if unused */
    float **host_w;          /* per weight: initial values, whole (readback) */
    /* the device threads, started once: each iteration is a new generation */
    pthread_t *threads;
    pthread_mutex_t it_mu;
    pthread_cond_t it_start, it_done;
    long generation;         /* iterations started */
    int running;             /* threads still in the current iteration */
    int quit;
    /* one iteration's shared state */
    atomic_int abort;
    pthread_mutex_t err_mu;
    soap_error err;
};

/* plan.c */
void soap_exec_plan(soap_exec *x, unsigned long seed);
void soap_exec_plan_free(soap_exec *x);
/* A zeroed block over r on device dev of backend b (context ctx); its
 * bytes are added to *counted (may be NULL). Every block of the plan and of
 * the profiler is made here; free with b->free(ctx, dev, block.data). */
soap_block soap_exec_block_alloc(const soap_backend_ops *b, void *ctx, int dev,
                                 const soap_region *r, double *counted);
/* The same for the plan of x, counted in x->dev[dev].bytes. */
soap_block soap_exec_alloc_block(soap_exec *x, int dev, const soap_region *r);

#endif
