/* kern_shape.c: CPU kernels of the kinds that only move data: INPUT, CONCAT
 * and FLATTEN.
 *
 * INPUT has no graph inputs. Its forward optionally copies the task's region
 * from a fed tensor: when `in` is non-NULL, in[0] is a block of the data fed
 * to the graph (containing `out`) and is copied into y; with in == NULL the
 * forward does nothing (the runner wrote y itself). For an index input
 * (is_index) the copied values are checked to be integers in [0, 2^24), the
 * range a float holds exactly. Backward does nothing: inputs get no gradient
 * here (the runner can read dy if it wants one).
 *
 * CONCAT: each input's part of the output region is that input's region
 * shifted along the axis by the input's offset; forward copies it, backward
 * adds dy of that part into din. Expressed as block copies with the input's
 * block shifted into output coordinates.
 *
 * FLATTEN: [N, ...] -> [N, F]: the input's rows are whole (all dims but N),
 * so row n of the input block is contiguous and flat element f of it is
 * output element (n, f).
 */
#include <string.h>

#include "cpu_kernels.h"

/* ------------------------------------------------------------------ */
/* INPUT                                                               */
/* ------------------------------------------------------------------ */
static soap_status input_forward(const soap_ktask *t)
{
    if (!t->in)
        return SOAP_OK;
    const soap_block *src = &t->in[0];
    SOAP_ASSERT(src->data && src->region.ndims == t->out.ndims);
    SOAP_ASSERT(soap_region_contains(&src->region, &t->out));
    soap_cpu_block_copy(t->y, src, &t->out);
    if (!t->o->p.is_index)
        return SOAP_OK;
    /* Check what was copied, row by row of the last dim. */
    const soap_region *r = &t->out;
    int nd = r->ndims;
    int64_t n = r->hi[nd - 1] - r->lo[nd - 1];
    int64_t x[SOAP_MAX_DIMS];
    for (int d = 0; d < nd; d++)
        x[d] = r->lo[d];
    for (;;) {
        soap_status st = soap_cpu_check_ids(t, t->y->data + soap_cpu_block_offset(t->y, x), n,
                                            SOAP_CPU_MAX_INDEX, "token id");
        if (st != SOAP_OK)
            return st;
        int d = nd - 2;
        while (d >= 0 && ++x[d] == r->hi[d]) {
            x[d] = r->lo[d];
            d--;
        }
        if (d < 0)
            return SOAP_OK;
    }
}

static soap_status input_backward(const soap_ktask *t)
{
    return SOAP_OK;
}

const soap_cpu_kernel soap_cpu_kern_input = {
    .kind = SOAP_OP_INPUT,
    .forward = input_forward,
    .backward = input_backward,
};

/* ------------------------------------------------------------------ */
/* CONCAT                                                              */
/* ------------------------------------------------------------------ */
/* Input i's part of the output region (in output coordinates) and its block
 * b shifted into output coordinates. Returns 0 when the task misses input i. */
static int concat_part(const soap_ktask *t, int i, const soap_block *b, soap_region *part,
                       soap_block *shifted)
{
    soap_region r = soap_op_input_region(t->g, t->op, i, &t->out);
    if (soap_region_empty(&r))
        return 0;
    int axis = t->o->p.axis;
    int64_t off = 0;
    for (int j = 0; j < i; j++)
        off += t->g->ops[t->o->inputs[j]].out.size[axis];
    *part = r;
    part->lo[axis] += off;
    part->hi[axis] += off;
    *shifted = *b;
    shifted->region.lo[axis] += off;
    shifted->region.hi[axis] += off;
    return 1;
}

static soap_status concat_forward(const soap_ktask *t)
{
    for (int i = 0; i < t->o->ninputs; i++) {
        soap_region part;
        soap_block src;
        if (concat_part(t, i, &t->in[i], &part, &src))
            soap_cpu_block_copy(t->y, &src, &part);
    }
    return SOAP_OK;
}

static soap_status concat_backward(const soap_ktask *t)
{
    for (int i = 0; i < t->o->ninputs; i++) {
        const soap_block *din = soap_ktask_din(t, i);
        soap_region part;
        soap_block dst;
        if (din && concat_part(t, i, din, &part, &dst))
            soap_cpu_block_add(&dst, t->dy, &part);
    }
    return SOAP_OK;
}

const soap_cpu_kernel soap_cpu_kern_concat = {
    .kind = SOAP_OP_CONCAT,
    .forward = concat_forward,
    .backward = concat_backward,
};

/* ------------------------------------------------------------------ */
/* FLATTEN                                                             */
/* ------------------------------------------------------------------ */
/* Pointer to row n of a block over [N, whole rest] (row-major: contiguous). */
static float *flat_row(const soap_block *b, int64_t n, int64_t flat)
{
    return b->data + (n - b->region.lo[0]) * flat;
}

static int64_t flat_size(const soap_ktask *t)
{
    return t->o->out.size[1];
}

static soap_status flatten_forward(const soap_ktask *t)
{
    soap_kview y = soap_kview_of(t->y);
    int64_t flat = flat_size(t), f0 = t->out.lo[1], nf = t->out.hi[1] - t->out.lo[1];
    for (int64_t n = t->out.lo[0]; n < t->out.hi[0]; n++)
        memcpy(soap_kv2(&y, n, f0), flat_row(&t->in[0], n, flat) + f0,
               (size_t)nf * sizeof(float));
    return SOAP_OK;
}

static soap_status flatten_backward(const soap_ktask *t)
{
    const soap_block *din = soap_ktask_din(t, 0);
    if (!din)
        return SOAP_OK;
    soap_kview dy = soap_kview_of(t->dy);
    int64_t flat = flat_size(t), f0 = t->out.lo[1], nf = t->out.hi[1] - t->out.lo[1];
    for (int64_t n = t->out.lo[0]; n < t->out.hi[0]; n++) {
        float *dx = flat_row(din, n, flat) + f0;
        const float *g = soap_kv2(&dy, n, f0);
        for (int64_t f = 0; f < nf; f++)
            dx[f] += g[f];
    }
    return SOAP_OK;
}

const soap_cpu_kernel soap_cpu_kern_flatten = {
    .kind = SOAP_OP_FLATTEN,
    .forward = flatten_forward,
    .backward = flatten_backward,
};
