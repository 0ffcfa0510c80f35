/* elementwise.c: operator kinds that map each output element from the same
 * position of their inputs: UNARY (relu, tanh, sigmoid), BINARY (add, mul),
 * and the row-wise SOFTMAX and SOFTMAX_CE (softmax + cross-entropy against
 * labels that are not a graph tensor). None has weights; each reads exactly
 * its output region from every input.
 *
 * Dim kinds: the weightless rule (input 0's kinds, PARAMETER -> ATTRIBUTE);
 * the softmax kinds normalize over the last dim, which is NONE.
 *
 * FLOP per element (forward, backward), small constants that only matter
 * next to the bytes these ops move:
 *   relu       1, 1   compare; mask the gradient
 *   tanh       4, 3   exp-based evaluation; g*(1-y*y)
 *   sigmoid    4, 3   exp, add, divide; g*y*(1-y)
 *   add        1, 0   the gradient reaches both inputs unchanged (bytes only)
 *   mul        1, 2   one multiply per input gradient
 *   softmax    5, 4   max, subtract, exp, sum, divide; dot(g,y), subtract, multiply
 *   softmax_ce 5, 1   the softmax (the per-row log of the label is left out);
 *                     gradient = y - onehot
 */
#include "ops_internal.h"

typedef struct flop_pair {
    double fwd, bwd; /* FLOP per output element */
} flop_pair;

static const flop_pair unary_flops_tab[] = {{1, 1}, {4, 3}, {4, 3}};
_Static_assert(sizeof unary_flops_tab / sizeof unary_flops_tab[0] == SOAP_UNARY_FN_COUNT,
               "FLOP of every unary function");
static const flop_pair binary_flops_tab[] = {{1, 0}, {1, 2}};
_Static_assert(sizeof binary_flops_tab / sizeof binary_flops_tab[0] == SOAP_BINARY_FN_COUNT,
               "FLOP of every binary function");
static const flop_pair softmax_flops = {5, 4};
static const flop_pair softmax_ce_flops = {5, 1};

static soap_region same_region(const soap_graph *g, const soap_op *o, int i,
                               const soap_region *out)
{
    return *out;
}

static void per_elem_flops(const soap_region *out, flop_pair f, double *fwd, double *bwd)
{
    double v = (double)soap_region_volume(out);
    *fwd = f.fwd * v;
    *bwd = f.bwd * v;
}

/* Output = input 0's sizes with the weightless rule. */
static void weightless_like(const soap_shape *in, soap_shape *out)
{
    *out = soap_ops_shape(in->ndims, in->size, NULL);
    soap_ops_weightless_kinds(in, out);
}

/* ------------------------------------------------------------------ */
/* UNARY                                                               */
/* ------------------------------------------------------------------ */
static soap_status unary_infer(const char *name, const soap_op_params *p,
                               const soap_shape *const *in, int ninputs, soap_shape *out,
                               soap_error *err)
{
    if ((int)p->unary < 0 || p->unary >= SOAP_UNARY_FN_COUNT)
        return soap_ops_fail(err, name, SOAP_OP_UNARY,
                             "unknown unary function %d, expected relu, tanh or sigmoid",
                             (int)p->unary);
    weightless_like(in[0], out);
    return SOAP_OK;
}

static void unary_flops(const soap_graph *g, const soap_op *o, const soap_region *out,
                        double *fwd, double *bwd)
{
    per_elem_flops(out, unary_flops_tab[o->p.unary], fwd, bwd);
}

static void unary_signature(const soap_graph *g, const soap_op *o, char *buf, size_t len)
{
    soap_ops_appendf(buf, len, " %s", soap_unary_fn_name(o->p.unary));
}

const soap_op_ops soap_opkind_unary = {
    .kind = SOAP_OP_UNARY,
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = unary_infer,
    .input_region = same_region,
    .flops = unary_flops,
    .signature = unary_signature,
};

/* ------------------------------------------------------------------ */
/* BINARY                                                              */
/* ------------------------------------------------------------------ */
static soap_status binary_infer(const char *name, const soap_op_params *p,
                                const soap_shape *const *in, int ninputs, soap_shape *out,
                                soap_error *err)
{
    if ((int)p->binary < 0 || p->binary >= SOAP_BINARY_FN_COUNT)
        return soap_ops_fail(err, name, SOAP_OP_BINARY,
                             "unknown binary function %d, expected add or mul",
                             (int)p->binary);
    if (!soap_shape_equal_sizes(in[0], in[1])) {
        char a[96], b[96];
        return soap_ops_fail(err, name, SOAP_OP_BINARY,
                             "inputs must have equal sizes, got %s and %s",
                             soap_shape_str(in[0], a, sizeof a),
                             soap_shape_str(in[1], b, sizeof b));
    }
    weightless_like(in[0], out);
    return SOAP_OK;
}

static void binary_flops(const soap_graph *g, const soap_op *o, const soap_region *out,
                         double *fwd, double *bwd)
{
    per_elem_flops(out, binary_flops_tab[o->p.binary], fwd, bwd);
}

static void binary_signature(const soap_graph *g, const soap_op *o, char *buf, size_t len)
{
    soap_ops_appendf(buf, len, " %s", soap_binary_fn_name(o->p.binary));
}

const soap_op_ops soap_opkind_binary = {
    .kind = SOAP_OP_BINARY,
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = binary_infer,
    .input_region = same_region,
    .flops = binary_flops,
    .signature = binary_signature,
};

/* ------------------------------------------------------------------ */
/* SOFTMAX, SOFTMAX_CE                                                 */
/* ------------------------------------------------------------------ */
static soap_status softmax_like_infer(soap_op_kind kind, const char *name,
                                      const soap_shape *in, soap_shape *out, soap_error *err)
{
    soap_status st = soap_ops_want_ndims(err, name, kind, 0, in, 2, 4, "[N,...,classes]");
    if (st != SOAP_OK)
        return st;
    weightless_like(in, out);
    out->kind[out->ndims - 1] = SOAP_DIM_NONE; /* normalized over it */
    return SOAP_OK;
}

static soap_status softmax_infer(const char *name, const soap_op_params *p,
                                 const soap_shape *const *in, int ninputs, soap_shape *out,
                                 soap_error *err)
{
    return softmax_like_infer(SOAP_OP_SOFTMAX, name, in[0], out, err);
}

static soap_status softmax_ce_infer(const char *name, const soap_op_params *p,
                                    const soap_shape *const *in, int ninputs, soap_shape *out,
                                    soap_error *err)
{
    return softmax_like_infer(SOAP_OP_SOFTMAX_CE, name, in[0], out, err);
}

static void softmax_flops_fn(const soap_graph *g, const soap_op *o, const soap_region *out,
                             double *fwd, double *bwd)
{
    per_elem_flops(out, softmax_flops, fwd, bwd);
}

static void softmax_ce_flops_fn(const soap_graph *g, const soap_op *o,
                                const soap_region *out, double *fwd, double *bwd)
{
    per_elem_flops(out, softmax_ce_flops, fwd, bwd);
}

const soap_op_ops soap_opkind_softmax = {
    .kind = SOAP_OP_SOFTMAX,
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = softmax_infer,
    .input_region = same_region,
    .flops = softmax_flops_fn,
};

const soap_op_ops soap_opkind_softmax_ce = {
    .kind = SOAP_OP_SOFTMAX_CE,
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = softmax_ce_infer,
    .input_region = same_region,
    .flops = softmax_ce_flops_fn,
};
