/* The pre-check bound against full simulation (suite "sim_bound").
 *
 * Property: for built-in models on p100x16 and k80x64 (ps / allreduce,
 * overlap / no_overlap), starting from data parallelism, random single-op
 * changes (soap_config_random), some kept through soap_sim_delta so that the
 * resource totals are the ones deltas maintain: before each change,
 * soap_sim_bound_change(op, c) is at most the iteration time soap_sim_full
 * gives the changed strategy on a second simulator (compared exactly; the
 * bound takes its rounding margin itself), it changes nothing (the
 * iteration time and the strategy stay), and it is not vacuous: it is at
 * least the largest sum of forward and backward task times on one device
 * of the full simulation, less the margin, and in the cases marked some
 * changes have a bound above the current time (a search would reject them
 * without building). */
#include <check.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim_testing.h"
#include "soap_sim.h"

#define STEPS 400
#define KEEP 0.3

typedef struct bound_case {
    const char *model;
    const char *machine;
    int ndevices;
    soap_sync_mode sync;
    int no_overlap;
    int some_above; /* some bounds are above the current time (the seeds are
                       fixed: the cases where the compute bound bites) */
} bound_case;

static const bound_case cases[] = {
    /* With the calibrated P100 (faster compute), alexnet's weight sync
     * dominates at 4 devices: the compute bound no longer bites. */
    {"alexnet", "p100x16", 4, SOAP_SYNC_ALLREDUCE, 0, 0},
    {"alexnet", "k80x64", 8, SOAP_SYNC_PS, 1, 0},
    {"inception_v3", "k80x64", 4, SOAP_SYNC_ALLREDUCE, 0, 1},
    {"lenet", "p100x16", 16, SOAP_SYNC_PS, 0, 0},
    {"nmt", "p100x16", 4, SOAP_SYNC_ALLREDUCE, 1, 0},
    {"rnnlm", "k80x64", 8, SOAP_SYNC_PS, 0, 0},
    {"transformer", "p100x16", 4, SOAP_SYNC_ALLREDUCE, 0, 1},
    {"resnet101", "p100x16", 16, SOAP_SYNC_ALLREDUCE, 0, 1},
};

/* The largest sum of forward and backward task durations on one device in
 * the last simulation of sim, seconds. */
static double busiest_compute(const soap_sim *sim, int ndevices)
{
    double busy[SOAP_MAX_DEVICES] = {0};
    for (int i = 0; i < sim_testing_ntasks(sim); i++) {
        sim_testing_task x = sim_testing_task_at(sim, i);
        if (x.kind == SIM_TESTING_FWD || x.kind == SIM_TESTING_BWD)
            busy[x.res] += x.dur;
    }
    double most = 0;
    for (int d = 0; d < ndevices; d++)
        most = fmax(most, busy[d]);
    return most;
}

START_TEST(test_bound_below_full)
{
    const bound_case *bc = &cases[_i];
    soap_error err;
    soap_error_clear(&err);
    soap_machine *m = soap_machine_load(bc->machine, bc->ndevices, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    soap_model_options mo = {.batch = 64 * bc->ndevices, .unroll = 4, .layers = 2,
                             .seq_len = 32};
    soap_graph *g = soap_model_load(bc->model, &mo, &err);
    ck_assert_msg(g != NULL, "%s", err.msg);
    soap_costs *costs = soap_costs_new(NULL, &err);
    ck_assert_msg(costs != NULL, "%s", err.msg);
    soap_sim_options opt = {.sync = bc->sync, .no_overlap = bc->no_overlap};
    soap_sim *a = soap_sim_new(g, m, costs, &opt, &err);
    soap_sim *b = soap_sim_new(g, m, costs, &opt, &err);
    ck_assert_msg(a && b, "%s", err.msg);
    soap_strategy_options so = {.seed = 1};
    soap_strategy *s = soap_strategy_load("data", g, m, &so, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    double t = soap_sim_full(a, s, &err);
    ck_assert_msg(t > 0, "%s", err.msg);
    soap_strategy *changed = soap_strategy_clone(s);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 2000 + (unsigned long)_i);
    soap_dims_mask mask;
    ck_assert(soap_dims_mask_parse("SAP", &mask, &err) == SOAP_OK);
    int above = 0;
    double worst = INFINITY; /* smallest (real - bound) / real */
    for (int step = 0; step < STEPS; step++) {
        int op = (int)gsl_rng_uniform_int(rng, (unsigned long)g->nops);
        soap_config c = soap_config_random(g, op, m->ndevices, &mask, rng);
        double lb = soap_sim_bound_change(a, op, &c);
        ck_assert(sim_testing_iteration(a) == t);
        soap_strategy_copy(changed, soap_sim_strategy(a));
        ck_assert(!soap_config_equal(&changed->configs[op], &c) ||
                  soap_config_equal(&soap_sim_strategy(a)->configs[op], &c));
        changed->configs[op] = c;
        double real = soap_sim_full(b, changed, &err);
        ck_assert_msg(lb <= real, "%s on %s, step %d (op %s): bound %.17g above full %.17g",
                      bc->model, bc->machine, step, g->ops[op].name, lb, real);
        if ((real - lb) / real < worst)
            worst = (real - lb) / real;
        /* Not vacuous: at least what the busiest device computes. */
        double busiest = busiest_compute(b, m->ndevices);
        ck_assert_msg(lb >= busiest * (1 - 1e-6), "step %d: bound %.17g, busiest device %.17g",
                      step, lb, busiest);
        above += lb > t;
        double nt = soap_sim_delta(a, op, &c);
        ck_assert(nt == real);
        if (gsl_rng_uniform(rng) < KEEP) {
            t = nt;
        } else {
            soap_sim_undo(a);
            ck_assert(sim_testing_iteration(a) == t);
        }
    }
    if (getenv("SOAP_TEST_TIMING"))
        fprintf(stderr, "%s on %s at %d: %d of %d bounds above the current time, tightest "
                        "%.3g below\n",
                bc->model, bc->machine, bc->ndevices, above, STEPS, worst);
    ck_assert_msg(above > 0 || !bc->some_above, "%s on %s: no bound above the current time",
                  bc->model, bc->machine);
    gsl_rng_free(rng);
    soap_strategy_free(changed);
    soap_strategy_free(s);
    soap_sim_free(a);
    soap_sim_free(b);
    soap_costs_free(costs);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

Suite *soap_suite_sim_bound(void)
{
    Suite *s = suite_create("sim_bound");
    TCase *tc = tcase_create("random_changes");
    tcase_add_loop_test(tc, test_bound_below_full, 0, (int)(sizeof cases / sizeof cases[0]));
    /* Seconds; the sanitizer build is about ten times slower. */
    tcase_set_timeout(tc, 900);
    suite_add_tcase(s, tc);
    return s;
}
