/* kern_conv_pool.c: CPU kernels of CONV2D and POOL2D (sliding windows over
 * [N, C, H, W]).
 *
 * Padding: output (oy, ox) reads input rows oy*sh - ph + ky and columns
 * ox*sw - pw + kx; coordinates outside the input tensor are padding. They
 * are never stored: the kernels clip each window to the tensor, so a task's
 * input block needs only the halo core computes (soap_op_input_region).
 *
 * CONV2D: y[n,co,oy,ox] = b[co] + sum_{c,ky,kx} w[co,c,ky,kx] * x[n,c,iy,ix]
 * (cross-correlation, as cuDNN computes), w [Cout,C,kh,kw] row-major, b
 * [Cout]; padding counts as zero. Each output row accumulates in double;
 * weight and bias gradients are double sums over the task's samples and
 * positions.
 *
 * POOL2D max: the largest input in the window (padding is not a candidate);
 * backward routes dy to the first maximum in window scan order (rows, then
 * columns), recomputed from the input. A window made only of padding yields
 * 0 and no gradient.
 * POOL2D avg: the window sum divided by kh*kw, padding counted as zeros
 * (cuDNN's COUNT_INCLUDE_PADDING, PyTorch's count_include_pad=True).
 */
#include <stdlib.h>

#include "cpu_kernels.h"

/* Window geometry of one spatial dim: output o reads input o*s - p + k. */
typedef struct window {
    int k, s, p;
    int64_t size; /* input size */
} window;

static window window_of(const soap_ktask *t, int d)
{
    window w = {t->o->p.kernel[d], t->o->p.stride[d], t->o->p.pad[d],
                t->g->ops[t->o->inputs[0]].out.size[2 + d]};
    return w;
}

/* Outputs o in [lo, hi) whose tap k lands inside the input: [*a, *b). */
static void tap_range(const window *w, int k, int64_t lo, int64_t hi, int64_t *a, int64_t *b)
{
    /* o*s - p + k >= 0  <=>  o >= ceil((p - k) / s) */
    int64_t num = (int64_t)w->p - k;
    int64_t first = num <= 0 ? 0 : (num + w->s - 1) / w->s;
    /* o*s - p + k <= size - 1  <=>  o <= floor((size - 1 + p - k) / s) */
    int64_t top = w->size - 1 + w->p - k;
    int64_t last = top < 0 ? -1 : top / w->s;
    *a = first > lo ? first : lo;
    *b = last + 1 < hi ? last + 1 : hi;
    if (*b < *a)
        *b = *a;
}

/* ------------------------------------------------------------------ */
/* CONV2D                                                              */
/* ------------------------------------------------------------------ */
static soap_status conv_forward(const soap_ktask *t)
{
    const soap_region *r = &t->out;
    window wy = window_of(t, 0), wx = window_of(t, 1);
    int64_t C = t->g->ops[t->o->inputs[0]].out.size[1];
    int kh = wy.k, kw = wx.k;
    soap_kview x = soap_kview_of(&t->in[0]), w = soap_kview_of(&t->w[0]),
               y = soap_kview_of(t->y);
    soap_kview b = soap_kview_of(t->o->p.has_bias ? &t->w[1] : NULL);
    int64_t x0 = r->lo[3], nx = r->hi[3] - r->lo[3];
    double *acc = soap_xmalloc((size_t)nx * sizeof *acc);
    int64_t (*oxr)[2] = soap_xmalloc((size_t)kw * sizeof *oxr);
    for (int kx = 0; kx < kw; kx++)
        tap_range(&wx, kx, r->lo[3], r->hi[3], &oxr[kx][0], &oxr[kx][1]);
    for (int64_t n = r->lo[0]; n < r->hi[0]; n++)
        for (int64_t co = r->lo[1]; co < r->hi[1]; co++)
            for (int64_t oy = r->lo[2]; oy < r->hi[2]; oy++) {
                double bias = b.p ? *soap_kv1(&b, co) : 0.0;
                for (int64_t i = 0; i < nx; i++)
                    acc[i] = bias;
                for (int64_t c = 0; c < C; c++)
                    for (int ky = 0; ky < kh; ky++) {
                        int64_t iy = oy * wy.s - wy.p + ky;
                        if (iy < 0 || iy >= wy.size)
                            continue;
                        const float *xrow = soap_kv4(&x, n, c, iy, x.lo[3]);
                        const float *wrow = soap_kv4(&w, co, c, ky, 0);
                        for (int kx = 0; kx < kw; kx++) {
                            double wv = wrow[kx];
                            int64_t off = kx - wx.p - x.lo[3];
                            for (int64_t ox = oxr[kx][0]; ox < oxr[kx][1]; ox++)
                                acc[ox - x0] += wv * xrow[ox * wx.s + off];
                        }
                    }
                float *yrow = soap_kv4(&y, n, co, oy, x0);
                for (int64_t i = 0; i < nx; i++)
                    yrow[i] = (float)acc[i];
            }
    free(oxr);
    free(acc);
    return SOAP_OK;
}

static soap_status conv_backward(const soap_ktask *t)
{
    const soap_region *r = &t->out;
    window wy = window_of(t, 0), wx = window_of(t, 1);
    int64_t C = t->g->ops[t->o->inputs[0]].out.size[1];
    int kh = wy.k, kw = wx.k;
    soap_kview x = soap_kview_of(&t->in[0]), w = soap_kview_of(&t->w[0]),
               dy = soap_kview_of(t->dy);
    const soap_block *dinb = soap_ktask_din(t, 0);
    const soap_block *dwb = soap_ktask_dw(t, 0);
    const soap_block *dbb = t->o->p.has_bias ? soap_ktask_dw(t, 1) : NULL;
    soap_kview dx = soap_kview_of(dinb), dw = soap_kview_of(dwb), db = soap_kview_of(dbb);
    int64_t (*oxr)[2] = soap_xmalloc((size_t)kw * sizeof *oxr);
    for (int kx = 0; kx < kw; kx++)
        tap_range(&wx, kx, r->lo[3], r->hi[3], &oxr[kx][0], &oxr[kx][1]);

    /* dx[n,c,iy,ix] += w[co,c,ky,kx] * dy[n,co,oy,ox] */
    if (dinb)
        for (int64_t n = r->lo[0]; n < r->hi[0]; n++)
            for (int64_t co = r->lo[1]; co < r->hi[1]; co++)
                for (int64_t oy = r->lo[2]; oy < r->hi[2]; oy++) {
                    const float *g = soap_kv4(&dy, n, co, oy, dy.lo[3]);
                    for (int64_t c = 0; c < C; c++)
                        for (int ky = 0; ky < kh; ky++) {
                            int64_t iy = oy * wy.s - wy.p + ky;
                            if (iy < 0 || iy >= wy.size)
                                continue;
                            float *dxrow = soap_kv4(&dx, n, c, iy, dx.lo[3]);
                            const float *wrow = soap_kv4(&w, co, c, ky, 0);
                            for (int kx = 0; kx < kw; kx++) {
                                float wv = wrow[kx];
                                int64_t off = kx - wx.p - dx.lo[3];
                                for (int64_t ox = oxr[kx][0]; ox < oxr[kx][1]; ox++)
                                    dxrow[ox * wx.s + off] += wv * g[ox - dy.lo[3]];
                            }
                        }
                }

    /* dw[co,c,ky,kx] += sum_{n,oy,ox} dy[n,co,oy,ox] * x[n,c,iy,ix] */
    if (dwb)
        for (int64_t co = r->lo[1]; co < r->hi[1]; co++)
            for (int64_t c = 0; c < C; c++)
                for (int ky = 0; ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++) {
                        double s = 0.0;
                        int64_t off = kx - wx.p - x.lo[3];
                        for (int64_t n = r->lo[0]; n < r->hi[0]; n++)
                            for (int64_t oy = r->lo[2]; oy < r->hi[2]; oy++) {
                                int64_t iy = oy * wy.s - wy.p + ky;
                                if (iy < 0 || iy >= wy.size)
                                    continue;
                                const float *xrow = soap_kv4(&x, n, c, iy, x.lo[3]);
                                const float *g = soap_kv4(&dy, n, co, oy, dy.lo[3]);
                                for (int64_t ox = oxr[kx][0]; ox < oxr[kx][1]; ox++)
                                    s += (double)g[ox - dy.lo[3]] * xrow[ox * wx.s + off];
                            }
                        *soap_kv4(&dw, co, c, ky, kx) += (float)s;
                    }

    if (dbb)
        for (int64_t co = r->lo[1]; co < r->hi[1]; co++) {
            double s = 0.0;
            for (int64_t n = r->lo[0]; n < r->hi[0]; n++)
                for (int64_t oy = r->lo[2]; oy < r->hi[2]; oy++) {
                    const float *g = soap_kv4(&dy, n, co, oy, r->lo[3]);
                    for (int64_t i = 0; i < r->hi[3] - r->lo[3]; i++)
                        s += g[i];
                }
            *soap_kv1(&db, co) += (float)s;
        }
    free(oxr);
    return SOAP_OK;
}

const soap_cpu_kernel soap_cpu_kern_conv2d = {
    .kind = SOAP_OP_CONV2D,
    .forward = conv_forward,
    .backward = conv_backward,
};

/* ------------------------------------------------------------------ */
/* POOL2D                                                              */
/* ------------------------------------------------------------------ */
/* The window of output o clipped to the input: [*a, *b) (maybe empty). */
static void window_clip(const window *w, int64_t o, int64_t *a, int64_t *b)
{
    int64_t lo = o * w->s - w->p, hi = lo + w->k;
    *a = lo < 0 ? 0 : lo;
    *b = hi > w->size ? w->size : hi;
}

/* Max pool: position (*my, *mx) of the first maximum in the window, or
 * *my = -1 when the window holds no input element. */
static float window_max(const soap_kview *x, int64_t n, int64_t c, int64_t ya, int64_t yb,
                        int64_t xa, int64_t xb, int64_t *my, int64_t *mx)
{
    float best = 0.0f;
    *my = -1;
    *mx = -1;
    for (int64_t iy = ya; iy < yb; iy++) {
        const float *row = soap_kv4(x, n, c, iy, x->lo[3]);
        for (int64_t ix = xa; ix < xb; ix++)
            if (*my < 0 || row[ix - x->lo[3]] > best) {
                best = row[ix - x->lo[3]];
                *my = iy;
                *mx = ix;
            }
    }
    return best;
}

static soap_status pool_forward(const soap_ktask *t)
{
    const soap_region *r = &t->out;
    window wy = window_of(t, 0), wx = window_of(t, 1);
    soap_kview x = soap_kview_of(&t->in[0]), y = soap_kview_of(t->y);
    int is_max = t->o->p.pool == SOAP_POOL_MAX;
    double inv_area = 1.0 / ((double)wy.k * wx.k);
    for (int64_t n = r->lo[0]; n < r->hi[0]; n++)
        for (int64_t c = r->lo[1]; c < r->hi[1]; c++)
            for (int64_t oy = r->lo[2]; oy < r->hi[2]; oy++) {
                int64_t ya, yb;
                window_clip(&wy, oy, &ya, &yb);
                float *yrow = soap_kv4(&y, n, c, oy, r->lo[3]);
                for (int64_t ox = r->lo[3]; ox < r->hi[3]; ox++) {
                    int64_t xa, xb;
                    window_clip(&wx, ox, &xa, &xb);
                    if (is_max) {
                        int64_t my, mx;
                        yrow[ox - r->lo[3]] = window_max(&x, n, c, ya, yb, xa, xb, &my, &mx);
                        continue;
                    }
                    double s = 0.0;
                    for (int64_t iy = ya; iy < yb; iy++) {
                        const float *row = soap_kv4(&x, n, c, iy, x.lo[3]);
                        for (int64_t ix = xa; ix < xb; ix++)
                            s += row[ix - x.lo[3]];
                    }
                    yrow[ox - r->lo[3]] = (float)(s * inv_area);
                }
            }
    return SOAP_OK;
}

static soap_status pool_backward(const soap_ktask *t)
{
    const soap_block *dinb = soap_ktask_din(t, 0);
    if (!dinb)
        return SOAP_OK;
    const soap_region *r = &t->out;
    window wy = window_of(t, 0), wx = window_of(t, 1);
    soap_kview x = soap_kview_of(&t->in[0]), dy = soap_kview_of(t->dy),
               dx = soap_kview_of(dinb);
    int is_max = t->o->p.pool == SOAP_POOL_MAX;
    float inv_area = (float)(1.0 / ((double)wy.k * wx.k));
    for (int64_t n = r->lo[0]; n < r->hi[0]; n++)
        for (int64_t c = r->lo[1]; c < r->hi[1]; c++)
            for (int64_t oy = r->lo[2]; oy < r->hi[2]; oy++) {
                int64_t ya, yb;
                window_clip(&wy, oy, &ya, &yb);
                const float *g = soap_kv4(&dy, n, c, oy, r->lo[3]);
                for (int64_t ox = r->lo[3]; ox < r->hi[3]; ox++) {
                    int64_t xa, xb;
                    window_clip(&wx, ox, &xa, &xb);
                    if (is_max) {
                        int64_t my, mx;
                        window_max(&x, n, c, ya, yb, xa, xb, &my, &mx);
                        if (my >= 0)
                            *soap_kv4(&dx, n, c, my, mx) += g[ox - r->lo[3]];
                        continue;
                    }
                    float v = g[ox - r->lo[3]] * inv_area;
                    for (int64_t iy = ya; iy < yb; iy++) {
                        float *row = soap_kv4(&dx, n, c, iy, dx.lo[3]);
                        for (int64_t ix = xa; ix < xb; ix++)
                            row[ix - dx.lo[3]] += v;
                    }
                }
            }
    return SOAP_OK;
}

const soap_cpu_kernel soap_cpu_kern_pool2d = {
    .kind = SOAP_OP_POOL2D,
    .forward = pool_forward,
    .backward = pool_backward,
};
