/* input.c: the INPUT operator kind, a tensor fed to the graph (images,
 * token ids, labels). Its output is p->shape as given, dim kinds included;
 * it has no inputs and no weights. Cost: 0 FLOP; its bytes are those of the
 * output it writes (the generic byte rule in dispatch.c gives exactly that). */
#include "ops_internal.h"

static soap_status input_infer(const char *name, const soap_op_params *p,
                               const soap_shape *const *in, int ninputs, soap_shape *out,
                               soap_error *err)
{
    const soap_shape *s = &p->shape;
    if (s->ndims < 1 || s->ndims > SOAP_MAX_DIMS)
        return soap_ops_fail(err, name, SOAP_OP_INPUT, "shape has %d dims, expected 1 to %d",
                             s->ndims, SOAP_MAX_DIMS);
    for (int d = 0; d < s->ndims; d++) {
        if (s->size[d] < 1)
            return soap_ops_fail(err, name, SOAP_OP_INPUT,
                                 "size %lld in dim %d, expected >= 1", (long long)s->size[d],
                                 d);
        if ((int)s->kind[d] < SOAP_DIM_NONE || s->kind[d] > SOAP_DIM_PARAMETER)
            return soap_ops_fail(err, name, SOAP_OP_INPUT, "unknown dim kind %d in dim %d",
                                 (int)s->kind[d], d);
    }
    *out = soap_ops_shape(s->ndims, s->size, s->kind);
    return SOAP_OK;
}

/* Never called: an INPUT has no inputs. */
static soap_region input_input_region(const soap_graph *g, const soap_op *o, int i,
                                      const soap_region *out)
{
    SOAP_ASSERT(!"an input operator has no inputs");
    return soap_ops_region_none(0);
}

static void input_flops(const soap_graph *g, const soap_op *o, const soap_region *out,
                        double *fwd, double *bwd)
{
    *fwd = 0;
    *bwd = 0;
}

static void input_signature(const soap_graph *g, const soap_op *o, char *buf, size_t len)
{
    char sh[96];
    soap_ops_appendf(buf, len, " shape%s index%d", soap_shape_str(&o->p.shape, sh, sizeof sh),
                     o->p.is_index ? 1 : 0);
}

const soap_op_ops soap_opkind_input = {
    .kind = SOAP_OP_INPUT,
    .min_inputs = 0,
    .max_inputs = 0,
    .infer = input_infer,
    .input_region = input_input_region,
    .flops = input_flops,
    .signature = input_signature,
};
