/* The runner (suite "runner"): partitioned execution equals unpartitioned
 * execution, and the executor's interface.
 *
 * Equality: for every built-in model (tiny variant, batch 8, 3 RNN steps,
 * a 1-layer transformer) on cpu-4, the built-in strategies (data, model,
 * owt) and random ones (soap_config_random over every dim, except that a
 * batchnorm is split only by channels: its statistics are those of the
 * task's own block, so a sample or row split computes something else by
 * definition) run one training step; its loss and every updated weight
 * equal those of the same model on one device within 1e-4 relative (each
 * element: |a - b| <= 1e-4 (|b| + max |b| of the tensor) / 2, summation order
 * differs between the runs). A second step still agrees within 1e-3 (the
 * updates were applied to every replica alike; deep models amplify the
 * first step's rounding).
 *
 * Also: the same seed gives bitwise the same loss; the loss of a few steps
 * goes down on a model that can fit its random labels; errors: an unknown
 * backend, the cuda backend in a build without it, a strategy made for
 * another model, bad arguments to soap_exec_run.
 */
#include <check.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soap_exec.h"
#include "soap_sim.h"

#define DEVICES 4
#define RANDOM_STRATEGIES 3

static const char *const models[] = {"lenet", "alexnet", "inception_v3", "resnet101",
                                     "rnntc", "rnnlm", "nmt", "transformer"};
#define NMODELS ((int)(sizeof models / sizeof models[0]))

static soap_graph *tiny_model(const char *name)
{
    soap_model_options o = {.batch = 8, .unroll = 3, .layers = 1, .seq_len = 8, .tiny = 1};
    soap_error err;
    soap_error_clear(&err);
    soap_graph *g = soap_model_load(name, &o, &err);
    ck_assert_msg(g != NULL, "%s", err.msg);
    return g;
}

static soap_machine *machine(int n)
{
    soap_error err;
    soap_error_clear(&err);
    char name[16];
    snprintf(name, sizeof name, "cpu-%d", n);
    soap_machine *m = soap_machine_load(name, 0, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    return m;
}

/* One step of s; the loss and every weight after it (whole, concatenated). */
typedef struct outcome {
    double loss, loss2;
    float *w;
    int64_t nw;
} outcome;

static outcome run_steps(const soap_graph *g, const soap_machine *m, const soap_strategy *s)
{
    soap_error err;
    soap_error_clear(&err);
    const soap_backend_ops *b = soap_backend_find("cpu", &err);
    ck_assert_msg(b != NULL, "%s", err.msg);
    soap_exec_options eo = {.seed = 7, .lr = 0.05};
    soap_exec *x = soap_exec_new(b, g, m, s, &eo, &err);
    ck_assert_msg(x != NULL, "%s", err.msg);
    outcome r;
    memset(&r, 0, sizeof r);
    double sec;
    ck_assert_msg(soap_exec_step(x, &r.loss, &sec, &err) == SOAP_OK, "%s", err.msg);
    ck_assert(sec >= 0);
    for (int w = 0; w < g->nweights; w++)
        r.nw += soap_shape_volume(&g->weights[w].shape);
    r.w = soap_xmalloc((size_t)r.nw * sizeof *r.w);
    int64_t off = 0;
    for (int w = 0; w < g->nweights; w++) {
        soap_exec_weight(x, w, r.w + off);
        off += soap_shape_volume(&g->weights[w].shape);
    }
    ck_assert_msg(soap_exec_step(x, &r.loss2, &sec, &err) == SOAP_OK, "%s", err.msg);
    soap_exec_free(x);
    return r;
}

static void same_outcome(const soap_graph *g, const outcome *a, const outcome *ref,
                         const char *what)
{
    ck_assert_msg(isfinite(ref->loss) && ref->loss > 0, "%s: reference loss %g", g->name,
                  ref->loss);
    ck_assert_msg(fabs(a->loss - ref->loss) <= 1e-4 * fabs(ref->loss),
                  "%s, %s: loss %.9g, one device %.9g", g->name, what, a->loss, ref->loss);
    /* The second forward pass runs on weights that already differ by
     * rounding; a 100-layer network amplifies that (resnet101: about 1e-4). */
    ck_assert_msg(fabs(a->loss2 - ref->loss2) <= 1e-3 * fabs(ref->loss2),
                  "%s, %s: second loss %.9g, one device %.9g", g->name, what, a->loss2,
                  ref->loss2);
    int64_t off = 0;
    for (int w = 0; w < g->nweights; w++) {
        int64_t n = soap_shape_volume(&g->weights[w].shape);
        double big = 0;
        for (int64_t i = 0; i < n; i++)
            big = fmax(big, fabs(ref->w[off + i]));
        for (int64_t i = 0; i < n; i++) {
            double x = a->w[off + i], y = ref->w[off + i];
            ck_assert_msg(fabs(x - y) <= 0.5e-4 * (fabs(y) + big),
                          "%s, %s: weight %s[%lld] = %.9g after one step, one device %.9g",
                          g->name, what, g->weights[w].name, (long long)i, x, y);
        }
        off += n;
    }
}

/* A random strategy; batchnorm split by channels only. */
static soap_strategy *random_strategy(const soap_graph *g, const soap_machine *m, gsl_rng *rng)
{
    soap_strategy *s = soap_strategy_new(g, m);
    soap_dims_mask all = soap_dims_mask_all(), chan = all;
    chan.allow[SOAP_DIM_SAMPLE] = chan.allow[SOAP_DIM_ATTRIBUTE] = 0;
    for (int op = 0; op < g->nops; op++)
        s->configs[op] = soap_config_random(g, op, m->ndevices,
                                            g->ops[op].kind == SOAP_OP_BATCHNORM ? &chan : &all,
                                            rng);
    return s;
}

static soap_strategy *builtin(const char *name, const soap_graph *g, const soap_machine *m)
{
    soap_error err;
    soap_error_clear(&err);
    soap_strategy_options so = {.seed = 3};
    soap_strategy *s = soap_strategy_load(name, g, m, &so, &err);
    ck_assert_msg(s != NULL, "%s: %s", name, err.msg);
    /* data / owt split batchnorm by samples: keep its channels split only. */
    for (int op = 0; op < g->nops; op++)
        if (g->ops[op].kind == SOAP_OP_BATCHNORM)
            s->configs[op] = soap_config_single(g, op, s->configs[op].device[0]);
    return s;
}

START_TEST(test_partitioned_equals_whole)
{
    soap_graph *g = tiny_model(models[_i]);
    soap_machine *one = machine(1), *m = machine(DEVICES);
    soap_strategy *s1 = soap_strategy_new(g, one);
    outcome ref = run_steps(g, one, s1);
    soap_strategy_free(s1);

    static const char *const names[] = {"data", "model", "owt"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        soap_strategy *s = builtin(names[k], g, m);
        outcome o = run_steps(g, m, s);
        same_outcome(g, &o, &ref, names[k]);
        free(o.w);
        soap_strategy_free(s);
    }
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11 + (unsigned long)_i);
    for (int k = 0; k < RANDOM_STRATEGIES; k++) {
        soap_strategy *s = random_strategy(g, m, rng);
        outcome o = run_steps(g, m, s);
        char what[32];
        snprintf(what, sizeof what, "random strategy %d", k);
        same_outcome(g, &o, &ref, what);
        free(o.w);
        soap_strategy_free(s);
    }
    gsl_rng_free(rng);
    free(ref.w);
    soap_machine_free(one);
    soap_machine_free(m);
    soap_graph_free(g);
}
END_TEST

/* Same seed, same loss bitwise; the loss goes down over steps. */
START_TEST(test_deterministic_and_learning)
{
    soap_graph *g = tiny_model("lenet");
    soap_machine *m = machine(2);
    soap_strategy *s = builtin("data", g, m);
    outcome a = run_steps(g, m, s), b = run_steps(g, m, s);
    ck_assert(a.loss == b.loss && a.loss2 == b.loss2);
    ck_assert(memcmp(a.w, b.w, (size_t)a.nw * sizeof *a.w) == 0);
    free(a.w);
    free(b.w);

    soap_error err;
    soap_error_clear(&err);
    soap_exec_options eo = {.seed = 1, .lr = 0.1};
    soap_exec *x = soap_exec_new(soap_backend_find("cpu", NULL), g, m, s, &eo, &err);
    ck_assert_msg(x != NULL, "%s", err.msg);
    soap_run_result r;
    ck_assert_msg(soap_exec_run(x, 0, 30, &r, &err) == SOAP_OK, "%s", err.msg);
    ck_assert_msg(r.last_loss < 0.8 * r.first_loss, "loss %g after 30 steps, %g at first",
                  r.last_loss, r.first_loss);
    ck_assert(r.iters == 30 && r.min_s <= r.median_s && r.median_s <= r.max_s);
    ck_assert(soap_exec_device_bytes(x, 0) > 0 && soap_exec_device_bytes(x, 1) > 0);
    ck_assert_int_eq(soap_exec_run(x, 0, 0, &r, &err), SOAP_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "at least 1 timed iteration") != NULL, "%s", err.msg);
    soap_exec_free(x);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
}
END_TEST

START_TEST(test_errors)
{
    soap_error err;
    soap_error_clear(&err);
    ck_assert(soap_backend_find("tpu", &err) == NULL);
    ck_assert_int_eq(err.code, SOAP_ERR_NOT_FOUND);
    ck_assert_msg(strstr(err.msg, "unknown backend 'tpu'") && strstr(err.msg, "cpu") &&
                      strstr(err.msg, "cuda"),
                  "%s", err.msg);

    soap_graph *g = tiny_model("lenet"), *h = tiny_model("alexnet");
    soap_machine *m = machine(2);
    const soap_backend_ops *cuda = soap_backend_find("cuda", &err);
    ck_assert(cuda != NULL);
    soap_strategy *s = soap_strategy_new(g, m);
    /* No build has the CUDA backend yet: its entry says so. */
    soap_error_clear(&err);
    ck_assert(soap_exec_new(cuda, g, m, s, NULL, &err) == NULL);
    ck_assert_int_eq(err.code, SOAP_ERR_NOT_BUILT);
    ck_assert_msg(strstr(err.msg, "not built") != NULL, "%s", err.msg);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
    soap_graph_free(h);
}
END_TEST

/* A strategy for lenet handed to the executor with alexnet: strategies are
 * checked where they are loaded, so this is a broken invariant (abort). */
START_TEST(test_mismatch_aborts)
{
    soap_error err;
    soap_error_clear(&err);
    soap_graph *g = tiny_model("lenet"), *h = tiny_model("alexnet");
    soap_machine *m = machine(2);
    soap_strategy *s = soap_strategy_new(g, m);
    soap_exec_new(soap_backend_find("cpu", NULL), h, m, s, NULL, &err);
}
END_TEST

START_TEST(test_kendall)
{
    const double a[] = {1, 2, 3, 4}, same[] = {10, 20, 30, 40}, rev[] = {4, 3, 2, 1};
    const double one_swap[] = {1, 3, 2, 4};
    ck_assert_double_eq_tol(soap_kendall_tau(a, same, 4), 1, 1e-12);
    ck_assert_double_eq_tol(soap_kendall_tau(a, rev, 4), -1, 1e-12);
    /* 5 concordant pairs, 1 discordant, of 6. */
    ck_assert_double_eq_tol(soap_kendall_tau(a, one_swap, 4), 4.0 / 6.0, 1e-12);
    ck_assert_double_eq(soap_kendall_tau(a, same, 1), 0);
}
END_TEST

Suite *soap_suite_runner(void)
{
    Suite *s = suite_create("runner");
    TCase *tc = tcase_create("partitioned_equals_whole");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_partitioned_equals_whole, 0, NMODELS);
    suite_add_tcase(s, tc);
    tc = tcase_create("runs");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_deterministic_and_learning);
    tcase_add_test(tc, test_errors);
    tcase_add_test_raise_signal(tc, test_mismatch_aborts, SIGABRT);
    tcase_add_test(tc, test_kendall);
    suite_add_tcase(s, tc);
    return s;
}
