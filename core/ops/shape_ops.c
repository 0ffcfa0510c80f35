/* shape_ops.c: operator kinds that only move data: CONCAT and FLATTEN.
 * They do no arithmetic (0 FLOP); their cost is the bytes they copy.
 *
 * CONCAT (axis): one or more inputs equal in every dim but `axis`; the
 * output joins them along it (input i starts at offset sum of the earlier
 * inputs' sizes). Kinds: the weightless rule from input 0, the axis dim
 * ATTRIBUTE. A task needs, from input i, the part of its output region that
 * falls into input i's offset range, shifted into input i's coordinates;
 * nothing when its range misses input i.
 * FLATTEN: [N, ...] -> [N, prod(rest)]; kinds N SAMPLE, the flat dim NONE
 * (an element range of it would not be a box of the input). A task needs
 * its samples, everything else whole.
 */
#include "ops_internal.h"

static void no_flops(const soap_graph *g, const soap_op *o, const soap_region *out,
                     double *fwd, double *bwd)
{
    *fwd = 0;
    *bwd = 0;
}

/* ------------------------------------------------------------------ */
/* CONCAT                                                              */
/* ------------------------------------------------------------------ */
static soap_status concat_infer(const char *name, const soap_op_params *p,
                                const soap_shape *const *in, int ninputs, soap_shape *out,
                                soap_error *err)
{
    const soap_shape *a = in[0];
    if (p->axis < 0 || p->axis >= a->ndims)
        return soap_ops_fail(err, name, SOAP_OP_CONCAT,
                             "axis %d, expected 0 to %d for %d-D inputs", p->axis,
                             a->ndims - 1, a->ndims);
    int64_t total = 0;
    for (int i = 0; i < ninputs; i++) {
        const soap_shape *b = in[i];
        int fits = b->ndims == a->ndims;
        for (int d = 0; fits && d < a->ndims; d++)
            fits = d == p->axis || b->size[d] == a->size[d];
        if (!fits) {
            char sa[96], sb[96];
            return soap_ops_fail(err, name, SOAP_OP_CONCAT,
                                 "input %d is %s, expected the sizes of input 0 %s in every "
                                 "dim but axis %d",
                                 i, soap_shape_str(b, sb, sizeof sb),
                                 soap_shape_str(a, sa, sizeof sa), p->axis);
        }
        total += b->size[p->axis];
    }
    *out = soap_ops_shape(a->ndims, a->size, NULL);
    out->size[p->axis] = total;
    soap_ops_weightless_kinds(a, out);
    out->kind[p->axis] = SOAP_DIM_ATTRIBUTE;
    return SOAP_OK;
}

static soap_region concat_input_region(const soap_graph *g, const soap_op *o, int i,
                                       const soap_region *out)
{
    int axis = o->p.axis;
    int64_t off = 0;
    for (int j = 0; j < i; j++)
        off += soap_ops_in(g, o, j)->size[axis];
    int64_t size = soap_ops_in(g, o, i)->size[axis];
    soap_region r = *out;
    int64_t lo = out->lo[axis] > off ? out->lo[axis] : off;
    int64_t hi = out->hi[axis] < off + size ? out->hi[axis] : off + size;
    if (lo >= hi)
        return soap_ops_region_none(out->ndims);
    r.lo[axis] = lo - off;
    r.hi[axis] = hi - off;
    return r;
}

static void concat_signature(const soap_graph *g, const soap_op *o, char *buf, size_t len)
{
    soap_ops_appendf(buf, len, " axis%d", o->p.axis);
}

const soap_op_ops soap_opkind_concat = {
    .kind = SOAP_OP_CONCAT,
    .min_inputs = 1,
    .max_inputs = -1,
    .infer = concat_infer,
    .input_region = concat_input_region,
    .flops = no_flops,
    .signature = concat_signature,
};

/* ------------------------------------------------------------------ */
/* FLATTEN                                                             */
/* ------------------------------------------------------------------ */
static soap_status flatten_infer(const char *name, const soap_op_params *p,
                                 const soap_shape *const *in, int ninputs, soap_shape *out,
                                 soap_error *err)
{
    soap_status st = soap_ops_want_ndims(err, name, SOAP_OP_FLATTEN, 0, in[0], 2,
                                         SOAP_MAX_DIMS, "[N,...] (at least 2-D)");
    if (st != SOAP_OK)
        return st;
    int64_t flat = 1;
    for (int d = 1; d < in[0]->ndims; d++)
        flat *= in[0]->size[d];
    const int64_t size[2] = {in[0]->size[0], flat};
    const soap_dim_kind kind[2] = {SOAP_DIM_SAMPLE, SOAP_DIM_NONE};
    *out = soap_ops_shape(2, size, kind);
    return SOAP_OK;
}

static soap_region flatten_input_region(const soap_graph *g, const soap_op *o, int i,
                                        const soap_region *out)
{
    soap_region r = soap_region_full(soap_ops_in(g, o, 0));
    r.lo[0] = out->lo[0];
    r.hi[0] = out->hi[0];
    return r;
}

const soap_op_ops soap_opkind_flatten = {
    .kind = SOAP_OP_FLATTEN,
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = flatten_infer,
    .input_region = flatten_input_region,
    .flops = no_flops,
};
