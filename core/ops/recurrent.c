/* recurrent.c: the operator kinds of the RNN models: LSTM (one cell step)
 * and ATTENTION (one step of an NMT decoder's attention).
 *
 * A tensor [N,2,X] (3-D, size[1] == 2, dim 1 NONE) is an LSTM state: index 0
 * of dim 1 is h, index 1 is c. Where such a tensor is consumed as a plain
 * input only its h slice is read.
 *
 * LSTM: inputs x ([N,K], or a lower layer's state [N,2,K]) and optionally the
 * previous state [N,2,H]. Output: the new state [N,2,H]; kinds N SAMPLE, the
 * h/c dim NONE, H PARAMETER. Weights w [4,H,K+H] (gates i, f, g, o: one row
 * block of H per gate; columns: x then h) and b [4,H]. A task with hidden
 * range [h0,h1) needs: of x, its samples (h slice) with all K; of the state,
 * its samples, both h and c, all H (the recurrent product needs all of h;
 * only c[h0,h1) is really read, so c is over-approximated by H - (h1-h0)
 * columns); of w and b, all 4 gates, rows [h0,h1), all K+H columns.
 * FLOP forward = 2*n*4*h*(K+H) for the gate products + 10*n*h elementwise
 * (bias, 3 sigmoids, tanh, c and h updates), n and h the task's extents;
 * backward = 2x forward.
 *
 * ATTENTION (dot-product scores, Luong-style output): inputs query ([N,2,H]
 * state, h used, or [N,H]) then T >= 1 memory inputs, each [N,2,H] or [N,H]
 * (the encoder's top-layer outputs, one per step). Output [N,H]; kinds
 * N SAMPLE, H PARAMETER. Weight Wc [H,2H], no bias: out = tanh(Wc [ctx; q]).
 * Every task needs its samples of the query and of every memory input with
 * all H (scores and context span H), and rows [h0,h1) of Wc. FLOP forward =
 * scores 2*n*T*H + context 2*n*T*H (repeated by every task of an H split:
 * that is real redundant work) + output 2*n*h*2H; backward = 2x forward.
 */
#include "ops_internal.h"

#define LSTM_ELEMWISE_FLOP 10.0 /* per sample and hidden unit */

#define state_shaped soap_ops_state_shaped

/* Checks that input i is [N,X] or a state [N,2,X]; gives X. */
static soap_status want_rows(soap_error *err, const char *name, soap_op_kind kind, int i,
                             const soap_shape *in, const char *what, int64_t *x)
{
    if (in->ndims != 2 && !state_shaped(in)) {
        char got[96];
        return soap_ops_fail(err, name, kind, "input %d (%s) must be [N,%s] or a state "
                             "[N,2,%s], got %s", i, what, kind == SOAP_OP_LSTM ? "K" : "H",
                             kind == SOAP_OP_LSTM ? "K" : "H",
                             soap_shape_str(in, got, sizeof got));
    }
    *x = in->size[in->ndims - 1];
    return SOAP_OK;
}

/* Region of a row input [N,X] / state [N,2,X]: samples [n0,n1), the h slice,
 * all X. */
static soap_region rows_region(const soap_shape *in, int64_t n0, int64_t n1)
{
    soap_region r = soap_region_full(in);
    r.lo[0] = n0;
    r.hi[0] = n1;
    if (state_shaped(in))
        r.hi[1] = 1;
    return r;
}

static soap_status same_batch(soap_error *err, const char *name, soap_op_kind kind,
                              const soap_shape *const *in, int ninputs)
{
    for (int i = 1; i < ninputs; i++)
        if (in[i]->size[0] != in[0]->size[0])
            return soap_ops_fail(err, name, kind,
                                 "input %d has %lld samples, input 0 has %lld", i,
                                 (long long)in[i]->size[0], (long long)in[0]->size[0]);
    return SOAP_OK;
}

/* ------------------------------------------------------------------ */
/* LSTM                                                                */
/* ------------------------------------------------------------------ */
static soap_status lstm_infer(const char *name, const soap_op_params *p,
                              const soap_shape *const *in, int ninputs, soap_shape *out,
                              soap_error *err)
{
    if (p->hidden < 1)
        return soap_ops_fail(err, name, SOAP_OP_LSTM, "hidden %lld, expected >= 1",
                             (long long)p->hidden);
    int64_t k = 0;
    soap_status st = want_rows(err, name, SOAP_OP_LSTM, 0, in[0], "x", &k);
    if (st != SOAP_OK)
        return st;
    if (ninputs == 2) {
        const soap_shape *s = in[1];
        if (!state_shaped(s) || s->size[2] != p->hidden) {
            char got[96];
            return soap_ops_fail(err, name, SOAP_OP_LSTM,
                                 "input 1 (state) must be [N,2,%lld], got %s",
                                 (long long)p->hidden, soap_shape_str(s, got, sizeof got));
        }
    }
    st = same_batch(err, name, SOAP_OP_LSTM, in, ninputs);
    if (st != SOAP_OK)
        return st;
    const int64_t size[3] = {in[0]->size[0], 2, p->hidden};
    const soap_dim_kind kind[3] = {SOAP_DIM_SAMPLE, SOAP_DIM_NONE, SOAP_DIM_PARAMETER};
    *out = soap_ops_shape(3, size, kind);
    return SOAP_OK;
}

static int64_t lstm_k(const soap_graph *g, const soap_op *o)
{
    const soap_shape *x = soap_ops_in(g, o, 0);
    return x->size[x->ndims - 1];
}

static int lstm_weights(const soap_graph *g, const soap_op *o, soap_shape *w)
{
    const int64_t h = o->p.hidden;
    const int64_t size[3] = {4, h, lstm_k(g, o) + h};
    const soap_dim_kind kind[3] = {SOAP_DIM_NONE, SOAP_DIM_PARAMETER, SOAP_DIM_NONE};
    w[0] = soap_ops_shape(3, size, kind);
    w[1] = soap_ops_shape(2, size, kind);
    return 2;
}

static soap_region lstm_input_region(const soap_graph *g, const soap_op *o, int i,
                                     const soap_region *out)
{
    const soap_shape *in = soap_ops_in(g, o, i);
    if (i == 0)
        return rows_region(in, out->lo[0], out->hi[0]);
    /* The previous state: h whole for the recurrent product; c whole too,
     * an over-approximation (only c[h0,h1) is read). */
    soap_region r = soap_region_full(in);
    r.lo[0] = out->lo[0];
    r.hi[0] = out->hi[0];
    return r;
}

static soap_region lstm_weight_region(const soap_graph *g, const soap_op *o, int w,
                                      const soap_region *out)
{
    soap_region r = soap_region_full(&g->weights[o->weights[w]].shape);
    r.lo[1] = out->lo[2];
    r.hi[1] = out->hi[2];
    return r;
}

static void lstm_flops(const soap_graph *g, const soap_op *o, const soap_region *out,
                       double *fwd, double *bwd)
{
    double n = (double)(out->hi[0] - out->lo[0]);
    double h = (double)(out->hi[2] - out->lo[2]);
    double kh = (double)(lstm_k(g, o) + o->p.hidden);
    *fwd = 2.0 * n * 4.0 * h * kh + LSTM_ELEMWISE_FLOP * n * h;
    *bwd = 2.0 * *fwd;
}

static void lstm_signature(const soap_graph *g, const soap_op *o, char *buf, size_t len)
{
    soap_ops_appendf(buf, len, " h%lld", (long long)o->p.hidden);
}

const soap_op_ops soap_opkind_lstm = {
    .kind = SOAP_OP_LSTM,
    .min_inputs = 1,
    .max_inputs = 2,
    .weight_names = {"w", "b"},
    .infer = lstm_infer,
    .weights = lstm_weights,
    .input_region = lstm_input_region,
    .weight_region = lstm_weight_region,
    .flops = lstm_flops,
    .signature = lstm_signature,
};

/* ------------------------------------------------------------------ */
/* ATTENTION                                                           */
/* ------------------------------------------------------------------ */
static soap_status attention_infer(const char *name, const soap_op_params *p,
                                   const soap_shape *const *in, int ninputs, soap_shape *out,
                                   soap_error *err)
{
    int64_t h = 0;
    soap_status st = want_rows(err, name, SOAP_OP_ATTENTION, 0, in[0], "query", &h);
    if (st != SOAP_OK)
        return st;
    for (int i = 1; i < ninputs; i++) {
        int64_t hi = 0;
        st = want_rows(err, name, SOAP_OP_ATTENTION, i, in[i], "memory", &hi);
        if (st != SOAP_OK)
            return st;
        if (hi != h)
            return soap_ops_fail(err, name, SOAP_OP_ATTENTION,
                                 "input %d (memory) has width %lld, the query has %lld", i,
                                 (long long)hi, (long long)h);
    }
    st = same_batch(err, name, SOAP_OP_ATTENTION, in, ninputs);
    if (st != SOAP_OK)
        return st;
    const int64_t size[2] = {in[0]->size[0], h};
    const soap_dim_kind kind[2] = {SOAP_DIM_SAMPLE, SOAP_DIM_PARAMETER};
    *out = soap_ops_shape(2, size, kind);
    return SOAP_OK;
}

static int attention_weights(const soap_graph *g, const soap_op *o, soap_shape *w)
{
    const int64_t size[2] = {o->out.size[1], 2 * o->out.size[1]};
    const soap_dim_kind kind[2] = {SOAP_DIM_PARAMETER, SOAP_DIM_NONE};
    w[0] = soap_ops_shape(2, size, kind);
    return 1;
}

static soap_region attention_input_region(const soap_graph *g, const soap_op *o, int i,
                                          const soap_region *out)
{
    return rows_region(soap_ops_in(g, o, i), out->lo[0], out->hi[0]);
}

static soap_region attention_weight_region(const soap_graph *g, const soap_op *o, int w,
                                           const soap_region *out)
{
    soap_region r = soap_region_full(&g->weights[o->weights[w]].shape);
    r.lo[0] = out->lo[1];
    r.hi[0] = out->hi[1];
    return r;
}

static void attention_flops(const soap_graph *g, const soap_op *o, const soap_region *out,
                            double *fwd, double *bwd)
{
    double n = (double)(out->hi[0] - out->lo[0]);
    double h = (double)(out->hi[1] - out->lo[1]);
    double H = (double)o->out.size[1];
    double t = (double)(o->ninputs - 1);
    *fwd = 2.0 * n * t * H + 2.0 * n * t * H + 2.0 * n * h * 2.0 * H;
    *bwd = 2.0 * *fwd;
}

const soap_op_ops soap_opkind_attention = {
    .kind = SOAP_OP_ATTENTION,
    .min_inputs = 2,
    .max_inputs = -1,
    .weight_names = {"w"},
    .infer = attention_infer,
    .weights = attention_weights,
    .input_region = attention_input_region,
    .weight_region = attention_weight_region,
    .flops = attention_flops,
};
