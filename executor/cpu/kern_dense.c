/* kern_dense.c: CPU kernels of LINEAR and EMBEDDING.
 *
 * LINEAR: y[row, f] = b[f] + sum_k w[f,k] * x[row, k], w [F,K] row-major
 * (row f holds the K input weights of output feature f), b [F]. A row is a
 * sample n ([N,K] -> [N,F]), a pair (n, t) ([N,T,K] -> [N,T,F]), or the h of
 * an LSTM state ([N,2,K] -> [N,F], reading x[n, 0, :]). A task computes its
 * rows and its F range; dot products, the input-gradient row and the weight
 * gradient rows accumulate in double.
 *
 * EMBEDDING: y[row, e] = w[id(row), e], w [V,E], the ids read from the
 * index input as floats and checked to be integers in [0, V) (exact for
 * V <= 2^24). Backward scatter-adds dy into the rows of dw; ids get no
 * gradient.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"

/* ------------------------------------------------------------------ */
/* LINEAR                                                              */
/* ------------------------------------------------------------------ */
typedef struct lin_geom {
    int state;     /* input is an LSTM state: read its h */
    int out_nd;    /* 2 or 3 */
    int64_t k;     /* input features */
} lin_geom;

static lin_geom lin_geom_of(const soap_ktask *t)
{
    const soap_shape *in = &t->g->ops[t->o->inputs[0]].out;
    lin_geom g;
    g.state = in->ndims == 3 && in->size[1] == 2 && in->kind[1] == SOAP_DIM_NONE;
    g.out_nd = t->out.ndims;
    g.k = in->size[in->ndims - 1];
    return g;
}

/* The input row (all K) of the output row at leading coordinates x. */
static float *lin_row(const soap_kview *v, const lin_geom *g, const int64_t *x)
{
    if (g->state)
        return soap_kv3(v, x[0], 0, 0);
    if (g->out_nd == 3)
        return soap_kv3(v, x[0], x[1], 0);
    return soap_kv2(v, x[0], 0);
}

static soap_status linear_forward(const soap_ktask *t)
{
    lin_geom geo = lin_geom_of(t);
    int fd = t->out.ndims - 1;
    int64_t f0 = t->out.lo[fd], K = geo.k;
    soap_kview x = soap_kview_of(&t->in[0]), w = soap_kview_of(&t->w[0]);
    soap_kview b = soap_kview_of(t->o->p.has_bias ? &t->w[1] : NULL);
    for (soap_krows it = soap_krows_begin(&t->out); it.more; soap_krows_next(&it)) {
        const float *xr = lin_row(&x, &geo, it.x);
        float *y = soap_krow(t->y, &it);
        for (int64_t j = 0; j < it.len; j++) {
            const float *wr = soap_kv2(&w, f0 + j, 0);
            double s = b.p ? *soap_kv1(&b, f0 + j) : 0.0;
            for (int64_t k = 0; k < K; k++)
                s += (double)wr[k] * xr[k];
            y[j] = (float)s;
        }
    }
    return SOAP_OK;
}

static soap_status linear_backward(const soap_ktask *t)
{
    lin_geom geo = lin_geom_of(t);
    int fd = t->out.ndims - 1;
    int64_t f0 = t->out.lo[fd], nf = t->out.hi[fd] - f0, K = geo.k;
    const soap_block *dinb = soap_ktask_din(t, 0);
    const soap_block *dwb = soap_ktask_dw(t, 0);
    const soap_block *dbb = t->o->p.has_bias ? soap_ktask_dw(t, 1) : NULL;
    soap_kview x = soap_kview_of(&t->in[0]), w = soap_kview_of(&t->w[0]),
               dx = soap_kview_of(dinb), dw = soap_kview_of(dwb), db = soap_kview_of(dbb);
    double *acc = soap_xmalloc((size_t)K * sizeof *acc);

    /* dx[row, k] += sum_f dy[row, f] * w[f, k] */
    if (dinb)
        for (soap_krows it = soap_krows_begin(&t->out); it.more; soap_krows_next(&it)) {
            const float *g = soap_krow(t->dy, &it);
            memset(acc, 0, (size_t)K * sizeof *acc);
            for (int64_t j = 0; j < nf; j++) {
                const float *wr = soap_kv2(&w, f0 + j, 0);
                double gj = g[j];
                for (int64_t k = 0; k < K; k++)
                    acc[k] += gj * wr[k];
            }
            float *dxr = lin_row(&dx, &geo, it.x);
            for (int64_t k = 0; k < K; k++)
                dxr[k] += (float)acc[k];
        }

    /* dw[f, k] += sum_rows dy[row, f] * x[row, k]; db[f] += sum_rows dy[row, f] */
    if (dwb || dbb)
        for (int64_t j = 0; j < nf; j++) {
            memset(acc, 0, (size_t)K * sizeof *acc);
            double sb = 0.0;
            for (soap_krows it = soap_krows_begin(&t->out); it.more; soap_krows_next(&it)) {
                double gj = soap_krow(t->dy, &it)[j];
                sb += gj;
                if (!dwb)
                    continue;
                const float *xr = lin_row(&x, &geo, it.x);
                for (int64_t k = 0; k < K; k++)
                    acc[k] += gj * xr[k];
            }
            if (dwb) {
                float *dwr = soap_kv2(&dw, f0 + j, 0);
                for (int64_t k = 0; k < K; k++)
                    dwr[k] += (float)acc[k];
            }
            if (dbb)
                *soap_kv1(&db, f0 + j) += (float)sb;
        }
    free(acc);
    return SOAP_OK;
}

const soap_cpu_kernel soap_cpu_kern_linear = {
    .kind = SOAP_OP_LINEAR,
    .forward = linear_forward,
    .backward = linear_backward,
};

/* ------------------------------------------------------------------ */
/* EMBEDDING                                                           */
/* ------------------------------------------------------------------ */
/* The id of the current output row, checked. */
static soap_status row_id(const soap_ktask *t, const soap_krows *it, int64_t *id)
{
    const float *p = soap_krow(&t->in[0], it);
    soap_status st = soap_cpu_check_ids(t, p, 1, t->o->p.vocab, "token id");
    *id = st == SOAP_OK ? (int64_t)*p : 0;
    return st;
}

static soap_status embedding_forward(const soap_ktask *t)
{
    soap_kview w = soap_kview_of(&t->w[0]);
    int64_t e0 = t->out.lo[t->out.ndims - 1];
    for (soap_krows it = soap_krows_begin(&t->out); it.more; soap_krows_next(&it)) {
        int64_t id;
        soap_status st = row_id(t, &it, &id);
        if (st != SOAP_OK)
            return st;
        memcpy(soap_krow(t->y, &it), soap_kv2(&w, id, e0), (size_t)it.len * sizeof(float));
    }
    return SOAP_OK;
}

static soap_status embedding_backward(const soap_ktask *t)
{
    const soap_block *dwb = soap_ktask_dw(t, 0);
    if (!dwb)
        return SOAP_OK;
    soap_kview dw = soap_kview_of(dwb);
    int64_t e0 = t->out.lo[t->out.ndims - 1];
    for (soap_krows it = soap_krows_begin(&t->out); it.more; soap_krows_next(&it)) {
        int64_t id;
        soap_status st = row_id(t, &it, &id);
        if (st != SOAP_OK)
            return st;
        const float *g = soap_krow(t->dy, &it);
        float *d = soap_kv2(&dw, id, e0);
        for (int64_t i = 0; i < it.len; i++)
            d[i] += g[i];
    }
    return SOAP_OK;
}

const soap_cpu_kernel soap_cpu_kern_embedding = {
    .kind = SOAP_OP_EMBEDDING,
    .forward = embedding_forward,
    .backward = embedding_backward,
};
