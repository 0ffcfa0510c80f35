/* dense.c: the LINEAR and EMBEDDING operator kinds (a weight matrix applied
 * to, or indexed by, each row of the input).
 *
 * LINEAR: [N,K] or [N,T,K] -> [N,F] or [N,T,F]; kinds N SAMPLE, T ATTRIBUTE,
 * F PARAMETER. An LSTM state [N,2,K] is read as its h [N,K] -> [N,F]. Weights w [F,K] and b [F] when has_bias. A task needs its
 * leading (N, T) ranges of the input with all K features, and the F slice
 * of w and b. Forward FLOP = 2*vol(out)*K (+ vol(out) for the bias);
 * backward = 2x forward (input gradient and weight gradient).
 *
 * EMBEDDING: token ids [N] or [N,T] -> [N,E] or [N,T,E]; kinds N SAMPLE,
 * T ATTRIBUTE, E PARAMETER. Weight [V,E]. A task needs its ids and, of the
 * table, all V rows in its E range; but a gather reads only one row per id,
 * so the bytes count vol(out) table elements, not the table. Forward 0 FLOP
 * (a gather); backward vol(out) FLOP (scatter-adding the output gradient
 * into the table rows).
 */
#include "ops_internal.h"

/* The output region without its last dim: the input region of ops that
 * keep the input's leading dims (linear with full K re-added by the caller,
 * embedding as is). */
static soap_region leading(const soap_region *out, int ndims)
{
    soap_region r = soap_ops_region_none(ndims);
    for (int d = 0; d < ndims && d < out->ndims; d++) {
        r.lo[d] = out->lo[d];
        r.hi[d] = out->hi[d];
    }
    return r;
}

/* Kinds of [N, (T,) X] with X the weight-splitting dim. */
static void row_kinds(soap_shape *out)
{
    out->kind[0] = SOAP_DIM_SAMPLE;
    if (out->ndims == 3)
        out->kind[1] = SOAP_DIM_ATTRIBUTE;
    out->kind[out->ndims - 1] = SOAP_DIM_PARAMETER;
}

/* ------------------------------------------------------------------ */
/* LINEAR                                                              */
/* ------------------------------------------------------------------ */
static soap_status linear_infer(const char *name, const soap_op_params *p,
                                const soap_shape *const *in, int ninputs, soap_shape *out,
                                soap_error *err)
{
    soap_status st =
        soap_ops_want_ndims(err, name, SOAP_OP_LINEAR, 0, in[0], 2, 3, "[N,K] or [N,T,K]");
    if (st != SOAP_OK)
        return st;
    if (p->out_features < 1)
        return soap_ops_fail(err, name, SOAP_OP_LINEAR, "out_features %lld, expected >= 1",
                             (long long)p->out_features);
    if (soap_ops_state_shaped(in[0])) {
        const int64_t size[2] = {in[0]->size[0], p->out_features};
        *out = soap_ops_shape(2, size, NULL);
    } else {
        *out = soap_ops_shape(in[0]->ndims, in[0]->size, NULL);
        out->size[out->ndims - 1] = p->out_features;
    }
    row_kinds(out);
    return SOAP_OK;
}

static int64_t linear_k(const soap_graph *g, const soap_op *o)
{
    const soap_shape *in = soap_ops_in(g, o, 0);
    return in->size[in->ndims - 1];
}

static int linear_weights(const soap_graph *g, const soap_op *o, soap_shape *w)
{
    const int64_t size[2] = {o->p.out_features, linear_k(g, o)};
    const soap_dim_kind kind[2] = {SOAP_DIM_PARAMETER, SOAP_DIM_NONE};
    w[0] = soap_ops_shape(2, size, kind);
    if (!o->p.has_bias)
        return 1;
    w[1] = soap_ops_shape(1, size, kind);
    return 2;
}

static soap_region linear_input_region(const soap_graph *g, const soap_op *o, int i,
                                       const soap_region *out)
{
    const soap_shape *in = soap_ops_in(g, o, i);
    if (soap_ops_state_shaped(in)) { /* h of the state: [n range, 0:1, all K] */
        soap_region r = soap_region_full(in);
        r.lo[0] = out->lo[0];
        r.hi[0] = out->hi[0];
        r.hi[1] = 1;
        return r;
    }
    soap_region r = leading(out, out->ndims);
    r.lo[r.ndims - 1] = 0;
    r.hi[r.ndims - 1] = linear_k(g, o);
    return r;
}

static soap_region linear_weight_region(const soap_graph *g, const soap_op *o, int w,
                                        const soap_region *out)
{
    soap_region r = soap_region_full(&g->weights[o->weights[w]].shape);
    r.lo[0] = out->lo[out->ndims - 1];
    r.hi[0] = out->hi[out->ndims - 1];
    return r;
}

static void linear_flops(const soap_graph *g, const soap_op *o, const soap_region *out,
                         double *fwd, double *bwd)
{
    double v = (double)soap_region_volume(out);
    *fwd = 2.0 * v * (double)linear_k(g, o) + (o->p.has_bias ? v : 0.0);
    *bwd = 2.0 * *fwd;
}

static void linear_signature(const soap_graph *g, const soap_op *o, char *buf, size_t len)
{
    soap_ops_appendf(buf, len, " f%lld bias%d", (long long)o->p.out_features,
                     o->p.has_bias ? 1 : 0);
}

const soap_op_ops soap_opkind_linear = {
    .kind = SOAP_OP_LINEAR,
    .min_inputs = 1,
    .max_inputs = 1,
    .weight_names = {"w", "b"},
    .infer = linear_infer,
    .weights = linear_weights,
    .input_region = linear_input_region,
    .weight_region = linear_weight_region,
    .flops = linear_flops,
    .signature = linear_signature,
};

/* ------------------------------------------------------------------ */
/* EMBEDDING                                                           */
/* ------------------------------------------------------------------ */
static soap_status embedding_infer(const char *name, const soap_op_params *p,
                                   const soap_shape *const *in, int ninputs, soap_shape *out,
                                   soap_error *err)
{
    soap_status st =
        soap_ops_want_ndims(err, name, SOAP_OP_EMBEDDING, 0, in[0], 1, 2, "ids [N] or [N,T]");
    if (st != SOAP_OK)
        return st;
    if (p->vocab < 1 || p->embed_dim < 1)
        return soap_ops_fail(err, name, SOAP_OP_EMBEDDING,
                             "vocab %lld and embed_dim %lld, expected both >= 1",
                             (long long)p->vocab, (long long)p->embed_dim);
    *out = soap_ops_shape(in[0]->ndims + 1, in[0]->size, NULL);
    out->size[out->ndims - 1] = p->embed_dim;
    row_kinds(out);
    return SOAP_OK;
}

static int embedding_weights(const soap_graph *g, const soap_op *o, soap_shape *w)
{
    const int64_t size[2] = {o->p.vocab, o->p.embed_dim};
    const soap_dim_kind kind[2] = {SOAP_DIM_NONE, SOAP_DIM_PARAMETER};
    w[0] = soap_ops_shape(2, size, kind);
    return 1;
}

static soap_region embedding_input_region(const soap_graph *g, const soap_op *o, int i,
                                          const soap_region *out)
{
    return leading(out, out->ndims - 1);
}

static soap_region embedding_weight_region(const soap_graph *g, const soap_op *o, int w,
                                           const soap_region *out)
{
    soap_region r = soap_region_full(&g->weights[o->weights[w]].shape);
    r.lo[1] = out->lo[out->ndims - 1];
    r.hi[1] = out->hi[out->ndims - 1];
    return r;
}

/* One table row (its E slice) per id: as many elements as the output. */
static double embedding_weight_elems(const soap_graph *g, const soap_op *o, int w,
                                     const soap_region *out)
{
    return (double)soap_region_volume(out);
}

static void embedding_flops(const soap_graph *g, const soap_op *o, const soap_region *out,
                            double *fwd, double *bwd)
{
    *fwd = 0;
    *bwd = (double)soap_region_volume(out);
}

static void embedding_signature(const soap_graph *g, const soap_op *o, char *buf, size_t len)
{
    soap_ops_appendf(buf, len, " v%lld e%lld", (long long)o->p.vocab,
                     (long long)o->p.embed_dim);
}

const soap_op_ops soap_opkind_embedding = {
    .kind = SOAP_OP_EMBEDDING,
    .min_inputs = 1,
    .max_inputs = 1,
    .weight_names = {"w"},
    .infer = embedding_infer,
    .weights = embedding_weights,
    .input_region = embedding_input_region,
    .weight_region = embedding_weight_region,
    .weight_elems = embedding_weight_elems,
    .flops = embedding_flops,
    .signature = embedding_signature,
};
