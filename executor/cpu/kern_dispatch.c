/* kern_dispatch.c: the table of CPU kernels indexed by operator kind, the
 * entry points of cpu_kernels.h (soap_cpu_forward, soap_cpu_backward) that
 * check a task's blocks against the regions core says it needs and dispatch
 * through the table, the block helpers (offset, copy, add, zero) and the id
 * check shared by embedding and softmax_ce.
 */
#include <math.h>
#include <string.h>

#include "cpu_kernels.h"

/* In the order of SOAP_OP_KINDS; each entry's `kind` is checked at lookup. */
static const soap_cpu_kernel *const kernel_table[] = {
    &soap_cpu_kern_input,     &soap_cpu_kern_conv2d,     &soap_cpu_kern_pool2d,
    &soap_cpu_kern_batchnorm, &soap_cpu_kern_unary,      &soap_cpu_kern_binary,
    &soap_cpu_kern_concat,    &soap_cpu_kern_flatten,    &soap_cpu_kern_linear,
    &soap_cpu_kern_softmax,   &soap_cpu_kern_softmax_ce, &soap_cpu_kern_embedding,
    &soap_cpu_kern_lstm,      &soap_cpu_kern_attention,  &soap_cpu_kern_layernorm,
    &soap_cpu_kern_matmul,
};
_Static_assert(sizeof kernel_table / sizeof kernel_table[0] == SOAP_OP_KIND_COUNT,
               "one CPU kernel per operator kind");

static const soap_cpu_kernel *kernel_of(soap_op_kind kind)
{
    SOAP_ASSERT((int)kind >= 0 && kind < SOAP_OP_KIND_COUNT);
    const soap_cpu_kernel *k = kernel_table[kind];
    SOAP_ASSERT(k->kind == kind);
    return k;
}

/* ------------------------------------------------------------------ */
/* Blocks                                                              */
/* ------------------------------------------------------------------ */
int64_t soap_cpu_block_offset(const soap_block *b, const int64_t *x)
{
    int64_t off = 0;
    for (int d = 0; d < b->region.ndims; d++) {
        SOAP_ASSERT(x[d] >= b->region.lo[d] && x[d] < b->region.hi[d]);
        off = off * (b->region.hi[d] - b->region.lo[d]) + (x[d] - b->region.lo[d]);
    }
    return off;
}

/* Calls row(dst_row, src_row, n) for every run of the last dim of r. */
static void for_rows(const soap_block *dst, const soap_block *src, const soap_region *r,
                     void (*row)(float *d, const float *s, int64_t n))
{
    if (soap_region_empty(r))
        return;
    SOAP_ASSERT(dst && dst->data && r->ndims == dst->region.ndims);
    SOAP_ASSERT(soap_region_contains(&dst->region, r));
    if (src) {
        SOAP_ASSERT(src->data && r->ndims == src->region.ndims);
        SOAP_ASSERT(soap_region_contains(&src->region, r));
    }
    int nd = r->ndims;
    int64_t n = r->hi[nd - 1] - r->lo[nd - 1];
    int64_t x[SOAP_MAX_DIMS];
    for (int d = 0; d < nd; d++)
        x[d] = r->lo[d];
    for (;;) {
        row(dst->data + soap_cpu_block_offset(dst, x),
            src ? src->data + soap_cpu_block_offset(src, x) : NULL, n);
        int d = nd - 2;
        while (d >= 0 && ++x[d] == r->hi[d]) {
            x[d] = r->lo[d];
            d--;
        }
        if (d < 0)
            break;
    }
}

static void row_copy(float *d, const float *s, int64_t n)
{
    memcpy(d, s, (size_t)n * sizeof *d);
}
static void row_add(float *d, const float *s, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        d[i] += s[i];
}
static void row_zero(float *d, const float *s, int64_t n)
{
    memset(d, 0, (size_t)n * sizeof *d);
}

void soap_cpu_block_copy(const soap_block *dst, const soap_block *src, const soap_region *r)
{
    SOAP_ASSERT(r && src);
    for_rows(dst, src, r, row_copy);
}

void soap_cpu_block_add(const soap_block *dst, const soap_block *src, const soap_region *r)
{
    SOAP_ASSERT(r && src);
    for_rows(dst, src, r, row_add);
}

void soap_cpu_block_zero(const soap_block *dst, const soap_region *r)
{
    SOAP_ASSERT(r);
    for_rows(dst, NULL, r, row_zero);
}

soap_status soap_cpu_check_ids(const soap_ktask *t, const float *ids, int64_t n,
                               int64_t limit, const char *what)
{
    if (limit > SOAP_CPU_MAX_INDEX)
        return soap_error_set(t->err, SOAP_ERR_INVALID,
                              "op '%s' (%s): %ss range over [0, %lld), more than float ids "
                              "hold exactly (2^24)",
                              t->o->name, soap_op_kind_name(t->o->kind), what,
                              (long long)limit);
    for (int64_t i = 0; i < n; i++) {
        float v = ids[i];
        /* NaN fails the range test too. */
        if (!(v >= 0.0f && v < (float)limit) || v != floorf(v))
            return soap_error_set(t->err, SOAP_ERR_INVALID,
                                  "op '%s' (%s): %s %g is not an integer in [0, %lld)",
                                  t->o->name, soap_op_kind_name(t->o->kind), what, (double)v,
                                  (long long)limit);
    }
    return SOAP_OK;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */
/* A block that must hold region r (if r is non-empty). */
static void want_block(const soap_block *b, const soap_region *r)
{
    if (soap_region_empty(r))
        return;
    SOAP_ASSERT(b != NULL && b->data != NULL);
    SOAP_ASSERT(b->region.ndims == r->ndims);
    SOAP_ASSERT(soap_region_contains(&b->region, r));
}

/* The leading dims of the output region (the rows of softmax_ce labels). */
static soap_region label_region(const soap_region *out)
{
    soap_region r = *out;
    r.ndims = out->ndims - 1;
    r.lo[r.ndims] = 0;
    r.hi[r.ndims] = 0;
    return r;
}

/* Checks the op, the region and the blocks common to both passes. */
static soap_ktask task_of(const soap_graph *g, int op, const soap_region *out,
                          const soap_block *in, const soap_block *w, soap_error *err)
{
    SOAP_ASSERT(g != NULL && op >= 0 && op < g->nops && out != NULL);
    const soap_op *o = &g->ops[op];
    SOAP_ASSERT(out->ndims == o->out.ndims && !soap_region_empty(out));
    soap_region full = soap_region_full(&o->out);
    SOAP_ASSERT(soap_region_contains(&full, out));
    soap_ktask t;
    memset(&t, 0, sizeof t);
    t.g = g;
    t.o = o;
    t.op = op;
    t.out = *out;
    t.in = in;
    t.w = w;
    t.err = err;
    SOAP_ASSERT(o->ninputs == 0 || in != NULL);
    for (int i = 0; i < o->ninputs; i++) {
        soap_region r = soap_op_input_region(g, op, i, out);
        want_block(&in[i], &r);
    }
    SOAP_ASSERT(o->nweights == 0 || w != NULL);
    for (int k = 0; k < o->nweights; k++) {
        soap_region r = soap_op_weight_region(g, op, k, out);
        want_block(&w[k], &r);
    }
    return t;
}

soap_status soap_cpu_forward(const soap_graph *g, int op, const soap_region *out,
                             const soap_block *in, const soap_block *w, const soap_block *y,
                             soap_error *err)
{
    soap_ktask t = task_of(g, op, out, in, w, err);
    want_block(y, out);
    t.y = y;
    return kernel_of(t.o->kind)->forward(&t);
}

soap_status soap_cpu_backward(const soap_graph *g, int op, const soap_region *out,
                              const soap_block *in, const soap_block *w,
                              const soap_block *labels, const soap_block *y,
                              const soap_block *dy, const soap_block *din,
                              const soap_block *dw, soap_error *err)
{
    soap_ktask t = task_of(g, op, out, in, w, err);
    const soap_op *o = t.o;
    if (y)
        want_block(y, out);
    if (o->kind == SOAP_OP_UNARY || o->kind == SOAP_OP_SOFTMAX ||
        o->kind == SOAP_OP_SOFTMAX_CE || o->kind == SOAP_OP_ATTENTION)
        SOAP_ASSERT(y != NULL);
    if (o->kind == SOAP_OP_SOFTMAX_CE) {
        soap_region lr = label_region(out);
        want_block(labels, &lr);
    } else if (o->kind != SOAP_OP_INPUT) {
        want_block(dy, out);
    }
    for (int i = 0; din && i < o->ninputs; i++) {
        if (!din[i].data)
            continue;
        soap_region r = soap_op_input_region(g, op, i, out);
        want_block(&din[i], &r);
    }
    for (int k = 0; dw && k < o->nweights; k++) {
        if (!dw[k].data)
            continue;
        soap_region r = soap_op_weight_region(g, op, k, out);
        want_block(&dw[k], &r);
    }
    t.labels = labels;
    t.y = y;
    t.dy = dy;
    t.din = din;
    t.dw = dw;
    return kernel_of(o->kind)->backward(&t);
}
