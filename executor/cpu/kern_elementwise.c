/* kern_elementwise.c: CPU kernels of UNARY (relu, tanh, sigmoid), BINARY
 * (add, mul), SOFTMAX and SOFTMAX_CE, and the SOFTMAX_CE loss. All of them
 * read exactly their output region of every input and work row by row (a
 * row: a run along the last dim).
 *
 * UNARY backward: relu masks dy with x > 0 (read from the input; the
 * gradient at 0 is 0); tanh uses dy*(1 - y^2) and sigmoid dy*y*(1 - y), from
 * the saved output y.
 * SOFTMAX over the last dim (never split, so every row is whole):
 * y = exp(x - max) / sum, the sum in double; backward dx += y*(dy - dot(dy, y)).
 * SOFTMAX_CE: forward as SOFTMAX; backward ignores dy and adds
 * (y - onehot(label)) / R, R = soap_cpu_softmax_ce_rows (cpu_kernels.h says
 * why). Labels are float class ids, checked to be integers in [0, classes).
 */
#include <math.h>

#include "cpu_kernels.h"

/* ------------------------------------------------------------------ */
/* UNARY                                                               */
/* ------------------------------------------------------------------ */
static soap_status unary_forward(const soap_ktask *t)
{
    soap_unary_fn fn = t->o->p.unary;
    for (soap_krows it = soap_krows_begin(&t->out); it.more; soap_krows_next(&it)) {
        const float *x = soap_krow(&t->in[0], &it);
        float *y = soap_krow(t->y, &it);
        int64_t n = it.len;
        switch (fn) {
        case SOAP_UNARY_RELU:
            for (int64_t i = 0; i < n; i++)
                y[i] = x[i] > 0.0f ? x[i] : 0.0f;
            break;
        case SOAP_UNARY_TANH:
            for (int64_t i = 0; i < n; i++)
                y[i] = tanhf(x[i]);
            break;
        case SOAP_UNARY_SIGMOID:
            for (int64_t i = 0; i < n; i++)
                y[i] = 1.0f / (1.0f + expf(-x[i]));
            break;
        case SOAP_UNARY_FN_COUNT: SOAP_ASSERT(!"unary function checked when added");
        }
    }
    return SOAP_OK;
}

static soap_status unary_backward(const soap_ktask *t)
{
    const soap_block *din = soap_ktask_din(t, 0);
    if (!din)
        return SOAP_OK;
    soap_unary_fn fn = t->o->p.unary;
    for (soap_krows it = soap_krows_begin(&t->out); it.more; soap_krows_next(&it)) {
        const float *g = soap_krow(t->dy, &it);
        float *dx = soap_krow(din, &it);
        int64_t n = it.len;
        if (fn == SOAP_UNARY_RELU) {
            const float *x = soap_krow(&t->in[0], &it);
            for (int64_t i = 0; i < n; i++)
                dx[i] += x[i] > 0.0f ? g[i] : 0.0f;
        } else if (fn == SOAP_UNARY_TANH) {
            const float *y = soap_krow(t->y, &it);
            for (int64_t i = 0; i < n; i++)
                dx[i] += g[i] * (1.0f - y[i] * y[i]);
        } else {
            const float *y = soap_krow(t->y, &it);
            for (int64_t i = 0; i < n; i++)
                dx[i] += g[i] * y[i] * (1.0f - y[i]);
        }
    }
    return SOAP_OK;
}

const soap_cpu_kernel soap_cpu_kern_unary = {
    .kind = SOAP_OP_UNARY,
    .forward = unary_forward,
    .backward = unary_backward,
};

/* ------------------------------------------------------------------ */
/* BINARY                                                              */
/* ------------------------------------------------------------------ */
static soap_status binary_forward(const soap_ktask *t)
{
    int mul = t->o->p.binary == SOAP_BINARY_MUL;
    for (soap_krows it = soap_krows_begin(&t->out); it.more; soap_krows_next(&it)) {
        const float *a = soap_krow(&t->in[0], &it);
        const float *b = soap_krow(&t->in[1], &it);
        float *y = soap_krow(t->y, &it);
        if (mul)
            for (int64_t i = 0; i < it.len; i++)
                y[i] = a[i] * b[i];
        else
            for (int64_t i = 0; i < it.len; i++)
                y[i] = a[i] + b[i];
    }
    return SOAP_OK;
}

static soap_status binary_backward(const soap_ktask *t)
{
    int mul = t->o->p.binary == SOAP_BINARY_MUL;
    /* Input k's gradient is dy times the other input (mul) or dy (add). The
     * two inputs may be one tensor (x*x): the two sums then add up. */
    for (int k = 0; k < 2; k++) {
        const soap_block *din = soap_ktask_din(t, k);
        if (!din)
            continue;
        for (soap_krows it = soap_krows_begin(&t->out); it.more; soap_krows_next(&it)) {
            const float *g = soap_krow(t->dy, &it);
            float *dx = soap_krow(din, &it);
            if (mul) {
                const float *other = soap_krow(&t->in[1 - k], &it);
                for (int64_t i = 0; i < it.len; i++)
                    dx[i] += g[i] * other[i];
            } else {
                for (int64_t i = 0; i < it.len; i++)
                    dx[i] += g[i];
            }
        }
    }
    return SOAP_OK;
}

const soap_cpu_kernel soap_cpu_kern_binary = {
    .kind = SOAP_OP_BINARY,
    .forward = binary_forward,
    .backward = binary_backward,
};

/* ------------------------------------------------------------------ */
/* SOFTMAX, SOFTMAX_CE                                                 */
/* ------------------------------------------------------------------ */
/* Softmax rows must be whole (the last dim is NONE, so every task's is). */
static void want_whole_rows(const soap_ktask *t)
{
    int last = t->out.ndims - 1;
    SOAP_ASSERT(t->out.lo[last] == 0 && t->out.hi[last] == t->o->out.size[last]);
}

static soap_status softmax_forward(const soap_ktask *t)
{
    want_whole_rows(t);
    for (soap_krows it = soap_krows_begin(&t->out); it.more; soap_krows_next(&it)) {
        const float *x = soap_krow(&t->in[0], &it);
        float *y = soap_krow(t->y, &it);
        int64_t n = it.len;
        float mx = x[0];
        for (int64_t i = 1; i < n; i++)
            mx = x[i] > mx ? x[i] : mx;
        double sum = 0.0;
        for (int64_t i = 0; i < n; i++) {
            y[i] = expf(x[i] - mx);
            sum += y[i];
        }
        float inv = (float)(1.0 / sum);
        for (int64_t i = 0; i < n; i++)
            y[i] *= inv;
    }
    return SOAP_OK;
}

static soap_status softmax_backward(const soap_ktask *t)
{
    want_whole_rows(t);
    const soap_block *din = soap_ktask_din(t, 0);
    if (!din)
        return SOAP_OK;
    for (soap_krows it = soap_krows_begin(&t->out); it.more; soap_krows_next(&it)) {
        const float *y = soap_krow(t->y, &it);
        const float *g = soap_krow(t->dy, &it);
        float *dx = soap_krow(din, &it);
        double dot = 0.0;
        for (int64_t i = 0; i < it.len; i++)
            dot += (double)g[i] * y[i];
        float fdot = (float)dot;
        for (int64_t i = 0; i < it.len; i++)
            dx[i] += y[i] * (g[i] - fdot);
    }
    return SOAP_OK;
}

const soap_cpu_kernel soap_cpu_kern_softmax = {
    .kind = SOAP_OP_SOFTMAX,
    .forward = softmax_forward,
    .backward = softmax_backward,
};

int64_t soap_cpu_softmax_ce_rows(const soap_graph *g, int op)
{
    SOAP_ASSERT(g != NULL && op >= 0 && op < g->nops);
    const soap_shape *s = &g->ops[op].out;
    SOAP_ASSERT(g->ops[op].kind == SOAP_OP_SOFTMAX_CE);
    return soap_shape_volume(s) / s->size[s->ndims - 1];
}

/* The label of the current row, checked against the class count. */
static soap_status row_label(const soap_ktask *t, const soap_krows *it, int64_t *label)
{
    const float *l = soap_krow(t->labels, it);
    soap_status st = soap_cpu_check_ids(t, l, 1, it->len, "label");
    *label = (int64_t)*l;
    return st;
}

static soap_status softmax_ce_backward(const soap_ktask *t)
{
    want_whole_rows(t);
    const soap_block *din = soap_ktask_din(t, 0);
    if (!din)
        return SOAP_OK;
    float scale = (float)(1.0 / (double)soap_cpu_softmax_ce_rows(t->g, t->op));
    for (soap_krows it = soap_krows_begin(&t->out); it.more; soap_krows_next(&it)) {
        int64_t label;
        soap_status st = row_label(t, &it, &label);
        if (st != SOAP_OK)
            return st;
        const float *y = soap_krow(t->y, &it);
        float *dx = soap_krow(din, &it);
        for (int64_t i = 0; i < it.len; i++)
            dx[i] += y[i] * scale;
        dx[label] -= scale;
    }
    return SOAP_OK;
}

const soap_cpu_kernel soap_cpu_kern_softmax_ce = {
    .kind = SOAP_OP_SOFTMAX_CE,
    .forward = softmax_forward,
    .backward = softmax_ce_backward,
};

soap_status soap_cpu_softmax_ce_loss(const soap_graph *g, int op, const soap_region *out,
                                     const soap_block *in0, const soap_block *labels,
                                     double *loss_sum, soap_error *err)
{
    SOAP_ASSERT(g != NULL && op >= 0 && op < g->nops && out != NULL && loss_sum != NULL);
    const soap_op *o = &g->ops[op];
    SOAP_ASSERT(o->kind == SOAP_OP_SOFTMAX_CE && out->ndims == o->out.ndims);
    soap_region full = soap_region_full(&o->out);
    SOAP_ASSERT(!soap_region_empty(out) && soap_region_contains(&full, out));
    SOAP_ASSERT(in0 && in0->data && soap_region_contains(&in0->region, out));
    SOAP_ASSERT(labels && labels->data && labels->region.ndims == out->ndims - 1);
    soap_ktask t = {.g = g, .o = o, .op = op, .out = *out, .labels = labels, .err = err};
    want_whole_rows(&t);
    *loss_sum = 0.0;
    double sum = 0.0;
    for (soap_krows it = soap_krows_begin(out); it.more; soap_krows_next(&it)) {
        int64_t label;
        soap_status st = row_label(&t, &it, &label);
        if (st != SOAP_OK)
            return st;
        const float *x = soap_krow(in0, &it);
        double mx = x[0];
        for (int64_t i = 1; i < it.len; i++)
            mx = x[i] > mx ? x[i] : mx;
        double e = 0.0;
        for (int64_t i = 0; i < it.len; i++)
            e += exp((double)x[i] - mx);
        sum += mx + log(e) - (double)x[label];
    }
    *loss_sum = sum;
    return SOAP_OK;
}
