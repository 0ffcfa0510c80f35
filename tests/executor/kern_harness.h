/* kern_harness.h: what the kernel test suites share: the table of small
 * single-operator graphs (one or more per operator kind), the full tensors
 * of such a graph filled with seeded random data, running one task of the
 * op on blocks copied out of them (exactly the regions core says the task
 * needs) or on the whole tensors, and comparing tensors with the first
 * mismatches reported. */
#ifndef SOAP_KERN_HARNESS_H
#define SOAP_KERN_HARNESS_H

#include <check.h>

#include "exec_testing.h"
#include "soap_strategies.h"

/* An assertion for inner loops: calls Check only on failure (every passing
 * ck_assert writes to Check's pipe). */
#define expect(cond, ...)              \
    do {                               \
        if (!(cond))                   \
            ck_abort_msg(__VA_ARGS__); \
    } while (0)

#define KT_MAX_IN 6

/* A graph of input ops feeding one op under test. */
typedef struct kcase {
    const char *name;
    int (*build)(soap_graph *g); /* adds the inputs and the op; returns its id */
    int kinked; /* relu / max pool: inputs on a spaced grid (no kink within a
                   finite-difference step) */
} kcase;

extern const kcase soap_kcases[];
extern const int soap_nkcases;

/* The full tensors of one case. Inputs and their gradients are per input
 * op (an op used twice as an input is one tensor, so aliasing is tested);
 * in[i] / din[i] are those of input index i. */
typedef struct ktensors {
    soap_graph *g;
    int op;
    const soap_op *o;
    soap_block in[KT_MAX_IN], din[KT_MAX_IN];
    soap_block w[SOAP_MAX_WEIGHTS], dw[SOAP_MAX_WEIGHTS];
    soap_block fed;    /* INPUT under test: the data fed to it */
    soap_block labels; /* SOFTMAX_CE: class ids */
    soap_block y, dy;  /* output; dy = random R */
    int diff_in[KT_MAX_IN]; /* 1: input i gets a gradient (not ids, not a
                               repeat of an earlier input index) */
} ktensors;

/* Builds case c, allocates and fills its tensors from `seed`. */
void kt_init(ktensors *t, const kcase *c, unsigned long seed);
void kt_free(ktensors *t);

/* A zeroed block over r (data NULL for an empty r). */
soap_block kt_block(const soap_region *r);
/* A block over r holding a copy of src's elements there. */
soap_block kt_sub(const soap_block *src, const soap_region *r);
/* Region of the labels of output region r (its leading dims). */
soap_region kt_label_region(const soap_region *r);

/* Runs forward then backward of the task computing region r. exact: blocks
 * holding exactly the needed regions (copies), else the full tensors. The
 * output goes into y (a block containing r); gradients are ADDED into din[]
 * and dw[] (full tensors, one per input index / weight index; din[i].data
 * NULL skips). backward 0: forward only. */
void kt_run_task(const ktensors *t, const soap_region *r, int exact, int backward,
                 const soap_block *y, const soap_block *din, const soap_block *dw);

/* Fails with the first mismatches unless |got - want| <= atol + rtol*|want|
 * everywhere (n elements). what names the tensor. */
void kt_expect_close(const char *what, const float *got, const float *want, int64_t n,
                     double atol, double rtol);

/* Max |x| over n elements. */
double kt_max_abs(const float *x, int64_t n);

#endif
