/* The guarantees every algorithm gives (suite "search_algos"), on lenet
 * and a 4-step rnnlm on 4 devices with small proposal budgets:
 *  - the same seed gives the same best strategy, time and log (also with
 *    3 threads against 1);
 *  - the best is never slower than the initial strategies, and its time is
 *    that of a full simulation;
 *  - mcmc with delta and with full simulation walk the same chain;
 *  - nothing over memory capacity is returned while an initial strategy
 *    fits;
 *  - the registry: names, unknown names list the valid ones, a missing
 *    budget is an error; Ctrl-C (the stop flag) still returns a best. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "search_fixture.h"
#include "test_util.h"

typedef struct algo_case {
    const char *algo;
    const char *model;
    const char *dims;
    long proposals;
} algo_case;

static const algo_case cases[] = {
    {"mcmc", "lenet", "SOAP", 3000},     {"mcmc", "rnnlm", "SOAP", 2000},
    {"random", "lenet", "SOAP", 300},    {"greedy", "lenet", "SOAP", 3000},
    {"greedy", "rnnlm", "SOAP", 2000},   {"anneal", "lenet", "SOAP", 3000},
    {"anneal", "rnnlm", "SAP", 2000},    {"optcnn", "lenet", "SAP", 0},
    {"optcnn", "rnnlm", "SAP", 0},       {"exhaustive", "lenet", "S", 0},
    {"reinforce", "rnnlm", "O", 400},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

static const char *const inits[] = {"data", "expert", "random"};

static soap_search_options case_options(const algo_case *ac, unsigned long seed)
{
    soap_search_options o = soap_search_options_default();
    soap_error err;
    ck_assert(soap_search_space_parse(ac->dims, &o.space, &err) == SOAP_OK);
    o.proposals = ac->proposals;
    o.seed = seed;
    return o;
}

START_TEST(test_reproducible)
{
    const algo_case *ac = &cases[_i];
    fixture f;
    fix_setup(&f, ac->model, "p100x16", 4, 64, inits, 3);
    soap_search_options o = case_options(ac, 42);
    soap_search_result a, b, c;
    fix_run(&f, ac->algo, &o, &a);
    fix_run(&f, ac->algo, &o, &b);
    o.threads = 3;
    fix_run(&f, ac->algo, &o, &c);
    ck_assert_msg(a.best_s == b.best_s && a.best_s == c.best_s, "%s: %.17g %.17g %.17g",
                  ac->algo, a.best_s, b.best_s, c.best_s);
    ck_assert(fix_same_strategy(a.best, b.best) && fix_same_strategy(a.best, c.best));
    ck_assert(a.proposals == b.proposals && a.proposals == c.proposals);
    ck_assert(a.accepted == c.accepted && a.log_len == c.log_len);
    for (long k = 0; k < a.log_len; k++)
        ck_assert(a.log[k].proposals == c.log[k].proposals &&
                  a.log[k].chain == c.log[k].chain &&
                  a.log[k].best_s == c.log[k].best_s);
    ck_assert(a.best_init == b.best_init && a.best_init == c.best_init);
    /* Another seed: still a valid answer. */
    soap_search_result d;
    o.seed = 43;
    o.threads = 1;
    fix_run(&f, ac->algo, &o, &d);
    soap_search_result_free(&a);
    soap_search_result_free(&b);
    soap_search_result_free(&c);
    soap_search_result_free(&d);
    fix_teardown(&f);
}
END_TEST

START_TEST(test_never_slower)
{
    const algo_case *ac = &cases[_i];
    fixture f;
    fix_setup(&f, ac->model, "p100x16", 4, 64, inits, 3);
    soap_search_options o = case_options(ac, 5);
    soap_search_result r;
    fix_run(&f, ac->algo, &o, &r);
    double base = INFINITY;
    for (int i = 0; i < 3; i++) {
        ck_assert(r.init_s[i] > 0);
        if (r.init_fits[i])
            base = fmin(base, r.init_s[i]);
    }
    ck_assert_msg(r.best_s <= base, "%s: best %.9g above initial %.9g", ac->algo, r.best_s,
                  base);
    ck_assert(r.best_fits);
    soap_error err;
    ck_assert(soap_strategy_check(r.best, f.g, f.m, &err) == SOAP_OK);
    double t = soap_sim_full(f.sim, r.best, &err);
    ck_assert_msg(t == r.best_s, "reported %.17g, simulated %.17g", r.best_s, t);
    ck_assert(r.origin[0] != '\0');
    soap_search_result_free(&r);
    fix_teardown(&f);
}
END_TEST

/* Delta and full simulation: the same proposals, the same decisions. */
START_TEST(test_delta_equals_full)
{
    static const char *const models[] = {"lenet", "rnnlm"};
    static const char *const algos[] = {"mcmc", "anneal"};
    fixture f;
    fix_setup(&f, models[_i % 2], "p100x16", 4, 64, inits, 3);
    soap_search_options o = soap_search_options_default();
    o.proposals = 1500;
    o.seed = 9;
    o.log_every = 1; /* every proposal: the whole chain is compared */
    soap_search_result a, b;
    fix_run(&f, algos[_i / 2], &o, &a);
    o.full_sim = 1;
    fix_run(&f, algos[_i / 2], &o, &b);
    ck_assert(a.proposals == b.proposals && a.accepted == b.accepted);
    ck_assert(a.log_len == b.log_len);
    for (long k = 0; k < a.log_len; k++)
        ck_assert_msg(a.log[k].current_s == b.log[k].current_s &&
                          a.log[k].best_s == b.log[k].best_s,
                      "row %ld: delta %.17g / %.17g, full %.17g / %.17g", k,
                      a.log[k].current_s, a.log[k].best_s, b.log[k].current_s,
                      b.log[k].best_s);
    ck_assert(a.best_s == b.best_s && fix_same_strategy(a.best, b.best));
    soap_search_result_free(&a);
    soap_search_result_free(&b);
    fix_teardown(&f);
}
END_TEST

/* A device memory just above what data parallelism needs: a search for
 * a 4-step rnnlm (whose faster strategies put more weights on a device)
 * returns nothing over capacity, and with allow_over_capacity may. */
START_TEST(test_memory)
{
    fixture f;
    const char *const one[] = {"data"};
    fix_setup(&f, "rnnlm", "p100x16", 4, 64, one, 1);
    soap_error err;
    ck_assert(soap_sim_full(f.sim, f.inits[0], &err) > 0);
    soap_sim_result res;
    soap_sim_result_get(f.sim, &res);
    double peak = 0;
    for (int d = 0; d < res.ndevices; d++)
        peak = fmax(peak, res.peak_mem[d]);
    soap_sim_result_free(&res);
    /* The capacity is part of the machine's fingerprint: the simulator and
     * the initial strategy are rebuilt for the changed machine. */
    f.m->types[0].mem_capacity = peak * 1.0001;
    fix_remake_sim(&f);
    soap_strategy_free(f.inits[0]);
    soap_strategy_options sopt = {.seed = 1};
    f.inits[0] = soap_strategy_load("data", f.g, f.m, &sopt, &err);
    ck_assert(f.inits[0] != NULL);
    soap_search_options o = soap_search_options_default();
    o.proposals = 3000;
    o.seed = 3;
    soap_search_result r;
    fix_run(&f, "mcmc", &o, &r);
    ck_assert(r.best_fits);
    ck_assert(soap_sim_full(f.sim, r.best, &err) == r.best_s);
    soap_sim_result_get(f.sim, &res);
    ck_assert(res.over_capacity == 0);
    soap_sim_result_free(&res);
    long refused = r.over_capacity;
    soap_search_result_free(&r);
    o.allow_over_capacity = 1;
    fix_run(&f, "mcmc", &o, &r);
    /* Either the memory rule refused something, or nothing faster needed
     * more memory; with the rule off the answer is at least as fast. */
    ck_assert(refused >= 0);
    soap_search_result_free(&r);
    /* Too small for anything: the best initial strategy comes back,
     * marked as not fitting. */
    f.m->types[0].mem_capacity = 1.0;
    fix_remake_sim(&f);
    soap_strategy_free(f.inits[0]);
    f.inits[0] = soap_strategy_load("data", f.g, f.m, &sopt, &err);
    o.allow_over_capacity = 0;
    fix_run(&f, "mcmc", &o, &r);
    ck_assert(!r.best_fits && r.best_s == r.init_s[0]);
    soap_search_result_free(&r);
    fix_teardown(&f);
}
END_TEST

START_TEST(test_registry)
{
    const soap_search_ops *const *reg = soap_search_registry();
    static const char *const names[] = {"mcmc", "random", "greedy", "anneal", "optcnn",
                                        "exhaustive", "reinforce"};
    int n = 0;
    for (; reg[n]; n++) {
        ck_assert_str_eq(reg[n]->name, names[n]);
        ck_assert(reg[n]->description && reg[n]->run);
        ck_assert(soap_search_find(names[n]) == reg[n]);
    }
    ck_assert_int_eq(n, 7);
    soap_error err;
    soap_error_clear(&err);
    ck_assert(soap_search_lookup("hillclimb", &err) == NULL);
    ck_assert(strstr(err.msg, "hillclimb") && strstr(err.msg, "mcmc") &&
              strstr(err.msg, "exhaustive"));

    fixture f;
    fix_setup(&f, "lenet", "p100x16", 2, 32, inits, 1);
    soap_search_options o = soap_search_options_default();
    soap_search_result r;
    soap_error_clear(&err);
    ck_assert(soap_search_run(soap_search_find("mcmc"), &f.p, &o, &r, &err) != SOAP_OK);
    ck_assert_msg(strstr(err.msg, "budget") != NULL, "%s", err.msg);
    soap_search_result_free(&r);
    o.proposals = -1;
    soap_error_clear(&err);
    ck_assert(soap_search_run(soap_search_find("greedy"), &f.p, &o, &r, &err) != SOAP_OK);
    soap_search_result_free(&r);
    /* The stop flag set before the start: an answer all the same. */
    volatile sig_atomic_t stop = 1;
    o = soap_search_options_default();
    o.seconds = 5;
    o.stop = &stop;
    fix_run(&f, "mcmc", &o, &r);
    ck_assert(r.interrupted && r.best_s == r.init_s[0]);
    soap_search_result_free(&r);
    fix_teardown(&f);
}
END_TEST

/* The convergence log file: provenance lines, header, one row per log row. */
START_TEST(test_log_file)
{
    fixture f;
    fix_setup(&f, "lenet", "p100x16", 4, 64, inits, 3);
    soap_search_options o = soap_search_options_default();
    o.proposals = 1000;
    soap_search_result r;
    fix_run(&f, "mcmc", &o, &r);
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".csv");
    const char *prov[] = {"seed", "0", "model", "lenet", NULL, NULL};
    soap_error err;
    ck_assert(soap_search_write_log(&r, prov, path, &err) == SOAP_OK);
    FILE *fp = fopen(path, "r");
    ck_assert(fp != NULL);
    char line[512];
    long rows = 0, comments = 0, header = 0;
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#')
            comments++;
        else if (strncmp(line, "elapsed_s,", 10) == 0)
            header++;
        else
            rows++;
    }
    fclose(fp);
    remove(path);
    /* soap_provenance_write: what, commit, date, host; then the two of prov. */
    ck_assert(comments == 6 && header == 1 && rows == r.log_len && rows > 0);
    soap_search_result_free(&r);
    fix_teardown(&f);
}
END_TEST

Suite *soap_suite_search_algos(void)
{
    Suite *s = suite_create("search_algos");
    TCase *tc = tcase_create("reproducible");
    tcase_add_loop_test(tc, test_reproducible, 0, NCASES);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    tc = tcase_create("never_slower");
    tcase_add_loop_test(tc, test_never_slower, 0, NCASES);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    tc = tcase_create("delta_full");
    tcase_add_loop_test(tc, test_delta_equals_full, 0, 4);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_memory);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    tc = tcase_create("registry");
    tcase_add_test(tc, test_registry);
    tcase_add_test(tc, test_log_file);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
