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
 * op, an update job per (shard, replica). Each device runs its jobs in one
 * fixed order (forward by op, backward by reverse op, then updates), which
 * is a topological order shared by all devices, so waiting for each job's
 * predecessors cannot deadlock.
 */
#ifndef SOAP_EXEC_INTERNAL_H
#define SOAP_EXEC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "soap_exec.h"
#include "soap_strategies.h"

/* One input of an op task: where it reads and what it gathers. */
typedef struct xpiece {
    int task;          /* the other op task (producer, or consumer for pulls) */
    int input;         /* pulls: the consumer's input index */
    soap_region r;
} xpiece;

typedef struct xinput {
    int alias;         /* 1: the task's in / din blocks are the producer's
                          y / dy */
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

enum { XJOB_FWD, XJOB_BWD, XJOB_UPD };

typedef struct xjob {
    int kind, index, dev;    /* index: op task or update */
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
