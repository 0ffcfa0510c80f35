/* soap_exec.h: the public interface of soap_exec, the executor: it runs
 * training iterations of any strategy for real and measures them.
 *
 * Holds: the dense block (the unit of data kernels read and write), the
 * backend interface (alloc, free, copies between devices, forward and
 * backward of an operator on a region, SGD update, synchronize, a timer)
 * with its registry, the runner that executes a strategy (soap_exec), the
 * profiler that writes cost tables, and Kendall's rank correlation used to
 * compare simulated and measured orderings.
 *
 * The runner derives which task computes which region, which transfers and
 * weight shards a strategy needs and which backward tasks each shard's
 * update waits for from the task decomposition (soap_decomp_edge,
 * soap_decomp_shards, soap_decomp_grads in soap_strategies.h), the layer the
 * simulator builds on too: the same functions for both, so simulated and
 * measured runs do the same work. An edge soap_decomp_allgather names runs
 * as the same ring collective the simulator models (a ring all-gather
 * forward, a ring reduce-scatter of its gradient backward), through the
 * backends' copy and add. The executor does not use the simulator.
 *
 * Units: seconds, bytes.
 */
#ifndef SOAP_EXEC_H
#define SOAP_EXEC_H

#include <stddef.h>

#include "soap_core.h"
#include "soap_strategies.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A dense fp32 block: the elements of `region` of some tensor, row-major
 * over the region's extents (dim 0 slowest), at `data`. The region is in the
 * tensor's global coordinates, so element x (a global coordinate) lives at
 * data[sum_d (x[d] - region.lo[d]) * stride[d]], stride[ndims-1] = 1. Token
 * ids and class labels are stored as float values too (exact below 2^24). */
typedef struct soap_block {
    float *data;
    soap_region region;
} soap_block;

/* ------------------------------------------------------------------ */
/* Backends                                                            */
/* ------------------------------------------------------------------ */
/* A backend: a const ops table with a context made by create(). Devices are
 * the machine's device indices. Blocks passed to a device's operations live
 * in that device's memory (alloc), except the host blocks of upload and
 * download. Every operation on a device is issued by one host thread at a
 * time (the runner's thread of that device). */
typedef struct soap_backend_ops {
    const char *name;        /* "cpu", "cuda" */
    const char *description;
    /* The context for machine m (borrowed; it must outlive the context).
     * NULL with *err: SOAP_ERR_NOT_BUILT for a backend compiled out of this
     * build, SOAP_ERR_INVALID for a machine it cannot serve. */
    void *(*create)(const soap_machine *m, soap_error *err);
    void (*destroy)(void *ctx);
    /* Zeroed device memory of `bytes` bytes (aborts when out of memory). */
    void *(*alloc)(void *ctx, int dev, size_t bytes);
    void (*free)(void *ctx, int dev, void *p);
    /* dst[r] = src[r] and dst[r] += src[r]: dst on dst_dev, src on src_dev,
     * r inside both blocks. Issued by dst_dev's thread once src is final. */
    void (*copy)(void *ctx, int dst_dev, const soap_block *dst, int src_dev,
                 const soap_block *src, const soap_region *r);
    void (*add)(void *ctx, int dst_dev, const soap_block *dst, int src_dev,
                const soap_block *src, const soap_region *r);
    /* dst[r] = 0 on dev. */
    void (*zero)(void *ctx, int dev, const soap_block *dst, const soap_region *r);
    /* Host <-> device: host blocks are plain memory. */
    void (*upload)(void *ctx, int dev, const soap_block *dst, const soap_block *host,
                   const soap_region *r);
    void (*download)(void *ctx, int dev, const soap_block *host, const soap_block *src,
                     const soap_region *r);
    /* One task of op on dev: the contract of the CPU reference kernels
     * (executor/cpu/cpu_kernels.h): forward writes y on `out`; backward
     * accumulates into din and dw; loss sums -log p[label] over the rows of
     * a SOFTMAX_CE task. */
    soap_status (*forward)(void *ctx, int dev, const soap_graph *g, int op,
                           const soap_region *out, const soap_block *in, const soap_block *w,
                           const soap_block *y, soap_error *err);
    soap_status (*backward)(void *ctx, int dev, const soap_graph *g, int op,
                            const soap_region *out, const soap_block *in,
                            const soap_block *w, const soap_block *labels,
                            const soap_block *y, const soap_block *dy, const soap_block *din,
                            const soap_block *dw, soap_error *err);
    soap_status (*loss)(void *ctx, int dev, const soap_graph *g, int op,
                        const soap_region *out, const soap_block *in0,
                        const soap_block *labels, double *loss_sum, soap_error *err);
    /* w[r] -= lr * grad[r] on dev. */
    void (*sgd)(void *ctx, int dev, const soap_block *w, const soap_block *grad,
                const soap_region *r, double lr);
    /* Waits until dev's work issued so far is done. */
    void (*synchronize)(void *ctx, int dev);
    /* Seconds on a monotonic clock. */
    double (*now)(void *ctx);
} soap_backend_ops;

const soap_backend_ops *const *soap_backend_registry(void); /* NULL-terminated */
/* NULL with *err listing the known backends if `name` is unknown. */
const soap_backend_ops *soap_backend_find(const char *name, soap_error *err);

/* ------------------------------------------------------------------ */
/* Runner                                                              */
/* ------------------------------------------------------------------ */
typedef struct soap_exec_options {
    unsigned long seed;  /* initial weights, input data and labels */
    double lr;           /* SGD learning rate; <= 0: 0.01 */
} soap_exec_options;

typedef struct soap_exec soap_exec;

/* Prepares strategy s for running on backend b (s must be valid for g and
 * m: checked where it was loaded; one made for another graph or machine is
 * a broken invariant, SOAP_ASSERT):
 * the task decomposition, the device memory of every task's blocks and of
 * every device's weight replicas, deterministic initial weights and
 * synthetic input data and labels from opt->seed. NULL with *err. */
soap_exec *soap_exec_new(const soap_backend_ops *b, const soap_graph *g,
                         const soap_machine *m, const soap_strategy *s,
                         const soap_exec_options *opt, soap_error *err);
void soap_exec_free(soap_exec *x);

/* One training iteration: forward, backward, weight-gradient sums over the
 * replicas of every shard, SGD update; one host thread per device. *loss is
 * the loss of this iteration's forward pass (the sum over SOFTMAX_CE ops of
 * their mean over rows), *seconds its wall-clock time. */
soap_status soap_exec_step(soap_exec *x, double *loss, double *seconds, soap_error *err);

/* The current value of weight w, whole (volume floats into out), read from
 * the devices that hold its parts. */
void soap_exec_weight(soap_exec *x, int w, float *out);

/* Device memory the run allocated on dev (bytes). */
double soap_exec_device_bytes(const soap_exec *x, int dev);

/* `warmup` untimed iterations, then `iters` timed ones. */
typedef struct soap_run_result {
    int iters;
    double median_s, min_s, max_s; /* over the timed iterations */
    double first_loss;             /* the first iteration's loss */
    double last_loss;
} soap_run_result;
soap_status soap_exec_run(soap_exec *x, int warmup, int iters, soap_run_result *r,
                          soap_error *err);

/* ------------------------------------------------------------------ */
/* Profiler                                                            */
/* ------------------------------------------------------------------ */
typedef struct soap_profile_options {
    int warmup;          /* untimed runs per measurement; < 0: 1 */
    int reps;            /* timed runs, the median kept; <= 0: 5 */
    unsigned long seed;  /* data of the measured blocks */
    /* Optional: called after each measured entry (may be NULL). */
    void (*progress)(void *arg, long done, long total);
    void *progress_arg;
} soap_profile_options;

/* Measures forward and backward time on device 0 of every distinct (op
 * signature, partition sizes) that a config of up to m->ndevices tasks over
 * any dims can give an op of g, and writes them as a cost table (the format
 * of soap_cost_table_append, opened by soap_provenance_write's lines) to
 * `path` through soap_outfile (nothing is left of a failed run).
 * *entries gets the number of rows. */
soap_status soap_profile(const soap_backend_ops *b, const soap_graph *g, const soap_machine *m,
                         const soap_profile_options *opt, const char *path, long *entries,
                         soap_error *err);

/* ------------------------------------------------------------------ */
/* Statistics                                                          */
/* ------------------------------------------------------------------ */
/* Kendall's tau-b between a[0..n) and b[0..n) (ties counted as neither
 * concordant nor discordant); 1 = the same order, -1 = reversed; 0 when
 * n < 2 or either is constant. */
double soap_kendall_tau(const double *a, const double *b, int n);

/* Simulated against measured: one row per strategy of `soap validate`. */
typedef struct soap_validate_row {
    const char *strategy;  /* its name (borrowed) */
    double simulated_s;    /* predicted iteration time */
    double measured_s;     /* median measured iteration time */
    double rel_error;      /* (simulated - measured) / measured, filled by
                              soap_validate_summarize */
} soap_validate_row;
typedef struct soap_validate_summary {
    int n;
    double median_abs_error;   /* median of |rel_error| */
    double max_abs_error;      /* largest |rel_error| */
    int worst;                 /* row of the largest, -1 if n == 0 */
    double kendall_tau;        /* of simulated vs measured times */
} soap_validate_summary;
/* Fills each row's rel_error and returns the summary. */
soap_validate_summary soap_validate_summarize(soap_validate_row *rows, int n);
/* CSV: soap_provenance_write lines ("validate", with `settings`), then
 * strategy,simulated_s,measured_s,rel_error, one line per row. */
soap_status soap_validate_write_csv(const char *path, const soap_validate_row *rows, int n,
                                    const char *const *settings, soap_error *err);

#ifdef __cplusplus
}
#endif
#endif /* SOAP_EXEC_H */
