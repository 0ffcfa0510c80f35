/* kern_recurrent.c: CPU kernels of LSTM (one cell step) and ATTENTION (one
 * decoder step), following core/ops/recurrent.c.
 *
 * A row input is [N,X] or an LSTM state [N,2,X] whose h (index 0 of dim 1)
 * is read; gradients of such an input go to its h slice.
 *
 * LSTM: x row of K, previous state [N,2,H] (h, c; zeros when the op has no
 * state input), w [4,H,K+H] with gate blocks in the order i, f, g, o and
 * columns x then h, b [4,H]. For hidden unit j:
 *   z_G = b[G,j] + w[G,j,:K] . x + w[G,j,K:] . h_prev   (G = i, f, g, o)
 *   i, f, o = sigmoid(z), g = tanh(z_g)
 *   c = f * c_prev[j] + i * g,  h = o * tanh(c);  out[n,0,j] = h, out[n,1,j] = c.
 * A task with hidden range [h0,h1) reads all of h_prev (the recurrent
 * product), c_prev[h0,h1), and rows [h0,h1) of every gate of w and b. Its
 * backward adds to all of dx and dh_prev (partial sums over its units) and
 * to dc_prev[h0,h1). Gates are computed in double; backward recomputes them.
 *
 * ATTENTION (dot-product scores, Luong-style output): with q the query row
 * and m_1..m_T the memory rows (all of width H):
 *   s_t = q . m_t,  a = softmax(s),  ctx = sum_t a_t m_t,
 *   out[n,j] = tanh(Wc[j,:H] . ctx + Wc[j,H:] . q),  Wc [H,2H]: columns
 *   [0,H) multiply ctx and [H,2H) the query (the order of "[ctx; q]").
 * Every task recomputes the scores and the context (redundant work of an H
 * split, as core counts it). Backward uses the saved output (tanh' = 1-y^2).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"

/* 1 if input i of the task's op is an LSTM state (read its h). */
static int in_state(const soap_ktask *t, int i)
{
    const soap_shape *s = &t->g->ops[t->o->inputs[i]].out;
    return s->ndims == 3 && s->size[1] == 2 && s->kind[1] == SOAP_DIM_NONE;
}

/* The row of sample n (its h for a state) in view v. */
static float *row_of(const soap_kview *v, int state, int64_t n)
{
    return state ? soap_kv3(v, n, 0, 0) : soap_kv2(v, n, 0);
}

static double sigmoid(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/* ------------------------------------------------------------------ */
/* LSTM                                                                */
/* ------------------------------------------------------------------ */
typedef struct lstm_geom {
    int64_t K, H, KH, n0, n1, h0, h1, nh;
    int x_state, has_state;
} lstm_geom;

static lstm_geom lstm_geom_of(const soap_ktask *t)
{
    lstm_geom g;
    const soap_shape *x = &t->g->ops[t->o->inputs[0]].out;
    g.K = x->size[x->ndims - 1];
    g.H = t->o->p.hidden;
    g.KH = g.K + g.H;
    g.n0 = t->out.lo[0];
    g.n1 = t->out.hi[0];
    g.h0 = t->out.lo[2];
    g.h1 = t->out.hi[2];
    g.nh = g.h1 - g.h0;
    g.x_state = in_state(t, 0);
    g.has_state = t->o->ninputs == 2;
    /* dim 1 (h, c) is NONE: a task always computes both. */
    SOAP_ASSERT(t->out.lo[1] == 0 && t->out.hi[1] == 2);
    return g;
}

/* [x; h_prev] of sample n into xh[KH]. */
static void lstm_xh(const soap_ktask *t, const lstm_geom *g, int64_t n, float *xh)
{
    soap_kview x = soap_kview_of(&t->in[0]);
    memcpy(xh, row_of(&x, g->x_state, n), (size_t)g->K * sizeof *xh);
    if (g->has_state) {
        soap_kview s = soap_kview_of(&t->in[1]);
        memcpy(xh + g->K, soap_kv3(&s, n, 0, 0), (size_t)g->H * sizeof *xh);
    } else {
        memset(xh + g->K, 0, (size_t)g->H * sizeof *xh);
    }
}

/* Gate activations act[G] (i, f, g, o) of unit j for input xh. */
static void lstm_gates(const soap_ktask *t, const lstm_geom *g, const float *xh, int64_t j,
                       double act[4])
{
    soap_kview w = soap_kview_of(&t->w[0]), b = soap_kview_of(&t->w[1]);
    for (int G = 0; G < 4; G++) {
        const float *wr = soap_kv3(&w, G, j, 0);
        double z = *soap_kv2(&b, G, j);
        for (int64_t k = 0; k < g->KH; k++)
            z += (double)wr[k] * xh[k];
        act[G] = G == 2 ? tanh(z) : sigmoid(z);
    }
}

static double lstm_c_prev(const soap_ktask *t, const lstm_geom *g, int64_t n, int64_t j)
{
    if (!g->has_state)
        return 0.0;
    soap_kview s = soap_kview_of(&t->in[1]);
    return *soap_kv3(&s, n, 1, j);
}

static soap_status lstm_forward(const soap_ktask *t)
{
    lstm_geom g = lstm_geom_of(t);
    soap_kview y = soap_kview_of(t->y);
    float *xh = soap_xmalloc((size_t)g.KH * sizeof *xh);
    for (int64_t n = g.n0; n < g.n1; n++) {
        lstm_xh(t, &g, n, xh);
        float *hr = soap_kv3(&y, n, 0, g.h0), *cr = soap_kv3(&y, n, 1, g.h0);
        for (int64_t j = g.h0; j < g.h1; j++) {
            double a[4];
            lstm_gates(t, &g, xh, j, a);
            double c = a[1] * lstm_c_prev(t, &g, n, j) + a[0] * a[2];
            cr[j - g.h0] = (float)c;
            hr[j - g.h0] = (float)(a[3] * tanh(c));
        }
    }
    free(xh);
    return SOAP_OK;
}

static soap_status lstm_backward(const soap_ktask *t)
{
    lstm_geom g = lstm_geom_of(t);
    int64_t nn = g.n1 - g.n0;
    const soap_block *dxb = soap_ktask_din(t, 0);
    const soap_block *dsb = g.has_state ? soap_ktask_din(t, 1) : NULL;
    const soap_block *dwb = soap_ktask_dw(t, 0), *dbb = soap_ktask_dw(t, 1);
    soap_kview dy = soap_kview_of(t->dy), w = soap_kview_of(&t->w[0]),
               dx = soap_kview_of(dxb), ds = soap_kview_of(dsb), dw = soap_kview_of(dwb),
               db = soap_kview_of(dbb);
    /* Saved per task: [x; h_prev] of every sample and dz[n][G][j]. */
    float *xh = soap_xmalloc((size_t)(nn * g.KH) * sizeof *xh);
    double *dz = soap_xmalloc((size_t)(nn * 4 * g.nh) * sizeof *dz);
    double *acc = soap_xmalloc((size_t)g.KH * sizeof *acc);
    for (int64_t n = g.n0; n < g.n1; n++) {
        float *xhn = xh + (n - g.n0) * g.KH;
        lstm_xh(t, &g, n, xhn);
        const float *dhr = soap_kv3(&dy, n, 0, g.h0), *dcr = soap_kv3(&dy, n, 1, g.h0);
        double *dzn = dz + (n - g.n0) * 4 * g.nh;
        for (int64_t j = g.h0; j < g.h1; j++) {
            double a[4];
            lstm_gates(t, &g, xhn, j, a);
            double cp = lstm_c_prev(t, &g, n, j);
            double c = a[1] * cp + a[0] * a[2], tc = tanh(c);
            double dh = dhr[j - g.h0];
            double dc = dcr[j - g.h0] + dh * a[3] * (1.0 - tc * tc);
            int64_t jj = j - g.h0;
            dzn[0 * g.nh + jj] = dc * a[2] * a[0] * (1.0 - a[0]);  /* i */
            dzn[1 * g.nh + jj] = dc * cp * a[1] * (1.0 - a[1]);    /* f */
            dzn[2 * g.nh + jj] = dc * a[0] * (1.0 - a[2] * a[2]);  /* g */
            dzn[3 * g.nh + jj] = dh * tc * a[3] * (1.0 - a[3]);    /* o */
            if (dsb)
                *soap_kv3(&ds, n, 1, j) += (float)(dc * a[1]);
        }
        /* d[x; h_prev] = sum_{G,j} dz * w[G,j,:] */
        if (dxb || dsb) {
            memset(acc, 0, (size_t)g.KH * sizeof *acc);
            for (int G = 0; G < 4; G++)
                for (int64_t j = g.h0; j < g.h1; j++) {
                    double d = dzn[G * g.nh + (j - g.h0)];
                    const float *wr = soap_kv3(&w, G, j, 0);
                    for (int64_t k = 0; k < g.KH; k++)
                        acc[k] += d * wr[k];
                }
            if (dxb) {
                float *dxr = row_of(&dx, g.x_state, n);
                for (int64_t k = 0; k < g.K; k++)
                    dxr[k] += (float)acc[k];
            }
            if (dsb) {
                float *dhp = soap_kv3(&ds, n, 0, 0);
                for (int64_t k = 0; k < g.H; k++)
                    dhp[k] += (float)acc[g.K + k];
            }
        }
    }
    /* dw[G,j,:] += sum_n dz[n][G][j] * [x; h_prev]_n;  db[G,j] += sum_n dz */
    if (dwb || dbb)
        for (int G = 0; G < 4; G++)
            for (int64_t j = g.h0; j < g.h1; j++) {
                memset(acc, 0, (size_t)g.KH * sizeof *acc);
                double sb = 0.0;
                for (int64_t n = 0; n < nn; n++) {
                    double d = dz[(n * 4 + G) * g.nh + (j - g.h0)];
                    const float *xhn = xh + n * g.KH;
                    sb += d;
                    for (int64_t k = 0; k < g.KH; k++)
                        acc[k] += d * xhn[k];
                }
                if (dwb) {
                    float *dwr = soap_kv3(&dw, G, j, 0);
                    for (int64_t k = 0; k < g.KH; k++)
                        dwr[k] += (float)acc[k];
                }
                if (dbb)
                    *soap_kv2(&db, G, j) += (float)sb;
            }
    free(acc);
    free(dz);
    free(xh);
    return SOAP_OK;
}

const soap_cpu_kernel soap_cpu_kern_lstm = {
    .kind = SOAP_OP_LSTM,
    .forward = lstm_forward,
    .backward = lstm_backward,
};

/* ------------------------------------------------------------------ */
/* ATTENTION                                                           */
/* ------------------------------------------------------------------ */
typedef struct attn_ctx {
    int64_t H, T;
    const float **m; /* [T] memory rows of the current sample */
    double *a;       /* [T] attention weights */
    double *ctx;     /* [H] context */
} attn_ctx;

static attn_ctx attn_new(const soap_ktask *t)
{
    attn_ctx c;
    c.H = t->o->out.size[1];
    c.T = t->o->ninputs - 1;
    c.m = soap_xmalloc((size_t)c.T * sizeof *c.m);
    c.a = soap_xmalloc((size_t)c.T * sizeof *c.a);
    c.ctx = soap_xmalloc((size_t)c.H * sizeof *c.ctx);
    return c;
}

static void attn_free(attn_ctx *c)
{
    free(c->m);
    free(c->a);
    free(c->ctx);
}

/* Memory rows, weights and context of sample n; returns the query row. */
static const float *attn_sample(const soap_ktask *t, attn_ctx *c, int64_t n)
{
    soap_kview q = soap_kview_of(&t->in[0]);
    const float *qr = row_of(&q, in_state(t, 0), n);
    double mx = -INFINITY;
    for (int64_t s = 0; s < c->T; s++) {
        soap_kview m = soap_kview_of(&t->in[1 + s]);
        c->m[s] = row_of(&m, in_state(t, 1 + (int)s), n);
        double d = 0.0;
        for (int64_t k = 0; k < c->H; k++)
            d += (double)qr[k] * c->m[s][k];
        c->a[s] = d;
        mx = d > mx ? d : mx;
    }
    double sum = 0.0;
    for (int64_t s = 0; s < c->T; s++) {
        c->a[s] = exp(c->a[s] - mx);
        sum += c->a[s];
    }
    memset(c->ctx, 0, (size_t)c->H * sizeof *c->ctx);
    for (int64_t s = 0; s < c->T; s++) {
        c->a[s] /= sum;
        for (int64_t k = 0; k < c->H; k++)
            c->ctx[k] += c->a[s] * c->m[s][k];
    }
    return qr;
}

static soap_status attention_forward(const soap_ktask *t)
{
    attn_ctx c = attn_new(t);
    soap_kview w = soap_kview_of(&t->w[0]), y = soap_kview_of(t->y);
    int64_t H = c.H;
    for (int64_t n = t->out.lo[0]; n < t->out.hi[0]; n++) {
        const float *qr = attn_sample(t, &c, n);
        float *yr = soap_kv2(&y, n, t->out.lo[1]);
        for (int64_t j = t->out.lo[1]; j < t->out.hi[1]; j++) {
            const float *wr = soap_kv2(&w, j, 0);
            double z = 0.0;
            for (int64_t k = 0; k < H; k++)
                z += wr[k] * c.ctx[k] + (double)wr[H + k] * qr[k];
            yr[j - t->out.lo[1]] = (float)tanh(z);
        }
    }
    attn_free(&c);
    return SOAP_OK;
}

static soap_status attention_backward(const soap_ktask *t)
{
    attn_ctx c = attn_new(t);
    int64_t H = c.H, T = c.T, j0 = t->out.lo[1], nj = t->out.hi[1] - j0;
    const soap_block *dwb = soap_ktask_dw(t, 0);
    soap_kview w = soap_kview_of(&t->w[0]), y = soap_kview_of(t->y),
               dy = soap_kview_of(t->dy), dw = soap_kview_of(dwb);
    double *dctx = soap_xmalloc((size_t)H * sizeof *dctx);
    double *dq = soap_xmalloc((size_t)H * sizeof *dq);
    double *dz = soap_xmalloc((size_t)nj * sizeof *dz);
    double *da = soap_xmalloc((size_t)T * sizeof *da);
    double *dwacc = dwb ? soap_xcalloc((size_t)(nj * 2 * H), sizeof *dwacc) : NULL;
    for (int64_t n = t->out.lo[0]; n < t->out.hi[0]; n++) {
        const float *qr = attn_sample(t, &c, n);
        const float *yr = soap_kv2(&y, n, j0), *gr = soap_kv2(&dy, n, j0);
        memset(dctx, 0, (size_t)H * sizeof *dctx);
        memset(dq, 0, (size_t)H * sizeof *dq);
        for (int64_t j = 0; j < nj; j++) {
            dz[j] = (double)gr[j] * (1.0 - (double)yr[j] * yr[j]);
            const float *wr = soap_kv2(&w, j0 + j, 0);
            for (int64_t k = 0; k < H; k++) {
                dctx[k] += dz[j] * wr[k];
                dq[k] += dz[j] * wr[H + k];
            }
            if (dwacc) {
                double *dr = dwacc + j * 2 * H;
                for (int64_t k = 0; k < H; k++) {
                    dr[k] += dz[j] * c.ctx[k];
                    dr[H + k] += dz[j] * qr[k];
                }
            }
        }
        /* Through the context and the softmax of the scores. */
        double sa = 0.0;
        for (int64_t s = 0; s < T; s++) {
            double d = 0.0;
            for (int64_t k = 0; k < H; k++)
                d += dctx[k] * c.m[s][k];
            da[s] = d;
            sa += c.a[s] * d;
        }
        for (int64_t s = 0; s < T; s++) {
            double dsc = c.a[s] * (da[s] - sa); /* d score s */
            for (int64_t k = 0; k < H; k++)
                dq[k] += dsc * c.m[s][k];
            const soap_block *dmb = soap_ktask_din(t, 1 + (int)s);
            if (!dmb)
                continue;
            soap_kview dm = soap_kview_of(dmb);
            float *dmr = row_of(&dm, in_state(t, 1 + (int)s), n);
            for (int64_t k = 0; k < H; k++)
                dmr[k] += (float)(c.a[s] * dctx[k] + dsc * qr[k]);
        }
        const soap_block *dqb = soap_ktask_din(t, 0);
        if (dqb) {
            soap_kview dqv = soap_kview_of(dqb);
            float *dqr = row_of(&dqv, in_state(t, 0), n);
            for (int64_t k = 0; k < H; k++)
                dqr[k] += (float)dq[k];
        }
    }
    if (dwacc) {
        for (int64_t j = 0; j < nj; j++) {
            float *dr = soap_kv2(&dw, j0 + j, 0);
            for (int64_t k = 0; k < 2 * H; k++)
                dr[k] += (float)dwacc[j * 2 * H + k];
        }
        free(dwacc);
    }
    free(da);
    free(dz);
    free(dq);
    free(dctx);
    attn_free(&c);
    return SOAP_OK;
}

const soap_cpu_kernel soap_cpu_kern_attention = {
    .kind = SOAP_OP_ATTENTION,
    .forward = attention_forward,
    .backward = attention_backward,
};
