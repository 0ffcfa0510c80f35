/* Tests of partitioned against unpartitioned execution of the CPU kernels
 * (suite "kern_partition"), one loop test per case of the harness table.
 *
 * The reference is the whole output computed as one task. Then, for every
 * valid degree vector of the op with at most 8 tasks (soap_config_degrees;
 * BATCHNORM only channel splits, since its statistics are per block by
 * definition), each task of the config is run twice: on blocks holding
 * exactly the input, weight, label and output regions core says it needs
 * (copied out of the full tensors), and on the full tensors themselves
 * (blocks larger than needed). The assembled outputs must equal the
 * reference and the summed input and weight gradients the unpartitioned
 * ones, within 1e-5 relative to the element or to the tensor's largest
 * element (sums of partial gradients round differently); every output
 * element must be written (the assembly starts as NaN). For SOFTMAX_CE the
 * per-task loss sums must add up to the whole loss. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern_harness.h"

#define MAX_TASKS 8
#define MAX_CONFIGS 256
#define TOL 1e-5

/* Zeroed gradient tensors shaped like t's (NULL data where t has none). */
static void grads_like(const ktensors *t, soap_block *din, soap_block *dw)
{
    for (int i = 0; i < t->o->ninputs; i++) {
        din[i] = t->din[i];
        if (!din[i].data)
            continue;
        int first = i;
        for (int j = 0; j < i; j++)
            if (t->o->inputs[j] == t->o->inputs[i]) {
                first = j;
                break;
            }
        din[i] = first < i ? din[first] : kt_block(&t->din[i].region);
    }
    for (int k = 0; k < t->o->nweights; k++)
        dw[k] = kt_block(&t->dw[k].region);
}

static void grads_free(const ktensors *t, soap_block *din, soap_block *dw)
{
    for (int i = 0; i < t->o->ninputs; i++) {
        int first = 1;
        for (int j = 0; j < i; j++)
            first = first && t->o->inputs[j] != t->o->inputs[i];
        if (first)
            free(din[i].data);
    }
    for (int k = 0; k < t->o->nweights; k++)
        free(dw[k].data);
}

static void expect_tensor(const char *what, const soap_block *got, const soap_block *want)
{
    int64_t n = soap_region_volume(&want->region);
    double scale = kt_max_abs(want->data, n);
    kt_expect_close(what, got->data, want->data, n, TOL * scale, TOL);
}

static double loss_of(const ktensors *t, const soap_region *r)
{
    soap_region lr = kt_label_region(r);
    soap_region ir = soap_op_input_region(t->g, t->op, 0, r);
    soap_block x = kt_sub(&t->in[0], &ir), l = kt_sub(&t->labels, &lr);
    double sum;
    soap_error err;
    soap_status st = soap_cpu_softmax_ce_loss(t->g, t->op, r, &x, &l, &sum, &err);
    ck_assert_msg(st == SOAP_OK, "%s", err.msg);
    free(x.data);
    free(l.data);
    return sum;
}

START_TEST(partition_case)
{
    const kcase *c = &soap_kcases[_i];
    ktensors t;
    kt_init(&t, c, 2000 + (unsigned long)_i);
    const soap_op *o = t.o;
    soap_region all = soap_region_full(&o->out);
    kt_run_task(&t, &all, 0, 1, &t.y, t.din, t.dw);
    double loss_all = o->kind == SOAP_OP_SOFTMAX_CE ? loss_of(&t, &all) : 0.0;

    soap_dims_mask mask = soap_dims_mask_all();
    static int degs[MAX_CONFIGS][SOAP_MAX_DIMS];
    int ncfg = soap_config_degrees(t.g, t.op, MAX_TASKS, &mask, degs, MAX_CONFIGS);
    ck_assert_int_le(ncfg, MAX_CONFIGS);
    int64_t ny = soap_region_volume(&all);
    int tested = 0;
    for (int ci = 0; ci < ncfg; ci++) {
        soap_config cfg = soap_config_single(t.g, t.op, 0);
        cfg.ntasks = 1;
        int other_split = 0;
        for (int d = 0; d < o->out.ndims; d++) {
            cfg.degree[d] = degs[ci][d];
            cfg.ntasks *= degs[ci][d];
            other_split |= d != 1 && degs[ci][d] > 1;
        }
        if (o->kind == SOAP_OP_BATCHNORM && other_split)
            continue;
        char cs[128];
        soap_config_str(&cfg, cs, sizeof cs);
        for (int exact = 0; exact < 2; exact++) {
            soap_block y = kt_block(&all), din[KT_MAX_IN], dw[SOAP_MAX_WEIGHTS];
            for (int64_t k = 0; k < ny; k++)
                y.data[k] = NAN;
            grads_like(&t, din, dw);
            double loss = 0.0;
            for (int task = 0; task < cfg.ntasks; task++) {
                soap_region r = soap_config_task_region(t.g, t.op, &cfg, task);
                kt_run_task(&t, &r, exact, 1, &y, din, dw);
                if (o->kind == SOAP_OP_SOFTMAX_CE)
                    loss += loss_of(&t, &r);
            }
            char what[256];
            snprintf(what, sizeof what, "%s %s %s: output", c->name, cs,
                     exact ? "exact blocks" : "full blocks");
            expect_tensor(what, &y, &t.y);
            for (int i = 0; i < o->ninputs; i++) {
                if (!din[i].data)
                    continue;
                snprintf(what, sizeof what, "%s %s %s: d input %d", c->name, cs,
                         exact ? "exact blocks" : "full blocks", i);
                expect_tensor(what, &din[i], &t.din[i]);
            }
            for (int k = 0; k < o->nweights; k++) {
                snprintf(what, sizeof what, "%s %s %s: d weight %d", c->name, cs,
                         exact ? "exact blocks" : "full blocks", k);
                expect_tensor(what, &dw[k], &t.dw[k]);
            }
            if (o->kind == SOAP_OP_SOFTMAX_CE)
                expect(fabs(loss - loss_all) <= 1e-9 * fabs(loss_all),
                       "%s %s: loss %.12g, whole %.12g", c->name, cs, loss, loss_all);
            grads_free(&t, din, dw);
            free(y.data);
        }
        tested++;
    }
    /* Every case has at least one split besides degree 1 everywhere. */
    ck_assert_int_gt(tested, 1);
    kt_free(&t);
}
END_TEST

Suite *soap_suite_kern_partition(void);
Suite *soap_suite_kern_partition(void)
{
    Suite *s = suite_create("kern_partition");
    TCase *tc = tcase_create("partitioned_vs_whole");
    tcase_add_loop_test(tc, partition_case, 0, soap_nkcases);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
