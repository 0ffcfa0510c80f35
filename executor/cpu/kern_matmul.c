/* kern_matmul.c: CPU kernels of MATMUL (soap_core.h gives the modes).
 *
 * PLAIN: y[..., m, p] = sum_k A[..., m, k] * B[..., k, p] (B[..., p, k] if
 *   trans_b), 2 to 4 dims, the leading dims batch-like. A task computes its
 *   leading ranges, rows m and columns p; it reads A rows with all K and B
 *   columns with all K.
 * QK: S[n, h, i, j] = sum_{e < dh} Q[n, i, h*dh + e] * K[n, j, h*dh + e] /
 *   sqrt(dh), dh = D / heads (head h owns columns [h*dh, (h+1)*dh) of Q, K).
 * PV: O[n, i, d] = sum_j P[n, d / dh, i, j] * V[n, j, d]: output column d
 *   belongs to head d / dh. A task whose d range covers part of a head reads
 *   that head's probabilities and adds a partial dP for it (summed over the
 *   tasks of a D split this is the whole gradient).
 * Every product and gradient sum accumulates in double, row by row along
 * contiguous memory.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"

/* ------------------------------------------------------------------ */
/* PLAIN                                                               */
/* ------------------------------------------------------------------ */
/* Element (i, j) of the matrix at leading coordinates (l0, l1) of an nd-dim
 * tensor (the leading coordinates that do not exist are ignored). */
static float *mat(const soap_kview *v, int nd, int64_t l0, int64_t l1, int64_t i, int64_t j)
{
    if (nd == 2)
        return soap_kv2(v, i, j);
    if (nd == 3)
        return soap_kv3(v, l0, i, j);
    return soap_kv4(v, l0, l1, i, j);
}

/* Leading ranges of region r: [lo0,hi0) x [lo1,hi1), [0,1) where absent. */
static void leading(const soap_region *r, int64_t *lo, int64_t *hi)
{
    int nd = r->ndims;
    for (int d = 0; d < 2; d++) {
        lo[d] = d < nd - 2 ? r->lo[d] : 0;
        hi[d] = d < nd - 2 ? r->hi[d] : 1;
    }
}

static soap_status plain_forward(const soap_ktask *t)
{
    const soap_region *r = &t->out;
    int nd = r->ndims, tb = t->o->p.trans_b;
    int64_t K = t->g->ops[t->o->inputs[0]].out.size[nd - 1];
    int64_t m0 = r->lo[nd - 2], m1 = r->hi[nd - 2], p0 = r->lo[nd - 1],
            np = r->hi[nd - 1] - p0;
    int64_t llo[2], lhi[2];
    leading(r, llo, lhi);
    soap_kview a = soap_kview_of(&t->in[0]), b = soap_kview_of(&t->in[1]),
               y = soap_kview_of(t->y);
    double *acc = soap_xmalloc((size_t)np * sizeof *acc);
    for (int64_t l0 = llo[0]; l0 < lhi[0]; l0++)
        for (int64_t l1 = llo[1]; l1 < lhi[1]; l1++)
            for (int64_t m = m0; m < m1; m++) {
                const float *ar = mat(&a, nd, l0, l1, m, 0);
                if (tb) {
                    for (int64_t j = 0; j < np; j++) {
                        const float *br = mat(&b, nd, l0, l1, p0 + j, 0);
                        double s = 0.0;
                        for (int64_t k = 0; k < K; k++)
                            s += (double)ar[k] * br[k];
                        acc[j] = s;
                    }
                } else {
                    memset(acc, 0, (size_t)np * sizeof *acc);
                    for (int64_t k = 0; k < K; k++) {
                        double av = ar[k];
                        const float *br = mat(&b, nd, l0, l1, k, p0);
                        for (int64_t j = 0; j < np; j++)
                            acc[j] += av * br[j];
                    }
                }
                float *yr = mat(&y, nd, l0, l1, m, p0);
                for (int64_t j = 0; j < np; j++)
                    yr[j] = (float)acc[j];
            }
    free(acc);
    return SOAP_OK;
}

static soap_status plain_backward(const soap_ktask *t)
{
    const soap_region *r = &t->out;
    int nd = r->ndims, tb = t->o->p.trans_b;
    int64_t K = t->g->ops[t->o->inputs[0]].out.size[nd - 1];
    int64_t m0 = r->lo[nd - 2], m1 = r->hi[nd - 2], p0 = r->lo[nd - 1],
            np = r->hi[nd - 1] - p0;
    int64_t llo[2], lhi[2];
    leading(r, llo, lhi);
    const soap_block *dab = soap_ktask_din(t, 0), *dbb = soap_ktask_din(t, 1);
    soap_kview a = soap_kview_of(&t->in[0]), b = soap_kview_of(&t->in[1]),
               dy = soap_kview_of(t->dy), da = soap_kview_of(dab), db = soap_kview_of(dbb);
    int64_t nacc = K > np ? K : np;
    double *acc = soap_xmalloc((size_t)nacc * sizeof *acc);
    for (int64_t l0 = llo[0]; l0 < lhi[0]; l0++)
        for (int64_t l1 = llo[1]; l1 < lhi[1]; l1++) {
            /* dA[m, k] += sum_p dy[m, p] * B(k, p) */
            for (int64_t m = m0; dab && m < m1; m++) {
                const float *g = mat(&dy, nd, l0, l1, m, p0);
                float *dar = mat(&da, nd, l0, l1, m, 0);
                if (tb) {
                    memset(acc, 0, (size_t)K * sizeof *acc);
                    for (int64_t j = 0; j < np; j++) {
                        const float *br = mat(&b, nd, l0, l1, p0 + j, 0);
                        double gj = g[j];
                        for (int64_t k = 0; k < K; k++)
                            acc[k] += gj * br[k];
                    }
                    for (int64_t k = 0; k < K; k++)
                        dar[k] += (float)acc[k];
                } else {
                    for (int64_t k = 0; k < K; k++) {
                        const float *br = mat(&b, nd, l0, l1, k, p0);
                        double s = 0.0;
                        for (int64_t j = 0; j < np; j++)
                            s += (double)g[j] * br[j];
                        dar[k] += (float)s;
                    }
                }
            }
            if (!dbb)
                continue;
            if (tb) { /* dB[p, k] += sum_m dy[m, p] * A[m, k] */
                for (int64_t j = 0; j < np; j++) {
                    memset(acc, 0, (size_t)K * sizeof *acc);
                    for (int64_t m = m0; m < m1; m++) {
                        double gj = *mat(&dy, nd, l0, l1, m, p0 + j);
                        const float *ar = mat(&a, nd, l0, l1, m, 0);
                        for (int64_t k = 0; k < K; k++)
                            acc[k] += gj * ar[k];
                    }
                    float *dbr = mat(&db, nd, l0, l1, p0 + j, 0);
                    for (int64_t k = 0; k < K; k++)
                        dbr[k] += (float)acc[k];
                }
            } else { /* dB[k, p] += sum_m A[m, k] * dy[m, p] */
                for (int64_t k = 0; k < K; k++) {
                    memset(acc, 0, (size_t)np * sizeof *acc);
                    for (int64_t m = m0; m < m1; m++) {
                        double av = *mat(&a, nd, l0, l1, m, k);
                        const float *g = mat(&dy, nd, l0, l1, m, p0);
                        for (int64_t j = 0; j < np; j++)
                            acc[j] += av * g[j];
                    }
                    float *dbr = mat(&db, nd, l0, l1, k, p0);
                    for (int64_t j = 0; j < np; j++)
                        dbr[j] += (float)acc[j];
                }
            }
        }
    free(acc);
    return SOAP_OK;
}

/* ------------------------------------------------------------------ */
/* QK                                                                  */
/* ------------------------------------------------------------------ */
static int64_t head_width(const soap_ktask *t)
{
    const soap_shape *d = &t->g->ops[t->o->inputs[t->o->p.matmul == SOAP_MATMUL_QK ? 0 : 1]].out;
    return d->size[2] / t->o->p.heads;
}

static soap_status qk_forward(const soap_ktask *t)
{
    const soap_region *r = &t->out;
    int64_t dh = head_width(t);
    double scale = 1.0 / sqrt((double)dh);
    soap_kview q = soap_kview_of(&t->in[0]), k = soap_kview_of(&t->in[1]),
               y = soap_kview_of(t->y);
    for (int64_t n = r->lo[0]; n < r->hi[0]; n++)
        for (int64_t h = r->lo[1]; h < r->hi[1]; h++)
            for (int64_t i = r->lo[2]; i < r->hi[2]; i++) {
                const float *qr = soap_kv3(&q, n, i, h * dh);
                float *yr = soap_kv4(&y, n, h, i, r->lo[3]);
                for (int64_t j = r->lo[3]; j < r->hi[3]; j++) {
                    const float *kr = soap_kv3(&k, n, j, h * dh);
                    double s = 0.0;
                    for (int64_t e = 0; e < dh; e++)
                        s += (double)qr[e] * kr[e];
                    yr[j - r->lo[3]] = (float)(s * scale);
                }
            }
    return SOAP_OK;
}

static soap_status qk_backward(const soap_ktask *t)
{
    const soap_region *r = &t->out;
    int64_t dh = head_width(t);
    double scale = 1.0 / sqrt((double)dh);
    const soap_block *dqb = soap_ktask_din(t, 0), *dkb = soap_ktask_din(t, 1);
    soap_kview q = soap_kview_of(&t->in[0]), k = soap_kview_of(&t->in[1]),
               dy = soap_kview_of(t->dy), dq = soap_kview_of(dqb), dk = soap_kview_of(dkb);
    double *acc = soap_xmalloc((size_t)dh * sizeof *acc);
    for (int64_t n = r->lo[0]; n < r->hi[0]; n++)
        for (int64_t h = r->lo[1]; h < r->hi[1]; h++) {
            /* dQ[n, i, h*dh + e] += scale * sum_j dS[n,h,i,j] * K[n, j, h*dh + e] */
            for (int64_t i = r->lo[2]; dqb && i < r->hi[2]; i++) {
                const float *g = soap_kv4(&dy, n, h, i, r->lo[3]);
                memset(acc, 0, (size_t)dh * sizeof *acc);
                for (int64_t j = r->lo[3]; j < r->hi[3]; j++) {
                    const float *kr = soap_kv3(&k, n, j, h * dh);
                    double gj = g[j - r->lo[3]];
                    for (int64_t e = 0; e < dh; e++)
                        acc[e] += gj * kr[e];
                }
                float *dqr = soap_kv3(&dq, n, i, h * dh);
                for (int64_t e = 0; e < dh; e++)
                    dqr[e] += (float)(acc[e] * scale);
            }
            /* dK[n, j, h*dh + e] += scale * sum_i dS[n,h,i,j] * Q[n, i, h*dh + e] */
            for (int64_t j = r->lo[3]; dkb && j < r->hi[3]; j++) {
                memset(acc, 0, (size_t)dh * sizeof *acc);
                for (int64_t i = r->lo[2]; i < r->hi[2]; i++) {
                    double gi = *soap_kv4(&dy, n, h, i, j);
                    const float *qr = soap_kv3(&q, n, i, h * dh);
                    for (int64_t e = 0; e < dh; e++)
                        acc[e] += gi * qr[e];
                }
                float *dkr = soap_kv3(&dk, n, j, h * dh);
                for (int64_t e = 0; e < dh; e++)
                    dkr[e] += (float)(acc[e] * scale);
            }
        }
    free(acc);
    return SOAP_OK;
}

/* ------------------------------------------------------------------ */
/* PV                                                                  */
/* ------------------------------------------------------------------ */
/* The part [*a, *b) of the task's d range [d0, d1) in head h. */
static void head_part(int64_t h, int64_t dh, int64_t d0, int64_t d1, int64_t *a, int64_t *b)
{
    *a = h * dh > d0 ? h * dh : d0;
    *b = (h + 1) * dh < d1 ? (h + 1) * dh : d1;
}

static soap_status pv_forward(const soap_ktask *t)
{
    const soap_region *r = &t->out;
    int64_t dh = head_width(t), T = t->g->ops[t->o->inputs[1]].out.size[1];
    int64_t d0 = r->lo[2], d1 = r->hi[2];
    soap_kview p = soap_kview_of(&t->in[0]), v = soap_kview_of(&t->in[1]),
               y = soap_kview_of(t->y);
    double *acc = soap_xmalloc((size_t)(d1 - d0) * sizeof *acc);
    for (int64_t n = r->lo[0]; n < r->hi[0]; n++)
        for (int64_t i = r->lo[1]; i < r->hi[1]; i++) {
            memset(acc, 0, (size_t)(d1 - d0) * sizeof *acc);
            for (int64_t h = d0 / dh; h * dh < d1; h++) {
                int64_t a, b;
                head_part(h, dh, d0, d1, &a, &b);
                const float *pr = soap_kv4(&p, n, h, i, 0);
                for (int64_t j = 0; j < T; j++) {
                    double pj = pr[j];
                    const float *vr = soap_kv3(&v, n, j, a);
                    for (int64_t d = a; d < b; d++)
                        acc[d - d0] += pj * vr[d - a];
                }
            }
            float *yr = soap_kv3(&y, n, i, d0);
            for (int64_t d = 0; d < d1 - d0; d++)
                yr[d] = (float)acc[d];
        }
    free(acc);
    return SOAP_OK;
}

static soap_status pv_backward(const soap_ktask *t)
{
    const soap_region *r = &t->out;
    int64_t dh = head_width(t), T = t->g->ops[t->o->inputs[1]].out.size[1];
    int64_t d0 = r->lo[2], d1 = r->hi[2];
    const soap_block *dpb = soap_ktask_din(t, 0), *dvb = soap_ktask_din(t, 1);
    soap_kview p = soap_kview_of(&t->in[0]), v = soap_kview_of(&t->in[1]),
               dy = soap_kview_of(t->dy), dp = soap_kview_of(dpb), dv = soap_kview_of(dvb);
    double *acc = soap_xmalloc((size_t)(d1 - d0) * sizeof *acc);
    for (int64_t n = r->lo[0]; n < r->hi[0]; n++) {
        /* dP[n, h, i, j] += sum_{d in head h and the task} dO[n, i, d] * V[n, j, d] */
        for (int64_t i = r->lo[1]; dpb && i < r->hi[1]; i++)
            for (int64_t h = d0 / dh; h * dh < d1; h++) {
                int64_t a, b;
                head_part(h, dh, d0, d1, &a, &b);
                const float *g = soap_kv3(&dy, n, i, a);
                float *dpr = soap_kv4(&dp, n, h, i, 0);
                for (int64_t j = 0; j < T; j++) {
                    const float *vr = soap_kv3(&v, n, j, a);
                    double s = 0.0;
                    for (int64_t d = 0; d < b - a; d++)
                        s += (double)g[d] * vr[d];
                    dpr[j] += (float)s;
                }
            }
        /* dV[n, j, d] += sum_i P[n, d/dh, i, j] * dO[n, i, d] */
        for (int64_t j = 0; dvb && j < T; j++) {
            memset(acc, 0, (size_t)(d1 - d0) * sizeof *acc);
            for (int64_t i = r->lo[1]; i < r->hi[1]; i++) {
                const float *g = soap_kv3(&dy, n, i, d0);
                for (int64_t h = d0 / dh; h * dh < d1; h++) {
                    int64_t a, b;
                    head_part(h, dh, d0, d1, &a, &b);
                    double pij = *soap_kv4(&p, n, h, i, j);
                    for (int64_t d = a; d < b; d++)
                        acc[d - d0] += pij * g[d - d0];
                }
            }
            float *dvr = soap_kv3(&dv, n, j, d0);
            for (int64_t d = 0; d < d1 - d0; d++)
                dvr[d] += (float)acc[d];
        }
    }
    free(acc);
    return SOAP_OK;
}

/* ------------------------------------------------------------------ */
/* Dispatch on the mode                                                */
/* ------------------------------------------------------------------ */
static soap_status matmul_forward(const soap_ktask *t)
{
    switch (t->o->p.matmul) {
    case SOAP_MATMUL_PLAIN: return plain_forward(t);
    case SOAP_MATMUL_QK: return qk_forward(t);
    case SOAP_MATMUL_PV: return pv_forward(t);
    case SOAP_MATMUL_MODE_COUNT: break;
    }
    SOAP_ASSERT(!"matmul mode checked when the op was added");
    return SOAP_ERR_INVALID;
}

static soap_status matmul_backward(const soap_ktask *t)
{
    switch (t->o->p.matmul) {
    case SOAP_MATMUL_PLAIN: return plain_backward(t);
    case SOAP_MATMUL_QK: return qk_backward(t);
    case SOAP_MATMUL_PV: return pv_backward(t);
    case SOAP_MATMUL_MODE_COUNT: break;
    }
    SOAP_ASSERT(!"matmul mode checked when the op was added");
    return SOAP_ERR_INVALID;
}

const soap_cpu_kernel soap_cpu_kern_matmul = {
    .kind = SOAP_OP_MATMUL,
    .forward = matmul_forward,
    .backward = matmul_backward,
};
