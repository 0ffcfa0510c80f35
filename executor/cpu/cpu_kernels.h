/* cpu_kernels.h: the plain-C reference kernels of the CPU executor backend
 * (internal to soap_exec): forward and backward of every operator kind for
 * ONE TASK, i.e. one output region of an op, plus block copy helpers. The
 * CPU backend, the runner and the tests of other backends build on them.
 *
 * A task and its blocks (soap_block, soap_exec.h: global coordinates):
 *  - out: the task's output region (soap_config_task_region), non-empty,
 *    inside the op's output.
 *  - in[i] (o->ninputs blocks): each must contain
 *    soap_op_input_region(g, op, i, out); where that region is empty the
 *    block is not read (data may be NULL). Blocks may be larger than needed
 *    (a whole tensor is fine). INPUT has no inputs: see kern_shape.c.
 *  - w[k] (o->nweights blocks): each must contain soap_op_weight_region.
 *  - y: the output block; it must contain `out`. Forward writes exactly the
 *    `out` elements of it (overwrite, not accumulate). Backward reads it
 *    (the saved forward output) for UNARY, SOFTMAX, SOFTMAX_CE and
 *    ATTENTION; the other kinds recompute what they need and accept NULL.
 *  - dy: the gradient of the output, containing `out`. SOFTMAX_CE ignores it
 *    (it is the loss; see below) and accepts NULL.
 *  - din[i], dw[k]: gradients of the inputs and weights, each containing the
 *    matching input / weight region. Backward ACCUMULATES (+=) into them, so
 *    the tasks of a partition sum to the unpartitioned gradient. din or dw
 *    may be NULL (no gradient wanted), and so may din[i].data or dw[k].data
 *    for one tensor (e.g. an image input). Token ids get no gradient.
 *  - labels (SOFTMAX_CE only): class ids as float values, one per output
 *    row: a block over the output's leading dims (all but the last),
 *    containing `out` without its last dim.
 *
 * Loss and gradient scale of SOFTMAX_CE: the loss of the whole graph is the
 * mean over all output rows R = soap_cpu_softmax_ce_rows() (for [N,V] that
 * is the batch N; for [N,T,V] it is N*T) of -log softmax(x)[label].
 * soap_cpu_softmax_ce_loss returns the SUM over the task's rows; the runner
 * adds the sums of all tasks and divides by R. Backward adds
 * (softmax(x) - onehot(label)) / R to din[0], so the sum over tasks equals
 * the gradient of the mean loss of the unpartitioned graph.
 *
 * Failures: ids and labels are data, so an id or label that is not an
 * integer in [0, V) returns SOAP_ERR_INVALID with a message naming the op
 * and the element. Blocks that do not cover what the task needs are broken
 * invariants of the caller and abort through SOAP_ASSERT.
 *
 * Numerics: fp32 data; dot products and reductions accumulate in double;
 * innermost loops run along contiguous memory where the layout allows.
 */
#ifndef SOAP_CPU_KERNELS_H
#define SOAP_CPU_KERNELS_H

#include <stdint.h>

#include "soap_exec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest id (exclusive) that a float stores exactly as an integer: 2^24. */
#define SOAP_CPU_MAX_INDEX 16777216LL
/* Epsilon added to the variance by BATCHNORM and LAYERNORM. */
#define SOAP_CPU_NORM_EPS 1e-5

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */
/* Forward of the task computing region `out` of op `op`: writes y. */
soap_status soap_cpu_forward(const soap_graph *g, int op, const soap_region *out,
                             const soap_block *in, const soap_block *w, const soap_block *y,
                             soap_error *err);

/* Backward of the same task: accumulates into din and dw (see above). */
soap_status soap_cpu_backward(const soap_graph *g, int op, const soap_region *out,
                              const soap_block *in, const soap_block *w,
                              const soap_block *labels, const soap_block *y,
                              const soap_block *dy, const soap_block *din,
                              const soap_block *dw, soap_error *err);

/* SOFTMAX_CE: sum over the rows of `out` of -log softmax(x)[label], from the
 * logits block in0 (computed as logsumexp(x) - x[label], in double, so that
 * tiny probabilities do not underflow). */
soap_status soap_cpu_softmax_ce_loss(const soap_graph *g, int op, const soap_region *out,
                                     const soap_block *in0, const soap_block *labels,
                                     double *loss_sum, soap_error *err);
/* R: rows of the whole output of a SOFTMAX_CE op (volume / classes). */
int64_t soap_cpu_softmax_ce_rows(const soap_graph *g, int op);

/* ------------------------------------------------------------------ */
/* Blocks                                                              */
/* ------------------------------------------------------------------ */
/* Offset of global coordinate x in block b (x inside b's region). */
int64_t soap_cpu_block_offset(const soap_block *b, const int64_t *x);
/* dst[r] = src[r] and dst[r] += src[r]; r inside both regions (an empty r
 * does nothing). These are the copies of transfers and gradient sums. */
void soap_cpu_block_copy(const soap_block *dst, const soap_block *src, const soap_region *r);
void soap_cpu_block_add(const soap_block *dst, const soap_block *src, const soap_region *r);
/* dst[r] = 0. */
void soap_cpu_block_zero(const soap_block *dst, const soap_region *r);

/* ------------------------------------------------------------------ */
/* For the kernel files                                                */
/* ------------------------------------------------------------------ */
/* One task as the kernels see it (filled and checked by kern_dispatch.c). */
typedef struct soap_ktask {
    const soap_graph *g;
    const soap_op *o;
    int op;
    soap_region out;
    const soap_block *in, *w, *labels, *y, *dy, *din, *dw;
    soap_error *err;
} soap_ktask;

typedef soap_status (*soap_kernel_fn)(const soap_ktask *t);

/* The kernels of one operator kind. */
typedef struct soap_cpu_kernel {
    soap_op_kind kind; /* the table slot it belongs to (checked) */
    soap_kernel_fn forward;
    soap_kernel_fn backward;
} soap_cpu_kernel;

/* One per kind, defined in the kind's kern_*.c file. */
extern const soap_cpu_kernel soap_cpu_kern_input, soap_cpu_kern_conv2d, soap_cpu_kern_pool2d,
    soap_cpu_kern_batchnorm, soap_cpu_kern_unary, soap_cpu_kern_binary, soap_cpu_kern_concat,
    soap_cpu_kern_flatten, soap_cpu_kern_linear, soap_cpu_kern_softmax,
    soap_cpu_kern_softmax_ce, soap_cpu_kern_embedding, soap_cpu_kern_lstm,
    soap_cpu_kern_attention, soap_cpu_kern_layernorm, soap_cpu_kern_matmul;

/* A block with its strides: element (a, b, c, d) of a 4-D block is at
 * p[(a-lo0)*st0 + (b-lo1)*st1 + ...]. Dims past ndims have lo 0, stride 0. */
typedef struct soap_kview {
    float *p;
    int ndims;
    int64_t lo[SOAP_MAX_DIMS];
    int64_t st[SOAP_MAX_DIMS];
} soap_kview;

static inline soap_kview soap_kview_of(const soap_block *b)
{
    soap_kview v;
    v.p = b ? b->data : NULL;
    v.ndims = b ? b->region.ndims : 0;
    int64_t s = 1;
    for (int d = SOAP_MAX_DIMS - 1; d >= 0; d--) {
        if (d < v.ndims) {
            v.lo[d] = b->region.lo[d];
            v.st[d] = s;
            s *= b->region.hi[d] - b->region.lo[d];
        } else {
            v.lo[d] = 0;
            v.st[d] = 0;
        }
    }
    return v;
}

/* Pointers to elements by global coordinates (unused trailing ones 0). */
static inline float *soap_kv1(const soap_kview *v, int64_t a)
{
    return v->p + (a - v->lo[0]) * v->st[0];
}
static inline float *soap_kv2(const soap_kview *v, int64_t a, int64_t b)
{
    return v->p + (a - v->lo[0]) * v->st[0] + (b - v->lo[1]) * v->st[1];
}
static inline float *soap_kv3(const soap_kview *v, int64_t a, int64_t b, int64_t c)
{
    return v->p + (a - v->lo[0]) * v->st[0] + (b - v->lo[1]) * v->st[1] +
           (c - v->lo[2]) * v->st[2];
}
static inline float *soap_kv4(const soap_kview *v, int64_t a, int64_t b, int64_t c, int64_t d)
{
    return v->p + (a - v->lo[0]) * v->st[0] + (b - v->lo[1]) * v->st[1] +
           (c - v->lo[2]) * v->st[2] + (d - v->lo[3]) * v->st[3];
}

/* Rows of a region: every coordinate of its leading dims, each naming a run
 * of `len` elements along the last dim (contiguous in any block that holds
 * it). Use: for (soap_krows it = soap_krows_begin(r); it.more; soap_krows_next(&it)). */
typedef struct soap_krows {
    soap_region r;
    int64_t x[SOAP_MAX_DIMS]; /* the row's first element */
    int64_t len;
    int more;
} soap_krows;

static inline soap_krows soap_krows_begin(const soap_region *r)
{
    soap_krows it;
    it.r = *r;
    for (int d = 0; d < SOAP_MAX_DIMS; d++)
        it.x[d] = d < r->ndims ? r->lo[d] : 0;
    it.len = r->ndims > 0 ? r->hi[r->ndims - 1] - r->lo[r->ndims - 1] : 0;
    it.more = r->ndims > 0 && !soap_region_empty(r);
    return it;
}

static inline void soap_krows_next(soap_krows *it)
{
    int d = it->r.ndims - 2;
    while (d >= 0 && ++it->x[d] == it->r.hi[d]) {
        it->x[d] = it->r.lo[d];
        d--;
    }
    if (d < 0)
        it->more = 0;
}

/* The first element of the current row in block b (same ndims as the rows'
 * region, or fewer: labels use the leading dims only). */
static inline float *soap_krow(const soap_block *b, const soap_krows *it)
{
    return b->data + soap_cpu_block_offset(b, it->x);
}

/* The gradient block of input i / weight k, or NULL when not wanted. */
static inline const soap_block *soap_ktask_din(const soap_ktask *t, int i)
{
    return t->din && t->din[i].data ? &t->din[i] : NULL;
}
static inline const soap_block *soap_ktask_dw(const soap_ktask *t, int k)
{
    return t->dw && t->dw[k].data ? &t->dw[k] : NULL;
}

/* Checks that ids[0..n) are integers in [0, limit); else fills *err naming
 * the op, what the values are ("token id", "label") and the first bad one.
 * A limit above 2^24 is refused too (floats cannot hold such ids exactly). */
soap_status soap_cpu_check_ids(const soap_ktask *t, const float *ids, int64_t n,
                               int64_t limit, const char *what);

#ifdef __cplusplus
}
#endif
#endif /* SOAP_CPU_KERNELS_H */
