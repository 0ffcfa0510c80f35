/* Delta simulation against full simulation (suite "sim_delta").
 *
 * Property: for every built-in model (short RNNs, a 2-layer transformer,
 * batch 64 per device) on p100x16 at 4 devices and k80x64 at 8, starting
 * from data parallelism, 1,000 random single-op changes (soap_config_random
 * over all dims), each kept or undone at random; after every step the delta
 * simulator's timeline is the one a second simulator computes from scratch
 * for the same strategy: the same iteration time (compared exactly, ==), the
 * same tasks in the same processing order with the same start and end times
 * (bitwise), and every 100 steps the same figures (busy time per device,
 * bytes, memory, critical path, bounds). Undo restores the previous time
 * exactly. The cases alternate ps / allreduce and overlap / no_overlap;
 * three fold the random configs onto 2 or 3 devices, so that an edge's
 * pieces often share a device pair and travel as one message. Three start
 * from owt instead and put the tasks of half of their random configs on
 * devices 0, 1, ... in order (a split over all devices, as the built-ins
 * place them), so that edges keep entering and leaving the all-gather
 * pattern (ring collectives, soap_decomp_allgather); they check that the
 * number of collective tasks changed along the way.
 * Half of the steps are bounded (soap_sim_delta_limit with a limit up to
 * 20% above the current time): one that gives up returns a lower bound
 * above its limit that the full simulation of the changed strategy
 * confirms, and leaves the timeline exactly as it was.
 *
 * Group changes (soap_sim_delta_many, TCase "group_changes"): the same
 * property for changes of several ops at once, as a search's tied moves
 * make them: the users of a random weight (the steps of an LSTM layer, a
 * shared embedding or projection), often a random subset of them, often
 * with a neighbour (producer or consumer) added so that the set holds the
 * edge between two changed ops, each member with the same random config
 * where it fits all of them, else one of its own. Each change is bounded
 * or not, kept or undone (undo reverts every member); the pre-check bound
 * of the set (soap_sim_bound_change_many) is at most the new time.
 *
 * Also: a delta to the config already in place changes nothing, and a full
 * simulation after deltas starts afresh. */
#include <check.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_testing.h"
#include "soap_sim.h"

#define STEPS 1000
/* The share of changes kept (the rest are undone), as a search keeps some
 * proposals; more would make the strategies, and the test, heavier. */
#define KEEP 0.3

typedef struct delta_case {
    const char *model;
    const char *machine;
    int ndevices;
    soap_sync_mode sync;
    int no_overlap;
    const char *dims; /* the dims random configs may split */
    int fold;         /* > 0: a random config's task on device d runs on
                         d mod fold instead, so that many pieces of an edge
                         share a device pair (one message per pair) */
    const char *start; /* the initial built-in strategy; NULL: data */
    int cyclic;        /* 1: half of the random configs put task t on device
                          t mod ndevices (all-gather edges come and go) */
} delta_case;

static const delta_case cases[] = {
    {"alexnet", "p100x16", 4, SOAP_SYNC_ALLREDUCE, 0, "SAP", 0, NULL, 0},
    {"alexnet", "k80x64", 8, SOAP_SYNC_PS, 1, "SAP", 0, NULL, 0},
    {"inception_v3", "p100x16", 4, SOAP_SYNC_PS, 0, "SAP", 0, NULL, 0},
    {"inception_v3", "k80x64", 4, SOAP_SYNC_ALLREDUCE, 0, "SAP", 0, NULL, 0},
    {"lenet", "p100x16", 4, SOAP_SYNC_ALLREDUCE, 1, "SAP", 0, NULL, 0},
    {"lenet", "k80x64", 8, SOAP_SYNC_PS, 0, "SAP", 0, NULL, 0},
    {"nmt", "p100x16", 4, SOAP_SYNC_ALLREDUCE, 0, "SAP", 0, NULL, 0},
    {"nmt", "k80x64", 8, SOAP_SYNC_ALLREDUCE, 1, "S", 0, NULL, 0},
    {"resnet101", "p100x16", 4, SOAP_SYNC_ALLREDUCE, 0, "SAP", 0, NULL, 0},
    {"resnet101", "k80x64", 4, SOAP_SYNC_PS, 0, "SAP", 0, NULL, 0},
    {"rnnlm", "p100x16", 4, SOAP_SYNC_PS, 1, "SAP", 0, NULL, 0},
    {"rnnlm", "k80x64", 8, SOAP_SYNC_ALLREDUCE, 0, "SAP", 0, NULL, 0},
    {"rnntc", "p100x16", 4, SOAP_SYNC_ALLREDUCE, 0, "SAP", 0, NULL, 0},
    {"rnntc", "k80x64", 8, SOAP_SYNC_PS, 0, "SAP", 0, NULL, 0},
    {"transformer", "p100x16", 4, SOAP_SYNC_ALLREDUCE, 0, "SAP", 0, NULL, 0},
    {"transformer", "k80x64", 8, SOAP_SYNC_ALLREDUCE, 1, "SAP", 0, NULL, 0},
    /* The paper's runtime on two nodes (k80x64: 4 GPUs a node; p100x16: 4). */
    {"lenet", "k80x64", 8, SOAP_SYNC_MASTER, 0, "SAP", 0, NULL, 0},
    {"rnnlm", "p100x16", 8, SOAP_SYNC_MASTER, 1, "SAP", 0, NULL, 0},
    {"inception_v3", "k80x64", 8, SOAP_SYNC_ALLREDUCE, 0, "SAP", 3, NULL, 0},
    {"nmt", "p100x16", 4, SOAP_SYNC_PS, 0, "SAP", 2, NULL, 0},
    {"transformer", "k80x64", 8, SOAP_SYNC_PS, 1, "SAP", 2, NULL, 0},
    {"nmt", "k80x64", 4, SOAP_SYNC_ALLREDUCE, 0, "SAP", 0, "owt", 1},
    {"transformer", "p100x16", 4, SOAP_SYNC_PS, 0, "SAP", 0, "owt", 1},
    {"alexnet", "k80x64", 8, SOAP_SYNC_ALLREDUCE, 1, "SAP", 0, "owt", 1},
};

typedef struct fixture {
    soap_graph *g;
    soap_machine *m;
    soap_costs *costs;
    soap_sim *a, *b; /* a: deltas; b: full simulations */
    soap_strategy *s;
} fixture;

static void setup(fixture *f, const delta_case *dc)
{
    soap_error err;
    soap_error_clear(&err);
    f->m = soap_machine_load(dc->machine, dc->ndevices, &err);
    ck_assert_msg(f->m != NULL, "%s", err.msg);
    soap_model_options o = {.batch = 64 * dc->ndevices, .unroll = 4, .layers = 2,
                            .seq_len = 32};
    f->g = soap_model_load(dc->model, &o, &err);
    ck_assert_msg(f->g != NULL, "%s", err.msg);
    f->costs = soap_costs_new(NULL, &err);
    ck_assert_msg(f->costs != NULL, "%s", err.msg);
    soap_sim_options opt = {.sync = dc->sync, .no_overlap = dc->no_overlap};
    f->a = soap_sim_new(f->g, f->m, f->costs, &opt, &err);
    f->b = soap_sim_new(f->g, f->m, f->costs, &opt, &err);
    ck_assert_msg(f->a && f->b, "%s", err.msg);
    soap_strategy_options so = {.seed = 1};
    f->s = soap_strategy_load(dc->start ? dc->start : "data", f->g, f->m, &so, &err);
    ck_assert_msg(f->s != NULL, "%s", err.msg);
}

static void teardown(fixture *f)
{
    soap_sim_free(f->a);
    soap_sim_free(f->b);
    soap_strategy_free(f->s);
    soap_costs_free(f->costs);
    soap_machine_free(f->m);
    soap_graph_free(f->g);
}

/* The two simulators processed the same tasks in the same order with the
 * same times. */
static void same_timeline(const soap_sim *a, const soap_sim *b, int step)
{
    int n = sim_testing_ntasks(a);
    ck_assert_msg(n == sim_testing_ntasks(b), "step %d: %d tasks after deltas, %d in full",
                  step, n, sim_testing_ntasks(b));
    for (int i = 0; i < n; i++) {
        sim_testing_task x = sim_testing_task_at(a, i), y = sim_testing_task_at(b, i);
        if (x.key != y.key || x.start != y.start || x.end != y.end || x.dur != y.dur ||
            x.res != y.res) {
            char la[256], lb[256];
            sim_testing_label(a, i, la, sizeof la);
            sim_testing_label(b, i, lb, sizeof lb);
            ck_abort_msg("step %d, position %d: delta has %s [%.17g, %.17g] on %d, full has "
                         "%s [%.17g, %.17g] on %d",
                         step, i, la, x.start, x.end, x.res, lb, y.start, y.end, y.res);
        }
    }
}

static void same_results(soap_sim *a, soap_sim *b, int step)
{
    soap_sim_result ra, rb;
    soap_sim_result_get(a, &ra);
    soap_sim_result_get(b, &rb);
    ck_assert(ra.iteration_s == rb.iteration_s);
    for (int d = 0; d < ra.ndevices; d++) {
        ck_assert_msg(ra.busy_s[d] == rb.busy_s[d], "step %d device %d: busy %.17g vs %.17g",
                      step, d, ra.busy_s[d], rb.busy_s[d]);
        ck_assert_msg(ra.peak_mem[d] == rb.peak_mem[d], "step %d device %d: memory", step, d);
    }
    ck_assert(ra.bytes_total == rb.bytes_total);
    for (int k = 0; k < SOAP_LINK_KIND_COUNT; k++)
        ck_assert(ra.bytes_by_kind[k] == rb.bytes_by_kind[k]);
    ck_assert(ra.lb_s == rb.lb_s && ra.critical_path_s == rb.critical_path_s);
    ck_assert(ra.ntasks == rb.ntasks && ra.nsync == rb.nsync && ra.ncomm == rb.ncomm);
    /* The schedule's longest path is the iteration time; the bounds are
     * below it. */
    ck_assert_msg(ra.critical_path_s == ra.iteration_s, "step %d: critical %.17g, time %.17g",
                  step, ra.critical_path_s, ra.iteration_s);
    ck_assert_msg(ra.lb_work_s <= ra.iteration_s && ra.lb_critical_s <= ra.iteration_s &&
                      ra.lb_link_s <= ra.iteration_s,
                  "step %d: bounds %g %g %g above time %g", step, ra.lb_work_s,
                  ra.lb_critical_s, ra.lb_link_s, ra.iteration_s);
    soap_sim_result_free(&ra);
    soap_sim_result_free(&rb);
}

/* Tasks of all-gather collectives in the last simulation (their labels
 * name them). */
static int gather_tasks(const soap_sim *sim)
{
    char label[256];
    int n = 0;
    for (int i = 0; i < sim_testing_ntasks(sim); i++) {
        sim_testing_label(sim, i, label, sizeof label);
        n += strncmp(label, "all-gather ", 11) == 0;
    }
    return n;
}

START_TEST(test_delta_equals_full)
{
    const delta_case *dc = &cases[_i];
    clock_t t_start = clock();
    fixture f;
    setup(&f, dc);
    soap_error err;
    soap_error_clear(&err);
    double t = soap_sim_full(f.a, f.s, &err);
    ck_assert_msg(t > 0, "%s", err.msg);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1000 + (unsigned long)_i);
    soap_dims_mask mask;
    ck_assert(soap_dims_mask_parse(dc->dims, &mask, &err) == SOAP_OK);
    int kept = 0, limited = 0, gather_min = INT32_MAX, gather_max = 0;
    for (int step = 0; step < STEPS; step++) {
        int op = (int)gsl_rng_uniform_int(rng, (unsigned long)f.g->nops);
        soap_config c = soap_config_random(f.g, op, f.m->ndevices, &mask, rng);
        for (int k = 0; dc->fold > 0 && k < c.ntasks; k++)
            c.device[k] = (int16_t)(c.device[k] % dc->fold);
        if (dc->cyclic && gsl_rng_uniform(rng) < 0.5)
            for (int k = 0; k < c.ntasks; k++)
                c.device[k] = (int16_t)(k % f.m->ndevices);
        double before = t;
        /* Half of the steps bounded, as a Metropolis-Hastings step with its
         * threshold drawn first: a bounded delta that gives up must have
         * undone itself and have had a reason (the real time is above the
         * limit, and at least the value returned). */
        int exact = 1;
        double limit = INFINITY;
        if (gsl_rng_uniform(rng) < 0.5)
            limit = before * (1 + 0.2 * gsl_rng_uniform(rng));
        t = soap_sim_delta_limit(f.a, op, &c, limit, &exact);
        if (!exact) {
            limited++;
            soap_strategy *changed = soap_strategy_clone(soap_sim_strategy(f.a));
            ck_assert(!soap_config_equal(&changed->configs[op], &c));
            changed->configs[op] = c;
            double real = soap_sim_full(f.b, changed, &err);
            soap_strategy_free(changed);
            ck_assert_msg(t > limit && real >= t, "step %d: bound %.17g, limit %.17g, real %.17g",
                          step, t, limit, real);
            ck_assert(sim_testing_iteration(f.a) == before);
            t = before;
            double full = soap_sim_full(f.b, soap_sim_strategy(f.a), &err);
            ck_assert(full == t);
            same_timeline(f.a, f.b, step);
            continue;
        }
        ck_assert(t > 0);
        ck_assert(soap_config_equal(&soap_sim_strategy(f.a)->configs[op], &c));
        if (gsl_rng_uniform(rng) >= KEEP) {
            soap_sim_undo(f.a);
            ck_assert_msg(sim_testing_iteration(f.a) == before,
                          "step %d: undo gives %.17g, was %.17g", step,
                          sim_testing_iteration(f.a), before);
            t = before;
        } else {
            kept++;
        }
        double full = soap_sim_full(f.b, soap_sim_strategy(f.a), &err);
        ck_assert_msg(full == t, "%s on %s, step %d (op %s): delta %.17g, full %.17g",
                      dc->model, dc->machine, step, f.g->ops[op].name, t, full);
        same_timeline(f.a, f.b, step);
        if (step % 100 == 99)
            same_results(f.a, f.b, step);
        if (dc->cyclic && step % 10 == 0) {
            int n = gather_tasks(f.b);
            gather_min = n < gather_min ? n : gather_min;
            gather_max = n > gather_max ? n : gather_max;
        }
    }
    if (getenv("SOAP_TEST_TIMING"))
        fprintf(stderr, "%s on %s at %d: %d tasks at the end, %.1f s\n", dc->model,
                dc->machine, dc->ndevices, sim_testing_ntasks(f.a),
                (double)(clock() - t_start) / CLOCKS_PER_SEC);
    ck_assert(kept > STEPS / 10);
    ck_assert_msg(!dc->cyclic || gather_min < gather_max,
                  "%s on %s: all-gather tasks between %d and %d: no edge entered or left "
                  "the pattern", dc->model, dc->machine, gather_min, gather_max);
    ck_assert_msg(limited >= 5, "%s on %s: only %d bounded deltas gave up", dc->model,
                  dc->machine, limited);
    gsl_rng_free(rng);
    teardown(&f);
}
END_TEST

/* Group changes: cases of models with shared weights (and one without:
 * its weights have one user, the sets are a weight's user and
 * neighbours). */
static const delta_case group_cases[] = {
    {"nmt", "p100x16", 4, SOAP_SYNC_ALLREDUCE, 0, "SAP", 0, NULL, 0},
    {"nmt", "p100x16", 4, SOAP_SYNC_PS, 0, "SAP", 2, NULL, 0},
    {"rnnlm", "k80x64", 8, SOAP_SYNC_PS, 0, "SAP", 0, NULL, 0},
    {"rnntc", "p100x16", 4, SOAP_SYNC_ALLREDUCE, 1, "SAP", 0, NULL, 0},
    {"rnnlm", "p100x16", 4, SOAP_SYNC_ALLREDUCE, 0, "S", 3, NULL, 0},
    {"inception_v3", "k80x64", 8, SOAP_SYNC_PS, 0, "SAP", 0, NULL, 0},
};
#define GROUP_STEPS 400

/* A random set of ops around a random weight (its users, some of them
 * dropped, maybe a neighbour of one added; distinct, at least one) into
 * ops[]; returns the count. */
static int random_set(const soap_graph *g, gsl_rng *rng, int *ops)
{
    int w = (int)gsl_rng_uniform_int(rng, (unsigned long)g->nweights);
    int n = 0;
    double keep = gsl_rng_uniform(rng) < 0.5 ? 1.0 : 0.6;
    for (int op = 0; op < g->nops; op++)
        for (int k = 0; k < g->ops[op].nweights; k++)
            if (g->ops[op].weights[k] == w) {
                if (gsl_rng_uniform(rng) < keep)
                    ops[n++] = op;
                break;
            }
    if (n == 0)
        ops[n++] = g->weights[w].owner;
    if (gsl_rng_uniform(rng) < 0.5) {
        /* A neighbour of a member: the edge between them is in the set. */
        int id = ops[gsl_rng_uniform_int(rng, (unsigned long)n)];
        const soap_op *o = &g->ops[id];
        int x = -1;
        if (o->ninputs > 0 && gsl_rng_uniform(rng) < 0.5) {
            x = o->inputs[gsl_rng_uniform_int(rng, (unsigned long)o->ninputs)];
        } else {
            for (int op = id + 1; op < g->nops && x < 0; op++)
                for (int i = 0; i < g->ops[op].ninputs; i++)
                    if (g->ops[op].inputs[i] == id)
                        x = op;
        }
        int dup = x < 0;
        for (int i = 0; i < n && !dup; i++)
            dup = ops[i] == x;
        if (!dup)
            ops[n++] = x;
    }
    return n;
}

START_TEST(test_group_delta_equals_full)
{
    const delta_case *dc = &group_cases[_i];
    fixture f;
    setup(&f, dc);
    soap_error err;
    soap_error_clear(&err);
    double t = soap_sim_full(f.a, f.s, &err);
    ck_assert_msg(t > 0, "%s", err.msg);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 2000 + (unsigned long)_i);
    soap_dims_mask mask;
    ck_assert(soap_dims_mask_parse(dc->dims, &mask, &err) == SOAP_OK);
    int *ops = malloc((size_t)f.g->nops * sizeof *ops);
    soap_config *cfgs = malloc((size_t)f.g->nops * sizeof *cfgs);
    int kept = 0, limited = 0, multi = 0, shared_cfg = 0;
    for (int step = 0; step < GROUP_STEPS; step++) {
        int n = random_set(f.g, rng, ops);
        multi += n > 1;
        /* One config for every member where it fits them all. */
        soap_config one = soap_config_random(f.g, ops[0], f.m->ndevices, &mask, rng);
        int fits = 1;
        for (int i = 0; i < n && fits; i++)
            fits = soap_config_check(f.g, ops[i], &one, f.m->ndevices, &err) == SOAP_OK;
        shared_cfg += fits && n > 1;
        for (int i = 0; i < n; i++) {
            cfgs[i] = fits ? one : soap_config_random(f.g, ops[i], f.m->ndevices, &mask, rng);
            for (int k = 0; dc->fold > 0 && k < cfgs[i].ntasks; k++)
                cfgs[i].device[k] = (int16_t)(cfgs[i].device[k] % dc->fold);
        }
        soap_strategy *changed = soap_strategy_clone(soap_sim_strategy(f.a));
        for (int i = 0; i < n; i++)
            changed->configs[ops[i]] = cfgs[i];
        double real = soap_sim_full(f.b, changed, &err);
        double lb = soap_sim_bound_change_many(f.a, n, ops, cfgs);
        ck_assert_msg(lb <= real, "step %d: bound %.17g above the time %.17g", step, lb, real);
        double before = t;
        int exact = 1;
        double limit = INFINITY;
        if (gsl_rng_uniform(rng) < 0.5)
            limit = before * (1 + 0.2 * gsl_rng_uniform(rng));
        t = soap_sim_delta_many(f.a, n, ops, cfgs, limit, &exact);
        if (!exact) {
            limited++;
            ck_assert_msg(t > limit && real >= t, "step %d: bound %.17g, limit %.17g, real %.17g",
                          step, t, limit, real);
            ck_assert(sim_testing_iteration(f.a) == before);
            t = before;
        } else {
            ck_assert_msg(t == real, "%s on %s, step %d (%d ops from %s): delta %.17g, full %.17g",
                          dc->model, dc->machine, step, n, f.g->ops[ops[0]].name, t, real);
            for (int i = 0; i < n; i++)
                ck_assert(soap_config_equal(&soap_sim_strategy(f.a)->configs[ops[i]], &cfgs[i]));
            same_timeline(f.a, f.b, step);
            if (gsl_rng_uniform(rng) >= KEEP) {
                soap_sim_undo(f.a);
                ck_assert_msg(sim_testing_iteration(f.a) == before,
                              "step %d: undo gives %.17g, was %.17g", step,
                              sim_testing_iteration(f.a), before);
                t = before;
            } else {
                kept++;
            }
        }
        soap_strategy_free(changed);
        double full = soap_sim_full(f.b, soap_sim_strategy(f.a), &err);
        ck_assert_msg(full == t, "step %d: after the change %.17g, full %.17g", step, t, full);
        same_timeline(f.a, f.b, step);
        if (step % 100 == 99)
            same_results(f.a, f.b, step);
    }
    ck_assert(kept > GROUP_STEPS / 20);
    ck_assert(multi > GROUP_STEPS / 4);
    ck_assert_msg(limited >= 5, "%s on %s: only %d bounded deltas gave up", dc->model,
                  dc->machine, limited);
    if (strcmp(dc->model, "inception_v3") != 0)
        ck_assert_msg(shared_cfg > GROUP_STEPS / 10, "only %d changes with one config",
                      shared_cfg);
    free(ops);
    free(cfgs);
    gsl_rng_free(rng);
    teardown(&f);
}
END_TEST

/* A delta to the config in place and its undo change nothing; soap_sim_full
 * after deltas starts again from the given strategy. */
START_TEST(test_delta_edges)
{
    fixture f;
    setup(&f, &cases[6]); /* nmt, allreduce */
    soap_error err;
    soap_error_clear(&err);
    double t0 = soap_sim_full(f.a, f.s, &err);
    int op = f.g->nops / 2;
    soap_config same = f.s->configs[op];
    ck_assert(soap_sim_delta(f.a, op, &same) == t0);
    soap_sim_undo(f.a);
    ck_assert(sim_testing_iteration(f.a) == t0);
    /* Move one op to another device and back by hand. */
    soap_config moved = soap_config_single(f.g, op, 3);
    double t1 = soap_sim_delta(f.a, op, &moved);
    ck_assert(soap_sim_full(f.b, soap_sim_strategy(f.a), &err) == t1);
    ck_assert(soap_sim_delta(f.a, op, &same) == t0);
    /* Undo twice: the second does nothing. */
    soap_sim_delta(f.a, op, &moved);
    soap_sim_undo(f.a);
    soap_sim_undo(f.a);
    ck_assert(sim_testing_iteration(f.a) == t0);
    ck_assert(soap_config_equal(&soap_sim_strategy(f.a)->configs[op], &same));
    /* Full after deltas. */
    soap_sim_delta(f.a, op, &moved);
    ck_assert(soap_sim_full(f.a, f.s, &err) == t0);
    ck_assert(soap_sim_full(f.b, f.s, &err) == t0);
    same_timeline(f.a, f.b, -1);
    teardown(&f);
}
END_TEST

Suite *soap_suite_sim_delta(void)
{
    Suite *s = suite_create("sim_delta");
    TCase *tc = tcase_create("random_changes");
    tcase_add_loop_test(tc, test_delta_equals_full, 0, (int)(sizeof cases / sizeof cases[0]));
    /* Seconds; the sanitizer build is about ten times slower. */
    tcase_set_timeout(tc, 900);
    suite_add_tcase(s, tc);
    tc = tcase_create("group_changes");
    tcase_add_loop_test(tc, test_group_delta_equals_full, 0,
                        (int)(sizeof group_cases / sizeof group_cases[0]));
    tcase_set_timeout(tc, 900);
    suite_add_tcase(s, tc);
    tc = tcase_create("edges");
    tcase_add_test(tc, test_delta_edges);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
