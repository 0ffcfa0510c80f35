/* exec_testing.h: what the executor's tests see of its internals, and only
 * that: the CPU reference kernels of one task (forward, backward, the
 * softmax cross-entropy loss) and the block helpers, which the kernel
 * suites run against their own references, the plan's weight
 * allocation per device and its all-gather collectives. They are declared and
 * documented in executor/cpu/cpu_kernels.h; exec_testing.c compiles both
 * headers together, so a declaration here that drifts from the kernels'
 * does not build. Not installed.
 */
#ifndef SOAP_EXEC_TESTING_H
#define SOAP_EXEC_TESTING_H

#include <stdint.h>

#include "soap_exec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest id (exclusive) that a float stores exactly as an integer: 2^24
 * (the same token sequence as cpu_kernels.h, which a redefinition must
 * keep). */
#define SOAP_CPU_MAX_INDEX 16777216LL

soap_status soap_cpu_forward(const soap_graph *g, int op, const soap_region *out,
                             const soap_block *in, const soap_block *w, const soap_block *y,
                             soap_error *err);
soap_status soap_cpu_backward(const soap_graph *g, int op, const soap_region *out,
                              const soap_block *in, const soap_block *w,
                              const soap_block *labels, const soap_block *y,
                              const soap_block *dy, const soap_block *din,
                              const soap_block *dw, soap_error *err);
soap_status soap_cpu_softmax_ce_loss(const soap_graph *g, int op, const soap_region *out,
                                     const soap_block *in0, const soap_block *labels,
                                     double *loss_sum, soap_error *err);
int64_t soap_cpu_softmax_ce_rows(const soap_graph *g, int op);

int64_t soap_cpu_block_offset(const soap_block *b, const int64_t *x);
void soap_cpu_block_copy(const soap_block *dst, const soap_block *src, const soap_region *r);
void soap_cpu_block_add(const soap_block *dst, const soap_block *src, const soap_region *r);
void soap_cpu_block_zero(const soap_block *dst, const soap_region *r);

/* Bytes the plan allocated on device `dev` for weights: replicas, their
 * gradients and the sum buffers of replicated shards (exec_internal.h). */
double exec_testing_weight_bytes(const soap_exec *x, int dev);

/* The plan's collective of one all-gather edge (an xring of
 * exec_internal.h), as the tests check it against soap_decomp_allgather. */
typedef struct exec_testing_ring {
    int op, input;                   /* the edge: input `input` of op */
    int ndevices;                    /* k, the ring's length */
    int16_t devices[SOAP_MAX_TASKS]; /* ring order */
    int fwd_local;                   /* local copies into the buffers (jobs) */
    int fwd_steps, bwd_steps;        /* ring steps each way (0 backward when
                                        no gradient flows back) */
    int64_t fwd_elems[SOAP_MAX_TASKS], bwd_elems[SOAP_MAX_TASKS];
                                     /* per ring edge r (devices[r] ->
                                        devices[r+1]): the elements its
                                        steps copy / add, from the plan's
                                        jobs as the runner reads them */
} exec_testing_ring;

/* The number of collectives of the plan; the c-th (in order of op, input). */
int exec_testing_nrings(const soap_exec *x);
void exec_testing_ring_get(const soap_exec *x, int c, exec_testing_ring *out);

#ifdef __cplusplus
}
#endif
#endif /* SOAP_EXEC_TESTING_H */
