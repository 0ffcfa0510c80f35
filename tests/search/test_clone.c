/* Tests of simulator clones and shared costs (suite "sim_clone"), which is
 * how a search gives its extra threads simulators:
 *  - soap_costs_share: a handle on the same loaded table (nothing re-read:
 *    the file is gone by then) with a cache and counts of its own, valid
 *    after the handle it came from is freed;
 *  - soap_sim_clone: the same results as its original (full and delta
 *    simulation, memory, measured costs) with the table file gone, and the
 *    same results when the clone and the original run on two threads at
 *    once;
 *  - a search with three threads on a cost table whose file is gone gives
 *    the single-thread answer (extra threads used to re-read the table from
 *    its path).
 * The cost table is written by the test: made-up measured times for the
 * data-parallel partitions of every op, so that measured and analytic
 * costs differ. */
#include <check.h>
#include <gsl/gsl_rng.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "search_fixture.h"
#include "test_util.h"

/* Rows for every op's partitions of the sample dim (degree 1, 2, 4):
 * fwd = 1e-4 s * (op + 1) / degree, bwd twice that. */
static void write_table(const soap_graph *g, const soap_machine *m, char *path, size_t len)
{
    soap_test_tmpfile(path, len, ".csv");
    unlink(path);
    soap_error err;
    soap_error_clear(&err);
    char sig[1024];
    for (int op = 0; op < g->nops; op++) {
        soap_op_signature(g, op, sig, sizeof sig);
        for (int k = 1; k <= 4; k *= 2) {
            soap_shape part = g->ops[op].out;
            if (part.size[0] % k)
                continue;
            part.size[0] /= k;
            soap_task_cost c = {1e-4 * (op + 1) / k, 2e-4 * (op + 1) / k};
            soap_status st = soap_cost_table_append(path, m->types[0].name, sig, &part, c, &err);
            ck_assert_msg(st == SOAP_OK, "%s", err.msg);
        }
    }
}

/* lenet on 4 P100s with the test's table, the file deleted once loaded. */
static void setup(fixture *f)
{
    const char *const inits[] = {"data", "expert", "random"};
    fix_setup(f, "lenet", "p100x16", 4, 64, inits, 3);
    char path[64];
    write_table(f->g, f->m, path, sizeof path);
    fix_use_table(f, path);
    ck_assert_int_eq(unlink(path), 0);
}

/* `n` random strategies of the search space, from `seed`. */
static soap_strategy **random_strategies(const fixture *f, int n, unsigned long seed)
{
    soap_search_space sp = soap_search_space_all();
    soap_space *space = soap_space_new(f->g, f->m->ndevices, &sp);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    soap_strategy **s = soap_xcalloc((size_t)n, sizeof *s);
    for (int i = 0; i < n; i++) {
        s[i] = soap_strategy_clone(f->inits[0]);
        soap_space_random_strategy(space, rng, s[i]);
    }
    gsl_rng_free(rng);
    soap_space_free(space);
    return s;
}

static void free_strategies(soap_strategy **s, int n)
{
    for (int i = 0; i < n; i++)
        soap_strategy_free(s[i]);
    free(s);
}

START_TEST(test_costs_share)
{
    fixture f;
    setup(&f);
    soap_error err;
    soap_error_clear(&err);
    const soap_device_type *dev = &f.m->types[0];
    int op = f.g->nops - 1;
    soap_region whole = soap_region_full(&f.g->ops[op].out);
    soap_task_cost a = soap_costs_task(f.costs, f.g, op, &whole, dev);
    ck_assert(a.fwd_s == 1e-4 * (op + 1) && a.bwd_s == 2e-4 * (op + 1));
    long measured = -1, analytic = -1;
    soap_costs_counts(f.costs, &measured, &analytic);
    ck_assert_int_eq(measured, 1);
    /* The table file is gone: a shared handle still has its rows, and a
     * cache of its own (nothing counted yet). */
    soap_costs *s = soap_costs_share(f.costs);
    soap_costs_counts(s, &measured, &analytic);
    ck_assert(measured == 0 && analytic == 0);
    soap_task_cost b = soap_costs_task(s, f.g, op, &whole, dev);
    ck_assert(a.fwd_s == b.fwd_s && a.bwd_s == b.bwd_s);
    soap_costs_counts(s, &measured, &analytic);
    ck_assert(measured == 1 && analytic == 0);
    /* The providers live as long as any handle: free the first. */
    soap_costs_free(f.costs);
    f.costs = NULL;
    soap_costs *t = soap_costs_share(s);
    ck_assert(soap_costs_check_machine(t, f.m, &err) == SOAP_OK);
    soap_task_cost c = soap_costs_task(t, f.g, op, &whole, dev);
    ck_assert(a.fwd_s == c.fwd_s && a.bwd_s == c.bwd_s);
    soap_costs_free(s);
    c = soap_costs_task(t, f.g, op, &whole, dev);
    ck_assert(a.fwd_s == c.fwd_s && a.bwd_s == c.bwd_s);
    /* The simulator borrowed f.costs: give it the remaining handle. */
    f.costs = t;
    fix_remake_sim(&f);
    fix_teardown(&f);
}
END_TEST

/* Every figure of the last simulations of a and b is the same. */
static void same_results(soap_sim *a, soap_sim *b)
{
    soap_sim_result ra, rb;
    soap_sim_result_get(a, &ra);
    soap_sim_result_get(b, &rb);
    ck_assert(ra.iteration_s == rb.iteration_s && ra.ndevices == rb.ndevices);
    for (int d = 0; d < ra.ndevices; d++)
        ck_assert(ra.busy_s[d] == rb.busy_s[d] && ra.peak_mem[d] == rb.peak_mem[d]);
    ck_assert(ra.bytes_total == rb.bytes_total && ra.critical_path_s == rb.critical_path_s);
    ck_assert(ra.ntasks == rb.ntasks && ra.over_capacity == rb.over_capacity);
    soap_sim_result_free(&ra);
    soap_sim_result_free(&rb);
}

START_TEST(test_clone_same_results)
{
    fixture f;
    setup(&f);
    soap_error err;
    soap_error_clear(&err);
    soap_sim *c = soap_sim_clone(f.sim, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    /* Measured costs: the data-parallel strategy's tasks are in the table. */
    double t0 = soap_sim_full(f.sim, f.inits[0], &err);
    double t1 = soap_sim_full(c, f.inits[0], &err);
    ck_assert(t0 > 0 && t0 == t1);
    same_results(f.sim, c);
    soap_sim_result r;
    soap_sim_result_get(c, &r);
    ck_assert_msg(r.costs_measured > 0, "the clone has no measured costs");
    soap_sim_result_free(&r);
    /* A clone of a clone, after its original is gone. */
    soap_sim *cc = soap_sim_clone(c, &err);
    soap_sim_free(c);
    ck_assert(soap_sim_full(cc, f.inits[0], &err) == t0);
    /* Random strategies, full and delta. */
    soap_strategy **s = random_strategies(&f, 8, 7);
    for (int i = 0; i < 8; i++) {
        double a = soap_sim_full(f.sim, s[i], &err);
        double b = soap_sim_full(cc, s[i], &err);
        ck_assert_msg(a == b, "strategy %d: %.17g vs %.17g", i, a, b);
        same_results(f.sim, cc);
        int op = (i * 5) % f.g->nops;
        const soap_config *next = &s[(i + 1) % 8]->configs[op];
        a = soap_sim_delta(f.sim, op, next);
        b = soap_sim_delta(cc, op, next);
        ck_assert(a == b);
        same_results(f.sim, cc);
    }
    free_strategies(s, 8);
    soap_sim_free(cc);
    fix_teardown(&f);
}
END_TEST

/* What one thread simulates: every strategy in full, then a delta of op 1
 * to the next strategy's config; the times it saw. */
typedef struct job {
    soap_sim *sim;
    soap_strategy **s;
    int n;
    double *full, *delta;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    soap_error err;
    soap_error_clear(&err);
    for (int i = 0; i < j->n; i++) {
        j->full[i] = soap_sim_full(j->sim, j->s[i], &err);
        j->delta[i] = soap_sim_delta(j->sim, 1, &j->s[(i + 1) % j->n]->configs[1]);
    }
    return NULL;
}

START_TEST(test_clone_on_threads)
{
    enum { N = 24 };
    fixture f;
    setup(&f);
    soap_error err;
    soap_error_clear(&err);
    soap_strategy **s = random_strategies(&f, N, 11);
    double want_full[N], want_delta[N];
    job ref = {f.sim, s, N, want_full, want_delta};
    run_job(&ref);
    /* The clone is taken while nothing runs, then both run at once. */
    soap_sim *c = soap_sim_clone(f.sim, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    double full[2][N], delta[2][N];
    job jobs[2] = {{f.sim, s, N, full[0], delta[0]}, {c, s, N, full[1], delta[1]}};
    pthread_t tid;
    ck_assert_int_eq(pthread_create(&tid, NULL, run_job, &jobs[1]), 0);
    run_job(&jobs[0]);
    pthread_join(tid, NULL);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < N; i++)
            ck_assert_msg(full[k][i] == want_full[i] && delta[k][i] == want_delta[i],
                          "%s, strategy %d: %.17g / %.17g, alone %.17g / %.17g",
                          k ? "clone" : "original", i, full[k][i], delta[k][i], want_full[i],
                          want_delta[i]);
    soap_sim_free(c);
    free_strategies(s, N);
    fix_teardown(&f);
}
END_TEST

START_TEST(test_search_threads_table_gone)
{
    fixture f;
    setup(&f);
    soap_search_options o = soap_search_options_default();
    o.proposals = 600;
    o.seed = 9;
    soap_search_result one, three;
    fix_run(&f, "mcmc", &o, &one);
    o.threads = 3;
    fix_run(&f, "mcmc", &o, &three);
    ck_assert_int_eq(three.threads, 3);
    ck_assert_msg(one.best_s == three.best_s, "%.17g vs %.17g", one.best_s, three.best_s);
    ck_assert(fix_same_strategy(one.best, three.best));
    ck_assert(one.proposals == three.proposals && one.accepted == three.accepted);
    soap_search_result_free(&one);
    soap_search_result_free(&three);
    fix_teardown(&f);
}
END_TEST

Suite *soap_suite_sim_clone(void)
{
    Suite *s = suite_create("sim_clone");
    TCase *tc = tcase_create("costs_share");
    tcase_add_test(tc, test_costs_share);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("clone");
    tcase_add_test(tc, test_clone_same_results);
    tcase_add_test(tc, test_clone_on_threads);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    tc = tcase_create("search_threads");
    tcase_add_test(tc, test_search_threads_table_gone);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
