/* conv_pool.c: the CONV2D and POOL2D operator kinds (sliding windows over
 * [N, C, H, W]). They share the output-size formula and the halo: output
 * rows [lo, hi) read input rows [lo*s - pad, (hi-1)*s - pad + k), clipped to
 * the input (padding rows are zeros that nobody stores).
 *
 * CONV2D: [N,C,H,W] -> [N,Cout,Ho,Wo]; kinds N SAMPLE, Cout PARAMETER (it
 * splits the weights), Ho/Wo ATTRIBUTE. Weights w [Cout,C,kh,kw], b [Cout]
 * when has_bias. Forward FLOP = 2*vol(out)*C*kh*kw (+ vol(out) for the bias);
 * backward = 2x forward (input gradient and weight gradient, each as costly
 * as the forward product).
 *
 * POOL2D (max, avg): [N,C,H,W] -> [N,C,Ho,Wo]; kinds N SAMPLE, C/H/W
 * ATTRIBUTE (no weights). FLOP = vol(out)*kh*kw forward (one compare or add
 * per window element) and the same backward. A global average pool is a
 * pool whose kernel is H x W.
 */
#include "ops_internal.h"

/* Ho = (H + 2*pad - k)/stride + 1 for both spatial dims; checks the window
 * parameters and that at least one output row and column result. */
static soap_status window_out(const char *name, soap_op_kind kind, const soap_op_params *p,
                              const soap_shape *in, int64_t *ho, int64_t *wo, soap_error *err)
{
    soap_status st = soap_ops_want_ndims(err, name, kind, 0, in, 4, 4, "[N,C,H,W]");
    if (st != SOAP_OK)
        return st;
    static const char *const dim_name[2] = {"height", "width"};
    int64_t res[2];
    for (int d = 0; d < 2; d++) {
        if (p->kernel[d] < 1 || p->stride[d] < 1 || p->pad[d] < 0)
            return soap_ops_fail(err, name, kind,
                                 "kernel %dx%d, stride %dx%d, padding %dx%d: expected kernel "
                                 "and stride >= 1 and padding >= 0",
                                 p->kernel[0], p->kernel[1], p->stride[0], p->stride[1],
                                 p->pad[0], p->pad[1]);
        int64_t span = in->size[2 + d] + 2 * (int64_t)p->pad[d] - p->kernel[d];
        if (span < 0)
            return soap_ops_fail(err, name, kind,
                                 "kernel %dx%d with padding %dx%d does not fit input %lldx%lld "
                                 "(output %s < 1)",
                                 p->kernel[0], p->kernel[1], p->pad[0], p->pad[1],
                                 (long long)in->size[2], (long long)in->size[3], dim_name[d]);
        res[d] = span / p->stride[d] + 1;
    }
    *ho = res[0];
    *wo = res[1];
    return SOAP_OK;
}

/* Input range [*rlo, *rhi) of one spatial dim for output range [lo, hi). */
static void halo(int64_t lo, int64_t hi, int k, int s, int pad, int64_t size, int64_t *rlo,
                 int64_t *rhi)
{
    int64_t a = lo * s - pad;
    int64_t b = (hi - 1) * s - pad + k;
    *rlo = a < 0 ? 0 : a;
    *rhi = b > size ? size : b;
}

/* Input region of a window op: N as in `out`, channels [clo, chi), rows and
 * columns with their halo. */
static soap_region window_input_region(const soap_op_params *p, const soap_shape *in,
                                       const soap_region *out, int64_t clo, int64_t chi)
{
    soap_region r = soap_ops_region_none(4);
    r.lo[0] = out->lo[0];
    r.hi[0] = out->hi[0];
    r.lo[1] = clo;
    r.hi[1] = chi;
    for (int d = 0; d < 2; d++)
        halo(out->lo[2 + d], out->hi[2 + d], p->kernel[d], p->stride[d], p->pad[d],
             in->size[2 + d], &r.lo[2 + d], &r.hi[2 + d]);
    return r;
}

static void window_signature(const soap_op_params *p, char *buf, size_t len)
{
    soap_ops_appendf(buf, len, " k%dx%d s%dx%d p%dx%d", p->kernel[0], p->kernel[1],
                     p->stride[0], p->stride[1], p->pad[0], p->pad[1]);
}

/* ------------------------------------------------------------------ */
/* CONV2D                                                              */
/* ------------------------------------------------------------------ */
static soap_status conv_infer(const char *name, const soap_op_params *p,
                              const soap_shape *const *in, int ninputs, soap_shape *out,
                              soap_error *err)
{
    int64_t ho, wo;
    soap_status st = window_out(name, SOAP_OP_CONV2D, p, in[0], &ho, &wo, err);
    if (st != SOAP_OK)
        return st;
    if (p->out_channels < 1)
        return soap_ops_fail(err, name, SOAP_OP_CONV2D, "out_channels %lld, expected >= 1",
                             (long long)p->out_channels);
    const int64_t size[4] = {in[0]->size[0], p->out_channels, ho, wo};
    const soap_dim_kind kind[4] = {SOAP_DIM_SAMPLE, SOAP_DIM_PARAMETER, SOAP_DIM_ATTRIBUTE,
                                   SOAP_DIM_ATTRIBUTE};
    *out = soap_ops_shape(4, size, kind);
    return SOAP_OK;
}

static int conv_weights(const soap_graph *g, const soap_op *o, soap_shape *w)
{
    const soap_shape *in = soap_ops_in(g, o, 0);
    const int64_t wsize[4] = {o->p.out_channels, in->size[1], o->p.kernel[0], o->p.kernel[1]};
    const soap_dim_kind wkind[4] = {SOAP_DIM_PARAMETER, SOAP_DIM_NONE, SOAP_DIM_NONE,
                                    SOAP_DIM_NONE};
    w[0] = soap_ops_shape(4, wsize, wkind);
    if (!o->p.has_bias)
        return 1;
    w[1] = soap_ops_shape(1, &o->p.out_channels, wkind);
    return 2;
}

static soap_region conv_input_region(const soap_graph *g, const soap_op *o, int i,
                                     const soap_region *out)
{
    const soap_shape *in = soap_ops_in(g, o, 0);
    return window_input_region(&o->p, in, out, 0, in->size[1]);
}

/* A split of Cout takes the matching slice of w and b; the rest is whole. */
static soap_region conv_weight_region(const soap_graph *g, const soap_op *o, int w,
                                      const soap_region *out)
{
    soap_region r = soap_region_full(&g->weights[o->weights[w]].shape);
    r.lo[0] = out->lo[1];
    r.hi[0] = out->hi[1];
    return r;
}

static void conv_flops(const soap_graph *g, const soap_op *o, const soap_region *out,
                       double *fwd, double *bwd)
{
    const soap_shape *in = soap_ops_in(g, o, 0);
    double v = (double)soap_region_volume(out);
    *fwd = 2.0 * v * (double)in->size[1] * o->p.kernel[0] * o->p.kernel[1];
    if (o->p.has_bias)
        *fwd += v;
    *bwd = 2.0 * *fwd;
}

static void conv_signature(const soap_graph *g, const soap_op *o, char *buf, size_t len)
{
    window_signature(&o->p, buf, len);
    soap_ops_appendf(buf, len, " c%lld bias%d", (long long)o->p.out_channels,
                     o->p.has_bias ? 1 : 0);
}

const soap_op_ops soap_opkind_conv2d = {
    .kind = SOAP_OP_CONV2D,
    .min_inputs = 1,
    .max_inputs = 1,
    .weight_names = {"w", "b"},
    .infer = conv_infer,
    .weights = conv_weights,
    .input_region = conv_input_region,
    .weight_region = conv_weight_region,
    .flops = conv_flops,
    .signature = conv_signature,
};

/* ------------------------------------------------------------------ */
/* POOL2D                                                              */
/* ------------------------------------------------------------------ */
static soap_status pool_infer(const char *name, const soap_op_params *p,
                              const soap_shape *const *in, int ninputs, soap_shape *out,
                              soap_error *err)
{
    if ((int)p->pool < 0 || p->pool >= SOAP_POOL_TYPE_COUNT)
        return soap_ops_fail(err, name, SOAP_OP_POOL2D, "unknown pool type %d, expected "
                             "max or avg", (int)p->pool);
    int64_t ho, wo;
    soap_status st = window_out(name, SOAP_OP_POOL2D, p, in[0], &ho, &wo, err);
    if (st != SOAP_OK)
        return st;
    const int64_t size[4] = {in[0]->size[0], in[0]->size[1], ho, wo};
    const soap_dim_kind kind[4] = {SOAP_DIM_SAMPLE, SOAP_DIM_ATTRIBUTE, SOAP_DIM_ATTRIBUTE,
                                   SOAP_DIM_ATTRIBUTE};
    *out = soap_ops_shape(4, size, kind);
    return SOAP_OK;
}

static soap_region pool_input_region(const soap_graph *g, const soap_op *o, int i,
                                     const soap_region *out)
{
    return window_input_region(&o->p, soap_ops_in(g, o, 0), out, out->lo[1], out->hi[1]);
}

static void pool_flops(const soap_graph *g, const soap_op *o, const soap_region *out,
                       double *fwd, double *bwd)
{
    *fwd = (double)soap_region_volume(out) * o->p.kernel[0] * o->p.kernel[1];
    *bwd = *fwd;
}

static void pool_signature(const soap_graph *g, const soap_op *o, char *buf, size_t len)
{
    soap_ops_appendf(buf, len, " %s", soap_pool_type_name(o->p.pool));
    window_signature(&o->p, buf, len);
}

const soap_op_ops soap_opkind_pool2d = {
    .kind = SOAP_OP_POOL2D,
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = pool_infer,
    .input_region = pool_input_region,
    .flops = pool_flops,
    .signature = pool_signature,
};
