/* norm.c: the normalization operator kinds BATCHNORM and LAYERNORM. Both keep
 * their input's shape, read exactly the output region of their input, and
 * own a scale (gamma) and a shift (beta).
 *
 * BATCHNORM: [N,C,H,W] or [N,C]; kinds N SAMPLE, C PARAMETER (a channel split
 * splits gamma and beta), H/W ATTRIBUTE. Weights gamma [C], beta [C].
 * (Statistics of a sample-split task cover its own samples only, as in the
 * paper's runtime.)
 * LAYERNORM: [..., D] normalized over the last dim D, which therefore cannot
 * be split (NONE); the other dims follow the weightless rule. Weights
 * gamma [D], beta [D], always read whole.
 *
 * FLOP per element, both kinds: forward 8 (mean: 1 add; variance: subtract,
 * square, add; normalize: subtract, multiply by the reciprocal deviation;
 * scale and shift: multiply, add); backward 12 (the input gradient needs two
 * reductions of the output gradient on top of the forward's work, and the
 * gamma/beta gradients one multiply-add and one add per element).
 */
#include "ops_internal.h"

#define NORM_FWD_FLOP_PER_ELEM 8.0
#define NORM_BWD_FLOP_PER_ELEM 12.0

/* The output region, read from the input (same shape). */
static soap_region same_region(const soap_graph *g, const soap_op *o, int i,
                               const soap_region *out)
{
    return *out;
}

static void norm_flops(const soap_graph *g, const soap_op *o, const soap_region *out,
                       double *fwd, double *bwd)
{
    double v = (double)soap_region_volume(out);
    *fwd = NORM_FWD_FLOP_PER_ELEM * v;
    *bwd = NORM_BWD_FLOP_PER_ELEM * v;
}

/* ------------------------------------------------------------------ */
/* BATCHNORM                                                           */
/* ------------------------------------------------------------------ */
static soap_status bn_infer(const char *name, const soap_op_params *p,
                            const soap_shape *const *in, int ninputs, soap_shape *out,
                            soap_error *err)
{
    if (in[0]->ndims != 2 && in[0]->ndims != 4) {
        char got[96];
        return soap_ops_fail(err, name, SOAP_OP_BATCHNORM,
                             "input 0 must be [N,C,H,W] or [N,C], got %s",
                             soap_shape_str(in[0], got, sizeof got));
    }
    const soap_dim_kind kind[4] = {SOAP_DIM_SAMPLE, SOAP_DIM_PARAMETER, SOAP_DIM_ATTRIBUTE,
                                   SOAP_DIM_ATTRIBUTE};
    *out = soap_ops_shape(in[0]->ndims, in[0]->size, kind);
    return SOAP_OK;
}

static int bn_weights(const soap_graph *g, const soap_op *o, soap_shape *w)
{
    const soap_dim_kind kind = SOAP_DIM_PARAMETER;
    w[0] = soap_ops_shape(1, &o->out.size[1], &kind);
    w[1] = w[0];
    return 2;
}

static soap_region bn_weight_region(const soap_graph *g, const soap_op *o, int w,
                                    const soap_region *out)
{
    soap_region r = soap_ops_region_none(1);
    r.lo[0] = out->lo[1];
    r.hi[0] = out->hi[1];
    return r;
}

const soap_op_ops soap_opkind_batchnorm = {
    .kind = SOAP_OP_BATCHNORM,
    .min_inputs = 1,
    .max_inputs = 1,
    .weight_names = {"gamma", "beta"},
    .infer = bn_infer,
    .weights = bn_weights,
    .input_region = same_region,
    .weight_region = bn_weight_region,
    .flops = norm_flops,
};

/* ------------------------------------------------------------------ */
/* LAYERNORM                                                           */
/* ------------------------------------------------------------------ */
static soap_status ln_infer(const char *name, const soap_op_params *p,
                            const soap_shape *const *in, int ninputs, soap_shape *out,
                            soap_error *err)
{
    soap_status st =
        soap_ops_want_ndims(err, name, SOAP_OP_LAYERNORM, 0, in[0], 2, 4, "[N,...,D]");
    if (st != SOAP_OK)
        return st;
    *out = soap_ops_shape(in[0]->ndims, in[0]->size, NULL);
    soap_ops_weightless_kinds(in[0], out);
    out->kind[out->ndims - 1] = SOAP_DIM_NONE;
    return SOAP_OK;
}

static int ln_weights(const soap_graph *g, const soap_op *o, soap_shape *w)
{
    w[0] = soap_ops_shape(1, &o->out.size[o->out.ndims - 1], NULL);
    w[1] = w[0];
    return 2;
}

static soap_region ln_weight_region(const soap_graph *g, const soap_op *o, int w,
                                    const soap_region *out)
{
    return soap_region_full(&g->weights[o->weights[w]].shape);
}

const soap_op_ops soap_opkind_layernorm = {
    .kind = SOAP_OP_LAYERNORM,
    .min_inputs = 1,
    .max_inputs = 1,
    .weight_names = {"gamma", "beta"},
    .infer = ln_infer,
    .weights = ln_weights,
    .input_region = same_region,
    .weight_region = ln_weight_region,
    .flops = norm_flops,
};
