/* kern_norm.c: CPU kernels of BATCHNORM and LAYERNORM (training mode: the
 * statistics come from the data being normalized; no running averages are
 * kept, since the executor only trains).
 *
 * BATCHNORM [N,C,H,W] or [N,C]: per channel c of the task, mean and biased
 * variance over the task's own block (its samples and positions; core/ops/
 * norm.c: a sample-split task normalizes over its own samples, as the
 * paper's runtime does), y = gamma[c] * (x - mean) / sqrt(var + eps) +
 * beta[c], eps = SOAP_CPU_NORM_EPS. Backward (M elements per channel,
 * xhat the normalized input): dx = gamma * rstd / M * (M*dy - sum(dy) -
 * xhat * sum(dy*xhat)); dgamma += sum(dy*xhat); dbeta += sum(dy).
 * LAYERNORM [..., D] over the last dim (never split): the same per row with
 * per-element gamma[d], beta[d]: dxhat = dy*gamma, dx = rstd / D * (D*dxhat -
 * sum(dxhat) - xhat * sum(dxhat*xhat)).
 * Statistics and sums accumulate in double; the variance is two-pass.
 */
#include <math.h>
#include <stdlib.h>

#include "cpu_kernels.h"

/* ------------------------------------------------------------------ */
/* BATCHNORM                                                           */
/* ------------------------------------------------------------------ */
/* The task's box with 2-D inputs seen as [N,C,1,1] (views give dims past
 * ndims stride 0, so coordinate 0 there is the element itself). */
typedef struct bn_box {
    int64_t lo[4], hi[4];
} bn_box;

static bn_box bn_box_of(const soap_region *r)
{
    bn_box b;
    for (int d = 0; d < 4; d++) {
        b.lo[d] = d < r->ndims ? r->lo[d] : 0;
        b.hi[d] = d < r->ndims ? r->hi[d] : 1;
    }
    return b;
}

/* Mean and 1/sqrt(var + eps) of channel c over the box. */
static void bn_stats(const soap_kview *x, const bn_box *b, int64_t c, double *mean,
                     double *rstd)
{
    int64_t nw = b->hi[3] - b->lo[3];
    double s = 0.0, m = 0.0;
    for (int64_t n = b->lo[0]; n < b->hi[0]; n++)
        for (int64_t h = b->lo[2]; h < b->hi[2]; h++) {
            const float *row = soap_kv4(x, n, c, h, b->lo[3]);
            for (int64_t i = 0; i < nw; i++)
                s += row[i];
            m += (double)nw;
        }
    double mu = s / m, v = 0.0;
    for (int64_t n = b->lo[0]; n < b->hi[0]; n++)
        for (int64_t h = b->lo[2]; h < b->hi[2]; h++) {
            const float *row = soap_kv4(x, n, c, h, b->lo[3]);
            for (int64_t i = 0; i < nw; i++) {
                double dv = row[i] - mu;
                v += dv * dv;
            }
        }
    *mean = mu;
    *rstd = 1.0 / sqrt(v / m + SOAP_CPU_NORM_EPS);
}

static soap_status bn_forward(const soap_ktask *t)
{
    bn_box b = bn_box_of(&t->out);
    soap_kview x = soap_kview_of(&t->in[0]), y = soap_kview_of(t->y),
               gm = soap_kview_of(&t->w[0]), bt = soap_kview_of(&t->w[1]);
    int64_t nw = b.hi[3] - b.lo[3];
    for (int64_t c = b.lo[1]; c < b.hi[1]; c++) {
        double mean, rstd;
        bn_stats(&x, &b, c, &mean, &rstd);
        float scale = (float)(*soap_kv1(&gm, c) * rstd);
        float shift = (float)(*soap_kv1(&bt, c) - mean * *soap_kv1(&gm, c) * rstd);
        for (int64_t n = b.lo[0]; n < b.hi[0]; n++)
            for (int64_t h = b.lo[2]; h < b.hi[2]; h++) {
                const float *xr = soap_kv4(&x, n, c, h, b.lo[3]);
                float *yr = soap_kv4(&y, n, c, h, b.lo[3]);
                for (int64_t i = 0; i < nw; i++)
                    yr[i] = xr[i] * scale + shift;
            }
    }
    return SOAP_OK;
}

static soap_status bn_backward(const soap_ktask *t)
{
    bn_box b = bn_box_of(&t->out);
    const soap_block *dinb = soap_ktask_din(t, 0);
    const soap_block *dgb = soap_ktask_dw(t, 0), *dbb = soap_ktask_dw(t, 1);
    soap_kview x = soap_kview_of(&t->in[0]), dy = soap_kview_of(t->dy),
               gm = soap_kview_of(&t->w[0]), dx = soap_kview_of(dinb),
               dg = soap_kview_of(dgb), dbt = soap_kview_of(dbb);
    int64_t nw = b.hi[3] - b.lo[3];
    double m = (double)(b.hi[0] - b.lo[0]) * (double)(b.hi[2] - b.lo[2]) * (double)nw;
    for (int64_t c = b.lo[1]; c < b.hi[1]; c++) {
        double mean, rstd;
        bn_stats(&x, &b, c, &mean, &rstd);
        double sdy = 0.0, sdyx = 0.0;
        for (int64_t n = b.lo[0]; n < b.hi[0]; n++)
            for (int64_t h = b.lo[2]; h < b.hi[2]; h++) {
                const float *xr = soap_kv4(&x, n, c, h, b.lo[3]);
                const float *gr = soap_kv4(&dy, n, c, h, b.lo[3]);
                for (int64_t i = 0; i < nw; i++) {
                    sdy += gr[i];
                    sdyx += (double)gr[i] * ((xr[i] - mean) * rstd);
                }
            }
        if (dgb)
            *soap_kv1(&dg, c) += (float)sdyx;
        if (dbb)
            *soap_kv1(&dbt, c) += (float)sdy;
        if (!dinb)
            continue;
        /* dx = k * (dy - a - xhat * bb) with k = gamma*rstd, a = sdy/M, bb = sdyx/M */
        double k = *soap_kv1(&gm, c) * rstd, a = sdy / m, bb = sdyx / m;
        for (int64_t n = b.lo[0]; n < b.hi[0]; n++)
            for (int64_t h = b.lo[2]; h < b.hi[2]; h++) {
                const float *xr = soap_kv4(&x, n, c, h, b.lo[3]);
                const float *gr = soap_kv4(&dy, n, c, h, b.lo[3]);
                float *dr = soap_kv4(&dx, n, c, h, b.lo[3]);
                for (int64_t i = 0; i < nw; i++) {
                    double xhat = (xr[i] - mean) * rstd;
                    dr[i] += (float)(k * (gr[i] - a - xhat * bb));
                }
            }
    }
    return SOAP_OK;
}

const soap_cpu_kernel soap_cpu_kern_batchnorm = {
    .kind = SOAP_OP_BATCHNORM,
    .forward = bn_forward,
    .backward = bn_backward,
};

/* ------------------------------------------------------------------ */
/* LAYERNORM                                                           */
/* ------------------------------------------------------------------ */
static void ln_stats(const float *x, int64_t d, double *mean, double *rstd)
{
    double s = 0.0;
    for (int64_t i = 0; i < d; i++)
        s += x[i];
    double mu = s / (double)d, v = 0.0;
    for (int64_t i = 0; i < d; i++) {
        double dv = x[i] - mu;
        v += dv * dv;
    }
    *mean = mu;
    *rstd = 1.0 / sqrt(v / (double)d + SOAP_CPU_NORM_EPS);
}

static void want_whole_rows(const soap_ktask *t)
{
    int last = t->out.ndims - 1;
    SOAP_ASSERT(t->out.lo[last] == 0 && t->out.hi[last] == t->o->out.size[last]);
}

static soap_status ln_forward(const soap_ktask *t)
{
    want_whole_rows(t);
    /* gamma and beta are read whole: their blocks are [0, D). */
    const float *gm = t->w[0].data, *bt = t->w[1].data;
    for (soap_krows it = soap_krows_begin(&t->out); it.more; soap_krows_next(&it)) {
        const float *x = soap_krow(&t->in[0], &it);
        float *y = soap_krow(t->y, &it);
        double mean, rstd;
        ln_stats(x, it.len, &mean, &rstd);
        for (int64_t i = 0; i < it.len; i++)
            y[i] = (float)((x[i] - mean) * rstd) * gm[i] + bt[i];
    }
    return SOAP_OK;
}

static soap_status ln_backward(const soap_ktask *t)
{
    want_whole_rows(t);
    const soap_block *dinb = soap_ktask_din(t, 0);
    const soap_block *dgb = soap_ktask_dw(t, 0), *dbb = soap_ktask_dw(t, 1);
    const float *gm = t->w[0].data;
    int64_t d = t->o->out.size[t->out.ndims - 1];
    double *acc = soap_xcalloc((size_t)(2 * d), sizeof *acc); /* dgamma, dbeta */
    for (soap_krows it = soap_krows_begin(&t->out); it.more; soap_krows_next(&it)) {
        const float *x = soap_krow(&t->in[0], &it);
        const float *g = soap_krow(t->dy, &it);
        double mean, rstd;
        ln_stats(x, d, &mean, &rstd);
        double s1 = 0.0, s2 = 0.0; /* sum(dxhat), sum(dxhat * xhat) */
        for (int64_t i = 0; i < d; i++) {
            double xhat = (x[i] - mean) * rstd;
            double dxh = (double)g[i] * gm[i];
            s1 += dxh;
            s2 += dxh * xhat;
            acc[i] += (double)g[i] * xhat;
            acc[d + i] += g[i];
        }
        if (!dinb)
            continue;
        float *dx = soap_krow(dinb, &it);
        double a = s1 / (double)d, b = s2 / (double)d;
        for (int64_t i = 0; i < d; i++) {
            double xhat = (x[i] - mean) * rstd;
            dx[i] += (float)(rstd * ((double)g[i] * gm[i] - a - xhat * b));
        }
    }
    if (dgb)
        for (int64_t i = 0; i < d; i++)
            dgb->data[i] += (float)acc[i];
    if (dbb)
        for (int64_t i = 0; i < d; i++)
            dbb->data[i] += (float)acc[d + i];
    free(acc);
    return SOAP_OK;
}

const soap_cpu_kernel soap_cpu_kern_layernorm = {
    .kind = SOAP_OP_LAYERNORM,
    .forward = ln_forward,
    .backward = ln_backward,
};
