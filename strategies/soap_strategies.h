/* soap_strategies.h: the public interface of soap_strategies.
 *
 * Holds: the parallel configuration of one operator (a degree per output
 * dim and a device per task), strategies (one configuration per operator
 * plus the fingerprints of the model and machine they were made for), the
 * validity check, the configuration space of an operator, strategy files,
 * the task decomposition that the simulator and the executor share, and the
 * built-in strategies behind one registry.
 */
#ifndef SOAP_STRATEGIES_H
#define SOAP_STRATEGIES_H

#include <gsl/gsl_rng.h>

#include "soap_core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOAP_MAX_TASKS 64 /* tasks of one operator */

/* Parallel configuration of one operator. Task t has the multi-index of t
 * in row-major order over `degree` (dim 0 slowest) and computes the
 * equal-sized block of the output that index selects. */
typedef struct soap_config {
    int ndims;                       /* = the op's output ndims */
    int degree[SOAP_MAX_DIMS];       /* >= 1; > 1 only on partitionable dims */
    int ntasks;                      /* product of degrees */
    int16_t device[SOAP_MAX_TASKS];  /* device of each task */
} soap_config;

/* One task per device-free config: degree 1 everywhere, on `device`. */
soap_config soap_config_single(const soap_graph *g, int op, int device);
/* Output region computed by task t. */
soap_region soap_config_task_region(const soap_graph *g, int op, const soap_config *c,
                                    int t);
int soap_config_equal(const soap_config *a, const soap_config *b);
/* "degrees [4,1,1,1] devices [0,1,2,3]" */
char *soap_config_str(const soap_config *c, char *buf, size_t len);
/* Checks one config against its op and a machine of `ndevices`; the error
 * names the op and what does not fit. */
soap_status soap_config_check(const soap_graph *g, int op, const soap_config *c,
                              int ndevices, soap_error *err);

typedef struct soap_strategy {
    int nops;
    soap_config *configs;       /* one per op, indexed by op id */
    char model[SOAP_NAME_MAX];  /* names, for messages */
    char machine[SOAP_NAME_MAX];
    uint64_t model_fp;          /* soap_graph_fingerprint */
    uint64_t machine_fp;        /* soap_machine_fingerprint */
    int ndevices;
} soap_strategy;

/* A strategy for g on m with every op on device 0, degree 1. */
soap_strategy *soap_strategy_new(const soap_graph *g, const soap_machine *m);
soap_strategy *soap_strategy_clone(const soap_strategy *s);
void soap_strategy_copy(soap_strategy *dst, const soap_strategy *src); /* same nops */
void soap_strategy_free(soap_strategy *s);
/* Checks that s was made for g and m (fingerprints) and that every config
 * is valid. */
soap_status soap_strategy_check(const soap_strategy *s, const soap_graph *g,
                                const soap_machine *m, soap_error *err);

/* Strategy files (JSON). Reading checks the file against g and m: ops by
 * name, each exactly once, fingerprints, validity. */
soap_strategy *soap_strategy_read_json(const char *path, const soap_graph *g,
                                       const soap_machine *m, soap_error *err);
soap_status soap_strategy_write_json(const soap_strategy *s, const soap_graph *g,
                                     const char *path, soap_error *err);

/* ------------------------------------------------------------------ */
/* Configuration space of one operator                                 */
/* ------------------------------------------------------------------ */
/* Which dim kinds may be split (for restricted searches: "S" = sample only,
 * "SAP" = all kinds). */
typedef struct soap_dims_mask {
    int allow[4]; /* indexed by soap_dim_kind; allow[SOAP_DIM_NONE] is 0 */
} soap_dims_mask;
soap_dims_mask soap_dims_mask_all(void);
/* Parses letters from "SAP"; error on anything else or an empty mask. */
soap_status soap_dims_mask_parse(const char *s, soap_dims_mask *out, soap_error *err);

/* Every valid degree vector of an op: each degree divides its dim, is > 1
 * only on allowed dims, and their product is <= max_tasks. Returns the
 * count; fills up to `cap` vectors of SOAP_MAX_DIMS ints into `out`
 * (out may be NULL to count). */
int soap_config_degrees(const soap_graph *g, int op, int max_tasks,
                        const soap_dims_mask *mask, int (*out)[SOAP_MAX_DIMS], int cap);

/* A uniformly random valid config: degree vector uniform over the space
 * above, each task on a uniformly random device. */
soap_config soap_config_random(const soap_graph *g, int op, int ndevices,
                               const soap_dims_mask *mask, gsl_rng *rng);

/* ------------------------------------------------------------------ */
/* Task decomposition (shared by the simulator and the executor)       */
/* ------------------------------------------------------------------ */
/* Which task computes which region is soap_config_task_region. From it
 * follow, as pure functions of (graph, configs): the transfers along each
 * edge, the replicated shards of each weight, and the backward tasks that
 * produce each shard's gradient on each of its replicas. The simulator
 * builds its task graph from them and the executor its plan, so simulated
 * and measured runs do the same work (see strategies/decomp.c).
 *
 * Outputs are growable arrays that the caller keeps and passes to every
 * call: a call replaces the contents (data[0..n)) and grows data (doubling)
 * only when it needs more room, so once grown to the working size nothing
 * is allocated for the output again. Start from a zeroed one ({0}); free it
 * with its _free function (which leaves it zeroed, ready for reuse). */

/* One piece of data that a consumer task needs from a producer task: the
 * intersection of the producer task's output region with the region of the
 * consumer's input that the consumer task needs, in the producer's output
 * coordinates. Forward data flows producer -> consumer; the gradient of the
 * same region flows back in the backward pass. */
typedef struct soap_xfer {
    int src_task;        /* task index in the producer's config */
    int dst_task;        /* task index in the consumer's config */
    soap_region region;  /* elements (producer output coordinates) */
} soap_xfer;
typedef struct soap_xfer_vec {
    soap_xfer *data;     /* owned */
    int n, cap;          /* entries, room */
} soap_xfer_vec;
void soap_xfer_vec_free(soap_xfer_vec *v);

/* Every transfer along the edge (input `i` of op `op`), given the producer's
 * and the consumer's configs, in order (dst_task, then src_task), into
 * *out. Returns out->n. */
int soap_decomp_edge(const soap_graph *g, int op, int i, const soap_config *producer,
                     const soap_config *consumer, soap_xfer_vec *out);

/* An all-gather edge: every consumer task needs the whole output block of
 * every producer task, and the producer's and the consumer's tasks sit on
 * one set of k >= SOAP_GATHER_MIN_DEVICES devices (e.g. a parameter-split
 * linear layer reading a sample-split input on the same devices). Moved as
 * point-to-point messages it costs k(k-1) messages, each over its route;
 * moved as a ring all-gather (as NCCL does) it costs k ring edges, each
 * carrying the blocks of every device but its receiver. The gradient goes
 * back as a ring reduce-scatter over the same ring: each device's block is
 * summed on its way around and ends at its producer device. Simulator and
 * executor move such an edge the same way (soap_decomp_allgather decides).
 *
 * Ring position r holds devices[r] (ascending ids, so neighbours share a
 * node where the machine numbers its devices node by node); ring edge r
 * goes from devices[r] to devices[(r + 1) % k]. */
#define SOAP_GATHER_MIN_DEVICES 3
typedef struct soap_gather {
    int ndevices;                     /* k, the ring's length */
    int16_t devices[SOAP_MAX_TASKS];  /* ring order: ascending ids */
    int64_t elems[SOAP_MAX_TASKS];    /* per ring position: elements of the
                                         producer blocks on that device */
    int64_t total;                    /* sum of elems */
} soap_gather;

/* 1 and *out when the edge (input i of op; xfers = its soap_decomp_edge)
 * is an all-gather edge, else 0. O(xfers + tasks). */
int soap_decomp_allgather(const soap_graph *g, int op, int i, const soap_config *producer,
                          const soap_config *consumer, const soap_xfer_vec *xfers,
                          soap_gather *out);
/* An all-to-all edge: every consumer task needs a piece of every producer
 * task (np x nc pieces, as when a sample-split op reads a parameter-split
 * one), with at least SOAP_GATHER_MIN_DEVICES devices on each side, and it
 * is not an all-gather edge. Its k(k - 1)-odd messages go point to point,
 * as NCCL's all-to-all sends them and as the executor copies them; every
 * consumer task needs something from every producer anyway, so it waits for
 * all of them. The simulator models the messages as one collective per
 * pass, each link direction busy for the bytes of the messages that cross
 * it (simulator/taskgraph.c), instead of one task per message and hop. */
int soap_decomp_alltoall(const soap_graph *g, int op, int i, const soap_config *producer,
                         const soap_config *consumer, const soap_xfer_vec *xfers);

/* Elements ring edge r carries: forward (all-gather), every block but the
 * receiver's, total - elems[r + 1]; backward (reduce-scatter, the partial
 * sums of every block but the sender's own, which ends its trip here),
 * total - elems[r]. Over the whole ring each is (k - 1) x total: the bytes
 * the point-to-point messages move. */
int64_t soap_gather_edge_elems(const soap_gather *ga, int r, int backward);

/* A replicated piece of a weight: a region of weight `weight` whose gradient
 * is computed on `ndevices` devices (summed there when more than one). */
#define SOAP_MAX_REPLICAS SOAP_MAX_TASKS
typedef struct soap_shard {
    int weight;                        /* id in graph->weights */
    soap_region region;                /* elements of the weight */
    int ndevices;                      /* devices holding a replica, >= 1 */
    int16_t devices[SOAP_MAX_REPLICAS];/* ascending */
} soap_shard;
typedef struct soap_shard_vec {
    soap_shard *data;    /* owned */
    int n, cap;
} soap_shard_vec;
void soap_shard_vec_free(soap_shard_vec *v);

/* The shards of one weight under strategy s, into *out: the weight is cut
 * along every boundary of the tasks' weight regions (of every op using it),
 * and cells with the same device set are merged where they form a box.
 * Returns out->n. Shards held by one device need no sync. */
int soap_decomp_shards(const soap_graph *g, const soap_strategy *s, int weight,
                       soap_shard_vec *out);

/* A backward task that produces part of a shard's gradient. */
typedef struct soap_grad_task {
    int shard;    /* index into the shards given to soap_decomp_grads */
    int replica;  /* index into that shard's devices[]: the task's device */
    int op;       /* an op using the weight */
    int task;     /* task index in op's config (its backward task) */
} soap_grad_task;
typedef struct soap_grad_vec {
    soap_grad_task *data; /* owned */
    int n, cap;
} soap_grad_vec;
void soap_grad_vec_free(soap_grad_vec *v);

/* Which backward tasks produce the gradient of each of `shards[0..nshards)`
 * (shards of one weight under s, from soap_decomp_shards): every task of
 * every op using the weight whose weight region (soap_op_weight_region)
 * meets the shard, once per (shard, op's weight slot holding it, task),
 * into *out ordered by shard, then replica, then op, slot and task. Every
 * replica of every shard has at least one. Returns out->n. */
int soap_decomp_grads(const soap_graph *g, const soap_strategy *s, const soap_shard *shards,
                      int nshards, soap_grad_vec *out);

/* ------------------------------------------------------------------ */
/* Built-in strategies                                                 */
/* ------------------------------------------------------------------ */
typedef struct soap_strategy_options {
    unsigned long seed;     /* random: the user's seed */
    unsigned long index;    /* random: which random strategy of that seed
                               (0 = the first; a strategy list numbers its
                               random entries 0, 1, ... in order) */
} soap_strategy_options;

typedef struct soap_strategy_ops {
    const char *name;
    const char *description;
    /* Fills s (from soap_strategy_new) for g on m. */
    soap_status (*build)(const soap_graph *g, const soap_machine *m,
                         const soap_strategy_options *opt, soap_strategy *s,
                         soap_error *err);
} soap_strategy_ops;

/* The registry, NULL-terminated. */
const soap_strategy_ops *const *soap_strategy_registry(void);
const soap_strategy_ops *soap_strategy_find(const char *name);
/* Built-in name or strategy file path (checked against g and m). Unknown
 * names list the valid ones. */
soap_strategy *soap_strategy_load(const char *name_or_path, const soap_graph *g,
                                  const soap_machine *m,
                                  const soap_strategy_options *opt, soap_error *err);

/* ------------------------------------------------------------------ */
/* Strategy lists                                                      */
/* ------------------------------------------------------------------ */
/* A comma-separated list of built-in names and strategy files, where
 * "random:K" stands for K random strategies and "random" for one:
 * "data,owt,random:3,file.json". The seed rule, the same wherever a list is
 * taken (simulate --strategy, search --init, validate --strategies): the
 * random entries of a list are numbered 0, 1, ... in list order, and the
 * j-th is the built-in random strategy with options {seed, index = j}. So
 * "random" and "random:1" with seed S are the same strategy everywhere, and
 * the same as `soap strategy --strategy random --seed S`. Names are the
 * entry as given, "random#1", "random#2", ... for random ones (numbered
 * from 1 in messages). Every strategy is checked against g and m. */
#define SOAP_STRATEGY_LIST_MAX 64
typedef struct soap_strategy_list {
    int n;
    soap_strategy **s;  /* owned */
    char **name;        /* owned */
} soap_strategy_list;
soap_status soap_strategy_list_expand(const char *list, const soap_graph *g,
                                      const soap_machine *m, unsigned long seed,
                                      soap_strategy_list *out, soap_error *err);
void soap_strategy_list_free(soap_strategy_list *l);

#ifdef __cplusplus
}
#endif
#endif /* SOAP_STRATEGIES_H */
