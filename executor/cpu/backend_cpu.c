/* backend_cpu.c: the `cpu` backend. Every logical device of the machine is
 * served by one host thread of the runner and owns the memory allocated for
 * it (plain host memory, counted per device); transfers between devices are
 * copies; operators run the plain-C reference kernels of cpu_kernels.h.
 * Nothing is asynchronous, so synchronize has nothing to wait for.
 */
#include <stdlib.h>
#include <time.h>

#include "cpu_kernels.h"

/* The memory of a device is the host's: the context only checks devices. */
typedef struct cpu_ctx {
    int ndevices;
} cpu_ctx;

static void *cpu_create(const soap_machine *m, soap_error *err)
{
    if (!m || m->ndevices < 1) {
        soap_error_set(err, SOAP_ERR_INVALID, "backend cpu: expected a machine with devices");
        return NULL;
    }
    cpu_ctx *c = soap_xcalloc(1, sizeof *c);
    c->ndevices = m->ndevices;
    return c;
}

static void cpu_destroy(void *ctx)
{
    free(ctx);
}

static void *cpu_alloc(void *ctx, int dev, size_t bytes)
{
    const cpu_ctx *c = ctx;
    SOAP_ASSERT(dev >= 0 && dev < c->ndevices);
    return soap_xcalloc(bytes ? bytes : 1, 1);
}

static void cpu_free(void *ctx, int dev, void *p)
{
    free(p);
}

static void cpu_copy(void *ctx, int dst_dev, const soap_block *dst, int src_dev,
                     const soap_block *src, const soap_region *r)
{
    soap_cpu_block_copy(dst, src, r);
}

static void cpu_add(void *ctx, int dst_dev, const soap_block *dst, int src_dev,
                    const soap_block *src, const soap_region *r)
{
    soap_cpu_block_add(dst, src, r);
}

static void cpu_zero(void *ctx, int dev, const soap_block *dst, const soap_region *r)
{
    soap_cpu_block_zero(dst, r);
}

static void cpu_upload(void *ctx, int dev, const soap_block *dst, const soap_block *host,
                       const soap_region *r)
{
    soap_cpu_block_copy(dst, host, r);
}

static void cpu_download(void *ctx, int dev, const soap_block *host, const soap_block *src,
                         const soap_region *r)
{
    soap_cpu_block_copy(host, src, r);
}

static soap_status cpu_forward(void *ctx, int dev, const soap_graph *g, int op,
                               const soap_region *out, const soap_block *in,
                               const soap_block *w, const soap_block *y, soap_error *err)
{
    return soap_cpu_forward(g, op, out, in, w, y, err);
}

static soap_status cpu_backward(void *ctx, int dev, const soap_graph *g, int op,
                                const soap_region *out, const soap_block *in,
                                const soap_block *w, const soap_block *labels,
                                const soap_block *y, const soap_block *dy,
                                const soap_block *din, const soap_block *dw, soap_error *err)
{
    return soap_cpu_backward(g, op, out, in, w, labels, y, dy, din, dw, err);
}

static soap_status cpu_loss(void *ctx, int dev, const soap_graph *g, int op,
                            const soap_region *out, const soap_block *in0,
                            const soap_block *labels, double *loss_sum, soap_error *err)
{
    return soap_cpu_softmax_ce_loss(g, op, out, in0, labels, loss_sum, err);
}

/* Row by row of the region's last dim: both blocks are contiguous there. */
static void cpu_sgd(void *ctx, int dev, const soap_block *w, const soap_block *grad,
                    const soap_region *r, double lr)
{
    const float a = (float)lr;
    for (soap_krows it = soap_krows_begin(r); it.more; soap_krows_next(&it)) {
        float *wp = soap_krow(w, &it);
        const float *gp = soap_krow(grad, &it);
        for (int64_t k = 0; k < it.len; k++)
            wp[k] -= a * gp[k];
    }
}

static void cpu_synchronize(void *ctx, int dev)
{
}

static double cpu_now(void *ctx)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

const soap_backend_ops soap_backend_cpu = {
    .name = "cpu",
    .description = "reference kernels in plain C; one host thread per logical device",
    .create = cpu_create,
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .copy = cpu_copy,
    .add = cpu_add,
    .zero = cpu_zero,
    .upload = cpu_upload,
    .download = cpu_download,
    .forward = cpu_forward,
    .backward = cpu_backward,
    .loss = cpu_loss,
    .sgd = cpu_sgd,
    .synchronize = cpu_synchronize,
    .now = cpu_now,
};
