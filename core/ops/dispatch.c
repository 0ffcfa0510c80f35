/* dispatch.c: the per-kind operator table and the public per-kind functions
 * of soap_core.h (shape inference, weight shapes, input and weight regions,
 * costs, signatures) that dispatch through it; plus the helpers the kind
 * files share (error messages, string appending).
 *
 * Byte counts (the same rule for every kind): the forward pass reads the
 * input regions a task needs and the weight regions it needs and writes its
 * output region; 4 bytes per element. The backward pass reads the output
 * gradient, the saved inputs and the weights and writes the input and weight
 * gradients: about twice the forward traffic, which is what we count.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ops_internal.h"

/* In the order of SOAP_OP_KINDS; each entry's `kind` field is checked
 * against its slot at lookup. */
static const soap_op_ops *const kind_table[] = {
    &soap_opkind_input,     &soap_opkind_conv2d,    &soap_opkind_pool2d,
    &soap_opkind_batchnorm, &soap_opkind_unary,     &soap_opkind_binary,
    &soap_opkind_concat,    &soap_opkind_flatten,   &soap_opkind_linear,
    &soap_opkind_softmax,   &soap_opkind_softmax_ce, &soap_opkind_embedding,
    &soap_opkind_lstm,      &soap_opkind_attention, &soap_opkind_layernorm,
    &soap_opkind_matmul,
};
_Static_assert(sizeof kind_table / sizeof kind_table[0] == SOAP_OP_KIND_COUNT,
               "one ops table per operator kind");

/* Backward traffic relative to forward traffic (see the file comment). */
#define BWD_BYTES_FACTOR 2.0

const soap_op_ops *soap_ops_of(soap_op_kind kind)
{
    SOAP_ASSERT((int)kind >= 0 && kind < SOAP_OP_KIND_COUNT);
    const soap_op_ops *ops = kind_table[kind];
    SOAP_ASSERT(ops->kind == kind);
    return ops;
}

void soap_ops_appendf(char *buf, size_t len, const char *fmt, ...)
{
    if (len == 0)
        return;
    size_t used = strnlen(buf, len);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

soap_status soap_ops_fail(soap_error *err, const char *name, soap_op_kind kind,
                          const char *fmt, ...)
{
    if (err) {
        char msg[SOAP_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        char esc[SOAP_NAME_MAX * 4];
        soap_error_set(err, SOAP_ERR_INVALID, "op '%s' (%s): %s",
                       soap_name_escape(name ? name : "?", esc, sizeof esc),
                       soap_op_kind_name(kind), msg);
    }
    return SOAP_ERR_INVALID;
}

soap_status soap_ops_want_ndims(soap_error *err, const char *name, soap_op_kind kind, int i,
                                const soap_shape *in, int lo, int hi, const char *layout)
{
    if (in->ndims >= lo && in->ndims <= hi)
        return SOAP_OK;
    char got[96];
    return soap_ops_fail(err, name, kind, "input %d must be %s, got %s", i, layout,
                         soap_shape_str(in, got, sizeof got));
}

soap_status soap_op_infer_shape(soap_op_kind kind, const char *name, const soap_op_params *p,
                                const soap_shape *const *in, int ninputs, soap_shape *out,
                                soap_error *err)
{
    SOAP_ASSERT(out != NULL);
    memset(out, 0, sizeof *out);
    if (!name)
        name = "?";
    if ((int)kind < 0 || kind >= SOAP_OP_KIND_COUNT)
        return soap_error_set(err, SOAP_ERR_INVALID, "op '%s': unknown operator kind %d", name,
                              (int)kind);
    const soap_op_params zero = {0};
    if (!p)
        p = &zero;
    const soap_op_ops *ops = soap_ops_of(kind);
    if (ninputs < ops->min_inputs || (ops->max_inputs >= 0 && ninputs > ops->max_inputs)) {
        if (ops->max_inputs < 0)
            return soap_ops_fail(err, name, kind, "expected at least %d inputs, got %d",
                                 ops->min_inputs, ninputs);
        if (ops->min_inputs == ops->max_inputs)
            return soap_ops_fail(err, name, kind, "expected %d input%s, got %d",
                                 ops->min_inputs, ops->min_inputs == 1 ? "" : "s", ninputs);
        return soap_ops_fail(err, name, kind, "expected %d to %d inputs, got %d",
                             ops->min_inputs, ops->max_inputs, ninputs);
    }
    if (ninputs > 0 && !in)
        return soap_ops_fail(err, name, kind, "no input shapes given");
    for (int i = 0; i < ninputs; i++) {
        if (!in[i])
            return soap_ops_fail(err, name, kind, "input %d has no shape", i);
        if (in[i]->ndims < 1 || in[i]->ndims > SOAP_MAX_DIMS)
            return soap_ops_fail(err, name, kind, "input %d has %d dims, expected 1 to %d", i,
                                 in[i]->ndims, SOAP_MAX_DIMS);
        for (int d = 0; d < in[i]->ndims; d++)
            if (in[i]->size[d] < 1)
                return soap_ops_fail(err, name, kind, "input %d has size %lld in dim %d", i,
                                     (long long)in[i]->size[d], d);
    }
    soap_status st = ops->infer(name, p, in, ninputs, out, err);
    if (st != SOAP_OK)
        memset(out, 0, sizeof *out);
    return st;
}

static const soap_op *op_at(const soap_graph *g, int op)
{
    SOAP_ASSERT(g != NULL);
    SOAP_ASSERT(op >= 0 && op < g->nops);
    return &g->ops[op];
}

int soap_op_weight_shapes(const soap_graph *g, int op, soap_shape *w)
{
    const soap_op *o = op_at(g, op);
    SOAP_ASSERT(w != NULL);
    const soap_op_ops *ops = soap_ops_of(o->kind);
    if (!ops->weights)
        return 0;
    int n = ops->weights(g, o, w);
    SOAP_ASSERT(n >= 0 && n <= SOAP_MAX_WEIGHTS);
    return n;
}

/* A task's output region must lie in the op's output. */
static void check_out_region(const soap_op *o, const soap_region *out)
{
    SOAP_ASSERT(out != NULL);
    SOAP_ASSERT(out->ndims == o->out.ndims);
    soap_region full = soap_region_full(&o->out);
    SOAP_ASSERT(soap_region_contains(&full, out));
}

soap_region soap_op_input_region(const soap_graph *g, int op, int i, const soap_region *out)
{
    const soap_op *o = op_at(g, op);
    SOAP_ASSERT(i >= 0 && i < o->ninputs);
    check_out_region(o, out);
    const soap_shape *in = soap_ops_in(g, o, i);
    if (soap_region_empty(out))
        return soap_ops_region_none(in->ndims);
    soap_region r = soap_ops_of(o->kind)->input_region(g, o, i, out);
    SOAP_ASSERT(r.ndims == in->ndims);
    if (soap_region_empty(&r))
        return soap_ops_region_none(in->ndims);
    soap_region full = soap_region_full(in);
    SOAP_ASSERT(soap_region_contains(&full, &r));
    return r;
}

soap_region soap_op_weight_region(const soap_graph *g, int op, int w, const soap_region *out)
{
    const soap_op *o = op_at(g, op);
    SOAP_ASSERT(w >= 0 && w < o->nweights);
    check_out_region(o, out);
    const soap_shape *ws = &g->weights[o->weights[w]].shape;
    const soap_op_ops *ops = soap_ops_of(o->kind);
    SOAP_ASSERT(ops->weight_region != NULL);
    if (soap_region_empty(out))
        return soap_ops_region_none(ws->ndims);
    soap_region r = ops->weight_region(g, o, w, out);
    SOAP_ASSERT(r.ndims == ws->ndims);
    soap_region full = soap_region_full(ws);
    SOAP_ASSERT(soap_region_contains(&full, &r));
    return r;
}

soap_op_cost soap_op_region_cost(const soap_graph *g, int op, const soap_region *out)
{
    const soap_op *o = op_at(g, op);
    check_out_region(o, out);
    soap_op_cost c = {0, 0, 0, 0};
    if (soap_region_empty(out))
        return c;
    const soap_op_ops *ops = soap_ops_of(o->kind);
    ops->flops(g, o, out, &c.fwd_flops, &c.bwd_flops);
    double elems = (double)soap_region_volume(out);
    for (int i = 0; i < o->ninputs; i++) {
        soap_region r = soap_op_input_region(g, op, i, out);
        elems += (double)soap_region_volume(&r);
    }
    for (int w = 0; w < o->nweights; w++) {
        if (ops->weight_elems) {
            elems += ops->weight_elems(g, o, w, out);
        } else {
            soap_region r = soap_op_weight_region(g, op, w, out);
            elems += (double)soap_region_volume(&r);
        }
    }
    c.fwd_bytes = elems * SOAP_ELEM_BYTES;
    c.bwd_bytes = BWD_BYTES_FACTOR * c.fwd_bytes;
    return c;
}

char *soap_op_signature(const soap_graph *g, int op, char *buf, size_t len)
{
    const soap_op *o = op_at(g, op);
    SOAP_ASSERT(buf != NULL && len > 0);
    buf[0] = '\0';
    soap_ops_appendf(buf, len, "%s", soap_op_kind_name(o->kind));
    const soap_op_ops *ops = soap_ops_of(o->kind);
    if (ops->signature)
        ops->signature(g, o, buf, len);
    if (o->ninputs > 0)
        soap_ops_appendf(buf, len, " in");
    /* Runs of equal input shapes are written once with a count ("[64,1024]x40"),
     * so that an attention over 40 steps keeps a short key. */
    for (int i = 0; i < o->ninputs;) {
        const soap_shape *s = soap_ops_in(g, o, i);
        int run = 1;
        while (i + run < o->ninputs && soap_shape_equal_sizes(s, soap_ops_in(g, o, i + run)))
            run++;
        char sh[96];
        soap_shape_str(s, sh, sizeof sh);
        if (run > 1)
            soap_ops_appendf(buf, len, "%sx%d", sh, run);
        else
            soap_ops_appendf(buf, len, "%s", sh);
        i += run;
    }
    return buf;
}
