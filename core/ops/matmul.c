/* matmul.c: the MATMUL operator kind, the weightless batched products of a
 * Transformer's self-attention (see soap_core.h for the three modes).
 *
 * PLAIN: A[..., M, K] x B[..., K, P] (B[..., P, K] if trans_b) -> [..., M, P];
 *   leading dims must match. Kinds: dim 0 SAMPLE, the others ATTRIBUTE. A
 *   task needs its leading ranges and M range of A with all K, and its
 *   leading ranges and P range of B with all K.
 * QK: Q[N,T,D] x K[N,T,D], `heads` heads of dh = D/heads -> [N,heads,T,T];
 *   kinds N SAMPLE, heads/T/T ATTRIBUTE. A task (n, head range, query range,
 *   key range) needs Q[n, query range, head range * dh] and
 *   K[n, key range, head range * dh].
 * PV: P[N,heads,T,T] x V[N,T,D] -> [N,T,D]; kinds N SAMPLE, T and D
 *   ATTRIBUTE. A task (n, t range, d range) needs P[n, the heads covering its
 *   d range, t range, all keys] and V[n, all T, d range].
 * FLOP: 2*M*K*P per batch element, i.e. 2*vol(out)*(reduced length):
 *   K for PLAIN, dh for QK, T for PV. Backward = 2x forward (gradients of
 *   both operands).
 */
#include "ops_internal.h"

static soap_status plain_infer(const char *name, const soap_op_params *p, const soap_shape *a,
                               const soap_shape *b, soap_shape *out, soap_error *err)
{
    soap_status st =
        soap_ops_want_ndims(err, name, SOAP_OP_MATMUL, 0, a, 2, SOAP_MAX_DIMS, "[...,M,K]");
    if (st != SOAP_OK)
        return st;
    char sa[96], sb[96];
    soap_shape_str(a, sa, sizeof sa);
    soap_shape_str(b, sb, sizeof sb);
    int nd = a->ndims;
    int fits = b->ndims == nd;
    for (int d = 0; fits && d < nd - 2; d++)
        fits = a->size[d] == b->size[d];
    if (!fits)
        return soap_ops_fail(err, name, SOAP_OP_MATMUL,
                             "inputs %s and %s: expected equal ndims and equal leading dims",
                             sa, sb);
    int64_t k = a->size[nd - 1];
    int64_t bk = p->trans_b ? b->size[nd - 1] : b->size[nd - 2];
    int64_t bp = p->trans_b ? b->size[nd - 2] : b->size[nd - 1];
    if (bk != k)
        return soap_ops_fail(err, name, SOAP_OP_MATMUL,
                             "inputs %s and %s%s: inner dims %lld and %lld differ", sa, sb,
                             p->trans_b ? " (B transposed)" : "", (long long)k, (long long)bk);
    *out = soap_ops_shape(nd, a->size, NULL);
    out->size[nd - 1] = bp;
    out->kind[0] = SOAP_DIM_SAMPLE;
    for (int d = 1; d < nd; d++)
        out->kind[d] = SOAP_DIM_ATTRIBUTE;
    return SOAP_OK;
}

/* Checks heads >= 1 and that they divide d. */
static soap_status want_heads(const char *name, int heads, int64_t d, soap_error *err)
{
    if (heads < 1 || d % heads != 0)
        return soap_ops_fail(err, name, SOAP_OP_MATMUL,
                             "heads %d, expected >= 1 and dividing the width %lld", heads,
                             (long long)d);
    return SOAP_OK;
}

static soap_status qk_infer(const char *name, const soap_op_params *p, const soap_shape *q,
                            const soap_shape *k, soap_shape *out, soap_error *err)
{
    soap_status st = soap_ops_want_ndims(err, name, SOAP_OP_MATMUL, 0, q, 3, 3, "Q [N,T,D]");
    if (st != SOAP_OK)
        return st;
    if (!soap_shape_equal_sizes(q, k)) {
        char sq[96], sk[96];
        return soap_ops_fail(err, name, SOAP_OP_MATMUL,
                             "Q %s and K %s: expected equal sizes [N,T,D]",
                             soap_shape_str(q, sq, sizeof sq), soap_shape_str(k, sk, sizeof sk));
    }
    st = want_heads(name, p->heads, q->size[2], err);
    if (st != SOAP_OK)
        return st;
    const int64_t size[4] = {q->size[0], p->heads, q->size[1], q->size[1]};
    const soap_dim_kind kind[4] = {SOAP_DIM_SAMPLE, SOAP_DIM_ATTRIBUTE, SOAP_DIM_ATTRIBUTE,
                                   SOAP_DIM_ATTRIBUTE};
    *out = soap_ops_shape(4, size, kind);
    return SOAP_OK;
}

static soap_status pv_infer(const char *name, const soap_op_params *p, const soap_shape *pr,
                            const soap_shape *v, soap_shape *out, soap_error *err)
{
    soap_status st =
        soap_ops_want_ndims(err, name, SOAP_OP_MATMUL, 0, pr, 4, 4, "P [N,heads,T,T]");
    if (st == SOAP_OK)
        st = soap_ops_want_ndims(err, name, SOAP_OP_MATMUL, 1, v, 3, 3, "V [N,T,D]");
    if (st != SOAP_OK)
        return st;
    if (pr->size[1] != p->heads || pr->size[2] != pr->size[3] || v->size[0] != pr->size[0] ||
        v->size[1] != pr->size[2]) {
        char sp[96], sv[96];
        return soap_ops_fail(err, name, SOAP_OP_MATMUL,
                             "P %s and V %s: expected P [N,%d,T,T] and V [N,T,D]",
                             soap_shape_str(pr, sp, sizeof sp), soap_shape_str(v, sv, sizeof sv),
                             p->heads);
    }
    st = want_heads(name, p->heads, v->size[2], err);
    if (st != SOAP_OK)
        return st;
    const soap_dim_kind kind[3] = {SOAP_DIM_SAMPLE, SOAP_DIM_ATTRIBUTE, SOAP_DIM_ATTRIBUTE};
    *out = soap_ops_shape(3, v->size, kind);
    return SOAP_OK;
}

static soap_status matmul_infer(const char *name, const soap_op_params *p,
                                const soap_shape *const *in, int ninputs, soap_shape *out,
                                soap_error *err)
{
    switch (p->matmul) {
    case SOAP_MATMUL_PLAIN: return plain_infer(name, p, in[0], in[1], out, err);
    case SOAP_MATMUL_QK: return qk_infer(name, p, in[0], in[1], out, err);
    case SOAP_MATMUL_PV: return pv_infer(name, p, in[0], in[1], out, err);
    case SOAP_MATMUL_MODE_COUNT: break;
    }
    return soap_ops_fail(err, name, SOAP_OP_MATMUL,
                         "unknown matmul mode %d, expected plain, qk or pv", (int)p->matmul);
}

/* Width of one head (QK, PV). */
static int64_t head_width(const soap_graph *g, const soap_op *o)
{
    const soap_shape *d = soap_ops_in(g, o, o->p.matmul == SOAP_MATMUL_QK ? 0 : 1);
    return d->size[2] / o->p.heads;
}

static soap_region matmul_input_region(const soap_graph *g, const soap_op *o, int i,
                                       const soap_region *out)
{
    const soap_shape *in = soap_ops_in(g, o, i);
    soap_region r = soap_region_full(in);
    int nd = out->ndims;
    switch (o->p.matmul) {
    case SOAP_MATMUL_PLAIN:
        for (int d = 0; d < nd - 2; d++) {
            r.lo[d] = out->lo[d];
            r.hi[d] = out->hi[d];
        }
        if (i == 0) { /* A: rows M of the task, all K */
            r.lo[nd - 2] = out->lo[nd - 2];
            r.hi[nd - 2] = out->hi[nd - 2];
        } else { /* B: columns P of the task, all K */
            int pd = o->p.trans_b ? nd - 2 : nd - 1;
            r.lo[pd] = out->lo[nd - 1];
            r.hi[pd] = out->hi[nd - 1];
        }
        return r;
    case SOAP_MATMUL_QK: {
        int64_t dh = head_width(g, o);
        r.lo[0] = out->lo[0];
        r.hi[0] = out->hi[0];
        /* Q: query rows (out dim 2); K: key rows (out dim 3). */
        r.lo[1] = out->lo[i == 0 ? 2 : 3];
        r.hi[1] = out->hi[i == 0 ? 2 : 3];
        r.lo[2] = out->lo[1] * dh;
        r.hi[2] = out->hi[1] * dh;
        return r;
    }
    case SOAP_MATMUL_PV: {
        r.lo[0] = out->lo[0];
        r.hi[0] = out->hi[0];
        if (i == 0) { /* P: heads covering the D range, the task's rows, all keys */
            int64_t dh = head_width(g, o);
            r.lo[1] = out->lo[2] / dh;
            r.hi[1] = (out->hi[2] + dh - 1) / dh;
            r.lo[2] = out->lo[1];
            r.hi[2] = out->hi[1];
        } else { /* V: all T, the D range */
            r.lo[2] = out->lo[2];
            r.hi[2] = out->hi[2];
        }
        return r;
    }
    case SOAP_MATMUL_MODE_COUNT: break;
    }
    SOAP_ASSERT(!"matmul mode checked when the op was added");
    return r;
}

static void matmul_flops(const soap_graph *g, const soap_op *o, const soap_region *out,
                         double *fwd, double *bwd)
{
    double reduced;
    switch (o->p.matmul) {
    case SOAP_MATMUL_PLAIN: {
        const soap_shape *a = soap_ops_in(g, o, 0);
        reduced = (double)a->size[a->ndims - 1];
        break;
    }
    case SOAP_MATMUL_QK: reduced = (double)head_width(g, o); break;
    default: reduced = (double)soap_ops_in(g, o, 1)->size[1]; break; /* PV: T */
    }
    *fwd = 2.0 * (double)soap_region_volume(out) * reduced;
    *bwd = 2.0 * *fwd;
}

static void matmul_signature(const soap_graph *g, const soap_op *o, char *buf, size_t len)
{
    soap_ops_appendf(buf, len, " %s", soap_matmul_mode_name(o->p.matmul));
    if (o->p.matmul == SOAP_MATMUL_PLAIN)
        soap_ops_appendf(buf, len, " transb%d", o->p.trans_b ? 1 : 0);
    else
        soap_ops_appendf(buf, len, " heads%d", o->p.heads);
}

const soap_op_ops soap_opkind_matmul = {
    .kind = SOAP_OP_MATMUL,
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = matmul_infer,
    .input_region = matmul_input_region,
    .flops = matmul_flops,
    .signature = matmul_signature,
};
