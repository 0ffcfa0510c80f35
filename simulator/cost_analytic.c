/* cost_analytic.c: the analytic cost model, a roofline per task, and its
 * cost provider ("analytic").
 *
 * For one task (an output region of an op) on a device type, each pass
 * (forward, backward) takes
 *
 *   t = launch_overhead + max(t_compute, t_memory)              seconds
 *   t_compute = flops / (peak * eff(kind) * factor(class) * util(flops))
 *   util(x)   = x / (x + x_half),  x_half = peak * t_half(class)   FLOP
 *   t_memory  = bytes / (mem_bandwidth * mem_eff(class))
 *
 * with FLOP and bytes from soap_op_region_cost (its bwd figures for the
 * backward pass). The utilization curve makes tiny tasks cost more than
 * their share of the peak, as small kernels do not fill a GPU: since
 * flops / util(flops) = flops + x_half, it adds t_half / eff to every task
 * that computes, and a task of x_half FLOP runs at half its kind's
 * efficiency. t_compute is 0 for a task without FLOP (a gather, a copy).
 *
 * eff(kind) is the fraction of peak that the op's kernels reach on large
 * problems (one table below, checked against the kind count): matrix
 * products (linear, matmul, LSTM gates) ~0.7, convolutions ~0.6, the rest are
 * memory-bound and their FLOP hardly matter (0.5). The device class (the
 * type's `cls`, GPU or CPU, set by presets and machine files) scales this: plain-C CPU kernels reach a quarter of what the vector peak promises.
 * These are estimates to be replaced by measured tables (cost_table.c),
 * which take precedence wherever they have an entry.
 *
 * An INPUT has no backward pass (data need no gradient): its bwd_s is 0.
 */
#include <stdlib.h>
#include <string.h>

#include "cost_internal.h"

/* Fraction of peak reached by each kind's kernels on large problems. */
static const double kind_eff[] = {
    [SOAP_OP_INPUT] = 1.0,      /* no FLOP: the value never matters */
    [SOAP_OP_CONV2D] = 0.6,     /* implicit GEMM / Winograd, below GEMM */
    [SOAP_OP_POOL2D] = 0.5,     /* memory-bound */
    [SOAP_OP_BATCHNORM] = 0.5,  /* memory-bound */
    [SOAP_OP_UNARY] = 0.5,      /* memory-bound */
    [SOAP_OP_BINARY] = 0.5,     /* memory-bound */
    [SOAP_OP_CONCAT] = 0.5,     /* a copy */
    [SOAP_OP_FLATTEN] = 0.5,    /* a copy */
    [SOAP_OP_LINEAR] = 0.7,     /* GEMM */
    [SOAP_OP_SOFTMAX] = 0.5,    /* memory-bound */
    [SOAP_OP_SOFTMAX_CE] = 0.5, /* memory-bound */
    [SOAP_OP_EMBEDDING] = 0.5,  /* a gather */
    [SOAP_OP_LSTM] = 0.7,       /* the gate GEMMs dominate */
    [SOAP_OP_ATTENTION] = 0.6,  /* small batched GEMMs plus a softmax */
    [SOAP_OP_LAYERNORM] = 0.5,  /* memory-bound */
    [SOAP_OP_MATMUL] = 0.7,     /* batched GEMM */
};
_Static_assert(sizeof kind_eff / sizeof kind_eff[0] == SOAP_OP_KIND_COUNT,
               "one efficiency per op kind");

/* Per device class: compute factor (times eff(kind)), the calibration that
 * the factor and the kind table amount to (the defaults a device type's
 * calibration replaces field by field), and t_half in seconds (the
 * peak-time of the FLOP count at which a task runs at half efficiency). */
typedef struct device_class {
    double compute_factor;
    soap_device_calibration defaults; /* gemm = 0.7 and conv = 0.6 times
                                         compute_factor (kind_eff's), no
                                         Winograd, mem_eff */
    double t_half;
} device_class;

static const device_class classes[] = {
    /* A GEMM of ~20 MFLOP on a 10 TFLOP/s GPU (2 us of peak) reaches about
     * half of what large ones do. */
    [SOAP_DEVICE_GPU] = {.compute_factor = 1.0,
                         .defaults = {.gemm_eff = 0.7, .conv_eff = 0.6, .winograd = 1.0,
                                      .mem_eff = 0.8},
                         .t_half = 2e-6},
    /* The CPU backend's plain-C loops reach ~1/4 of the two-FMA-unit peak;
     * a core is busy after far less work than a GPU (0.5 us of peak). */
    [SOAP_DEVICE_CPU] = {.compute_factor = 0.25,
                         .defaults = {.gemm_eff = 0.175, .conv_eff = 0.15, .winograd = 1.0,
                                      .mem_eff = 0.8},
                         .t_half = 0.5e-6},
};

_Static_assert(sizeof classes / sizeof classes[0] == SOAP_DEVICE_CLASS_COUNT,
               "constants for every device class");

static const device_class *class_of(const soap_device_type *dev)
{
    SOAP_ASSERT((int)dev->cls >= 0 && dev->cls < SOAP_DEVICE_CLASS_COUNT);
    return &classes[dev->cls];
}

/* The device type's calibration with its class's defaults filled in. */
static soap_device_calibration calibration_of(const soap_device_type *dev,
                                              const device_class *cls)
{
    soap_device_calibration c = dev->cal;
    if (c.gemm_eff == 0)
        c.gemm_eff = cls->defaults.gemm_eff;
    if (c.conv_eff == 0)
        c.conv_eff = cls->defaults.conv_eff;
    if (c.winograd == 0)
        c.winograd = cls->defaults.winograd;
    if (c.mem_eff == 0)
        c.mem_eff = cls->defaults.mem_eff;
    return c;
}

soap_device_calibration soap_cost_analytic_calibration(const soap_device_type *dev)
{
    SOAP_ASSERT(dev);
    return calibration_of(dev, class_of(dev));
}

/* The compute efficiency of op's kernels, as a fraction of peak: the kind's
 * (kind_eff) times the class factor, with the matrix-product and the
 * convolution kinds scaled by the calibration over the class default (a
 * ratio of exactly 1 when uncalibrated). */
static double compute_eff(const soap_op *o, const device_class *cls,
                          const soap_device_calibration *c)
{
    double e = kind_eff[o->kind] * cls->compute_factor;
    switch (o->kind) {
    case SOAP_OP_LINEAR:
    case SOAP_OP_MATMUL:
    case SOAP_OP_LSTM:
    case SOAP_OP_ATTENTION:
        return e * (c->gemm_eff / cls->defaults.gemm_eff);
    case SOAP_OP_CONV2D:
        /* A 1x1 convolution is a matrix product (channels x positions):
         * the library runs it as one, at GEMM efficiency. */
        if (o->p.kernel[0] == 1 && o->p.kernel[1] == 1)
            return e * (c->gemm_eff / cls->defaults.gemm_eff);
        return e * (c->conv_eff / cls->defaults.conv_eff);
    default:
        return e;
    }
}

/* 1 for a convolution cuDNN computes with fewer multiply-adds than direct
 * convolution: Winograd for 3x3, FFT or Winograd for 5x5, stride 1, with
 * enough input channels that the tile transforms (memory-bound, per input
 * channel) are small beside the products they save. */
#define FAST_CONV_MIN_CHANNELS 64
static int fast_conv(const soap_graph *g, const soap_op *o)
{
    if (o->kind != SOAP_OP_CONV2D || o->ninputs < 1)
        return 0;
    const soap_op_params *p = &o->p;
    int k = p->kernel[0];
    return (k == 3 || k == 5) && p->kernel[1] == k && p->stride[0] == 1 && p->stride[1] == 1 &&
           g->ops[o->inputs[0]].out.size[1] >= FAST_CONV_MIN_CHANNELS;
}

/* One pass of the roofline: seconds. eff: the fraction of peak. */
static double pass_time(const soap_device_type *dev, const device_class *cls, double eff,
                        double mem_eff, double flops, double bytes)
{
    double t_compute = 0;
    if (flops > 0) {
        double x_half = dev->peak_flops * cls->t_half;
        /* flops / util(flops) = flops + x_half */
        t_compute = (flops + x_half) / (dev->peak_flops * eff);
    }
    double t_memory = bytes > 0 ? bytes / (dev->mem_bandwidth * mem_eff) : 0;
    return dev->launch_overhead + (t_compute > t_memory ? t_compute : t_memory);
}

soap_task_cost soap_cost_analytic(const soap_graph *g, int op, const soap_region *region,
                                  const soap_device_type *dev)
{
    SOAP_ASSERT(g && op >= 0 && op < g->nops && region && dev);
    SOAP_ASSERT(dev->peak_flops > 0 && dev->mem_bandwidth > 0 && dev->launch_overhead >= 0);
    soap_task_cost tc = {0, 0};
    if (soap_region_empty(region))
        return tc;
    const soap_op *o = &g->ops[op];
    SOAP_ASSERT((int)o->kind >= 0 && o->kind < SOAP_OP_KIND_COUNT);
    soap_op_cost c = soap_op_region_cost(g, op, region);
    const device_class *cls = class_of(dev);
    soap_device_calibration cal = calibration_of(dev, cls);
    double eff = compute_eff(o, cls, &cal);
    if (fast_conv(g, o)) {
        c.fwd_flops /= cal.winograd;
        c.bwd_flops /= cal.winograd;
    }
    tc.fwd_s = pass_time(dev, cls, eff, cal.mem_eff, c.fwd_flops, c.fwd_bytes);
    tc.bwd_s = o->kind == SOAP_OP_INPUT
                   ? 0
                   : pass_time(dev, cls, eff, cal.mem_eff, c.bwd_flops, c.bwd_bytes);
    return tc;
}

/* ------------------------------------------------------------------ */
/* The provider                                                        */
/* ------------------------------------------------------------------ */
/* The analytic model has no state; the provider still hands out a context
 * of its own so that destroy() is uniform. */
typedef struct analytic_ctx {
    long lookups; /* for debugging: tasks costed */
} analytic_ctx;

static void *analytic_create(const char *arg, soap_error *err)
{
    return soap_xcalloc(1, sizeof(analytic_ctx));
}

static void analytic_destroy(void *ctx)
{
    free(ctx);
}

static int analytic_lookup(void *ctx, const soap_device_type *dev, const char *sig,
                           const soap_shape *part, const soap_graph *g, int op,
                           const soap_region *region, soap_task_cost *out)
{
    ((analytic_ctx *)ctx)->lookups++;
    *out = soap_cost_analytic(g, op, region, dev);
    return 1;
}

const soap_cost_ops soap_cost_provider_analytic = {
    .name = "analytic",
    .description = "roofline: launch overhead + max(FLOP / effective peak, bytes / "
                   "bandwidth), with a utilization curve for small tasks",
    .create = analytic_create,
    .destroy = analytic_destroy,
    .lookup = analytic_lookup,
};
