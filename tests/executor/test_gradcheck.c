/* Tests of the CPU kernels' backward against central finite differences of
 * their forward (suite "kern_gradcheck"), one loop test per case of the
 * harness table: every input that is not token ids and every weight.
 *
 * The scalar is L = sum(y .* R) with R random (so dy = R), or for
 * SOFTMAX_CE the mean loss over all rows (its backward ignores dy). L is
 * summed in double from the float outputs. Step h = 1e-2 (smooth kinds) or
 * 1e-3 (relu, max pool: inputs on a grid spaced well over 2h, so no kink
 * lies within a step). Float rounding of L puts about 1e-7*sum|y R| / 2h
 * of noise into the difference quotient, and the truncation error is
 * O(h^2); hence tolerance 2e-3 + 1e-2 relative. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern_harness.h"

/* L of the current tensors (forward of the whole output as one task). */
static double objective(const ktensors *t)
{
    soap_region all = soap_region_full(&t->o->out);
    kt_run_task(t, &all, 0, 0, &t->y, t->din, t->dw);
    if (t->o->kind == SOAP_OP_SOFTMAX_CE) {
        double sum;
        soap_error err;
        soap_status st = soap_cpu_softmax_ce_loss(t->g, t->op, &all, &t->in[0], &t->labels,
                                                  &sum, &err);
        ck_assert_msg(st == SOAP_OK, "%s", err.msg);
        return sum / (double)soap_cpu_softmax_ce_rows(t->g, t->op);
    }
    double l = 0.0;
    int64_t n = soap_shape_volume(&t->o->out);
    for (int64_t i = 0; i < n; i++)
        l += (double)t->y.data[i] * t->dy.data[i];
    return l;
}

/* Finite differences of L over every element of x, compared with grad. */
static void check_tensor(const ktensors *t, const char *what, float *x, const float *grad,
                         int64_t n, double h)
{
    float *fd = soap_xmalloc((size_t)n * sizeof *fd);
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        x[i] = (float)(v + h);
        double lp = objective(t);
        x[i] = (float)(v - h);
        double lm = objective(t);
        x[i] = v;
        fd[i] = (float)((lp - lm) / (2.0 * h));
    }
    kt_expect_close(what, grad, fd, n, 2e-3, 1e-2);
    free(fd);
}

START_TEST(gradcheck_case)
{
    const kcase *c = &soap_kcases[_i];
    ktensors t;
    kt_init(&t, c, 1000 + (unsigned long)_i);
    soap_region all = soap_region_full(&t.o->out);
    kt_run_task(&t, &all, 0, 1, &t.y, t.din, t.dw); /* analytic gradients */
    double h = c->kinked ? 1e-3 : 1e-2;
    char what[128];
    int checked = 0;
    for (int i = 0; i < t.o->ninputs; i++) {
        if (!t.diff_in[i])
            continue;
        snprintf(what, sizeof what, "%s: d input %d", c->name, i);
        check_tensor(&t, what, t.in[i].data, t.din[i].data, soap_region_volume(&t.in[i].region),
                     h);
        checked++;
    }
    for (int k = 0; k < t.o->nweights; k++) {
        snprintf(what, sizeof what, "%s: d weight %d", c->name, k);
        check_tensor(&t, what, t.w[k].data, t.dw[k].data, soap_region_volume(&t.w[k].region),
                     h);
        checked++;
    }
    /* Only INPUT and the id-fed embedding lack an input gradient; every
     * other case checks at least one tensor. */
    if (t.o->kind != SOAP_OP_INPUT)
        ck_assert_int_gt(checked, 0);
    kt_free(&t);
}
END_TEST

Suite *soap_suite_kern_gradcheck(void);
Suite *soap_suite_kern_gradcheck(void)
{
    Suite *s = suite_create("kern_gradcheck");
    TCase *tc = tcase_create("backward_vs_finite_differences");
    tcase_add_loop_test(tc, gradcheck_case, 0, soap_nkcases);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
