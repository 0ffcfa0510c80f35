/* The figures a search reports beside its best (suite "search_figures"):
 *  - the default beta follows the documented rule (soap_search.h), an
 *    explicit one is kept as given;
 *  - acceptance = accepted / proposals, in [0, 1], for every algorithm;
 *  - best_over_bound = best_s / the largest lower bound of the best's own
 *    full simulation, and >= 1 (the bound is a lower bound);
 *  - the simulation the result names is the one the algorithm used;
 *  - tasks_sum: the task count of the chain's strategy summed over the
 *    proposals (exact where every proposal keeps the strategy), the same
 *    with delta and with full simulation; soap_sim_ntasks agrees with
 *    soap_sim_result's ntasks after a full simulation, a delta and an
 *    undo. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "search_fixture.h"

typedef struct fig_case {
    const char *algo, *model, *dims, *simulation;
    long proposals;
} fig_case;

static const fig_case cases[] = {
    {"mcmc", "lenet", "SOAP", "delta simulation", 800},
    {"mcmc", "rnnlm", "SOAP", "delta simulation", 400},
    {"anneal", "lenet", "SOAP", "delta simulation", 800},
    {"greedy", "lenet", "SOAP", "delta simulation", 800},
    {"random", "lenet", "SOAP", "full simulation", 100},
    {"optcnn", "lenet", "SAP", "its own cost model, then one full simulation", 0},
    {"exhaustive", "lenet", "S", "delta simulation", 0},
    {"reinforce", "rnnlm", "O", "full simulation", 100},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

static const char *const inits[] = {"data", "expert"};

START_TEST(test_figures)
{
    const fig_case *fc = &cases[_i];
    fixture f;
    fix_setup(&f, fc->model, "p100x16", 4, 64, inits, 2);
    soap_search_options o = soap_search_options_default();
    soap_error err;
    ck_assert(soap_search_space_parse(fc->dims, &o.space, &err) == SOAP_OK);
    o.proposals = fc->proposals;
    o.seed = 3;
    soap_search_result r;
    fix_run(&f, fc->algo, &o, &r);

    ck_assert(r.proposals > 0);
    ck_assert(r.acceptance >= 0.0 && r.acceptance <= 1.0);
    ck_assert_msg(r.acceptance == (double)r.accepted / (double)r.proposals,
                  "%s: acceptance %.17g, %ld of %ld", fc->algo, r.acceptance, r.accepted,
                  r.proposals);

    /* The bound, from a simulation of the best made here. */
    double t = soap_sim_full(f.sim, r.best, &err);
    ck_assert(t == r.best_s);
    soap_sim_result res;
    soap_sim_result_get(f.sim, &res);
    ck_assert(res.lb_s > 0);
    ck_assert(r.best_lb_s == res.lb_s);
    ck_assert_msg(r.best_over_bound == r.best_s / res.lb_s, "%s: %.17g vs %.17g / %.17g",
                  fc->algo, r.best_over_bound, r.best_s, res.lb_s);
    ck_assert_msg(r.best_over_bound >= 1.0, "%s: best %.17g below its bound %.17g", fc->algo,
                  r.best_s, res.lb_s);
    soap_sim_result_free(&res);

    ck_assert_msg(r.simulation && strcmp(r.simulation, fc->simulation) == 0, "%s: '%s'",
                  fc->algo, r.simulation ? r.simulation : "(null)");
    soap_search_result_free(&r);
    fix_teardown(&f);
}
END_TEST

/* With --full-sim the chain algorithms say so. */
START_TEST(test_full_sim_named)
{
    fixture f;
    fix_setup(&f, "lenet", "p100x16", 4, 64, inits, 1);
    soap_search_options o = soap_search_options_default();
    o.proposals = 50;
    o.full_sim = 1;
    soap_search_result r;
    fix_run(&f, "mcmc", &o, &r);
    ck_assert_str_eq(r.simulation, "full simulation");
    soap_search_result_free(&r);
    fix_teardown(&f);
}
END_TEST

/* The default beta: SOAP_SEARCH_BETA_PER_OP x operators / the best initial
 * time (of all the initial strategies, not only the first); an explicit
 * one as given; only mcmc reports one. On lenet (10 operators) and a
 * 4-step rnnlm (24). */
START_TEST(test_beta_rule)
{
    fixture f;
    fix_setup(&f, _i ? "rnnlm" : "lenet", "p100x16", 4, 64, inits, 2);
    soap_search_options o = soap_search_options_default();
    o.proposals = 100;
    soap_search_result r;
    fix_run(&f, "mcmc", &o, &r);
    double base = fmin(r.init_s[0], r.init_s[1]);
    ck_assert(r.init_s[0] != r.init_s[1]);
    double rule = SOAP_SEARCH_BETA_PER_OP * (double)f.g->nops / base;
    ck_assert_msg(r.beta == rule, "beta %.17g, rule %.17g", r.beta, rule);
    ck_assert(SOAP_SEARCH_BETA_PER_OP == 10.0); /* the documented value */
    soap_search_result_free(&r);
    o.beta = 1234.5;
    fix_run(&f, "mcmc", &o, &r);
    ck_assert(r.beta == 1234.5);
    soap_search_result_free(&r);
    fix_run(&f, "anneal", &o, &r);
    ck_assert(r.beta == 0.0);
    soap_search_result_free(&r);
    fix_teardown(&f);
}
END_TEST

/* One device and only the sample dim: every proposal is the current
 * config again, kept; the chain's strategy is data parallelism all along,
 * so the sum is proposals x its task count. */
START_TEST(test_tasks_sum_exact)
{
    fixture f;
    fix_setup(&f, "lenet", "p100x16", 1, 16, inits, 1);
    soap_search_options o = soap_search_options_default();
    ck_assert(soap_search_space_parse("S", &o.space, NULL) == SOAP_OK);
    o.proposals = 37;
    o.no_stop_rule = 1;
    soap_error err;
    soap_sim_full(f.sim, f.inits[0], &err);
    long n = soap_sim_ntasks(f.sim);
    ck_assert(n > 0);
    for (int full = 0; full < 2; full++) {
        o.full_sim = full;
        soap_search_result r;
        fix_run(&f, "mcmc", &o, &r);
        ck_assert(r.proposals == 37 && r.accepted == 37);
        ck_assert_msg(r.tasks_sum == 37 * n, "tasks_sum %ld, expected 37 x %ld", r.tasks_sum,
                      n);
        soap_search_result_free(&r);
    }
    fix_teardown(&f);
}
END_TEST

/* Delta and full simulation walk the same chain: the same sum, and one
 * between the smallest and the largest graph seen times the proposals. */
START_TEST(test_tasks_sum_modes)
{
    fixture f;
    fix_setup(&f, _i ? "rnnlm" : "lenet", "p100x16", 4, 64, inits, 1);
    soap_search_options o = soap_search_options_default();
    o.proposals = 600;
    o.seed = 11;
    o.no_stop_rule = 1;
    soap_search_result a, b;
    fix_run(&f, "mcmc", &o, &a);
    o.full_sim = 1;
    fix_run(&f, "mcmc", &o, &b);
    ck_assert(a.proposals == 600 && b.proposals == 600);
    ck_assert_msg(a.tasks_sum == b.tasks_sum, "delta %ld, full %ld", a.tasks_sum, b.tasks_sum);
    ck_assert(a.tasks_sum >= a.proposals);
    ck_assert(a.accepted > 0);
    soap_search_result_free(&a);
    soap_search_result_free(&b);
    fix_teardown(&f);
}
END_TEST

/* soap_sim_ntasks against soap_sim_result's count. */
START_TEST(test_sim_ntasks)
{
    fixture f;
    fix_setup(&f, "lenet", "p100x16", 4, 64, inits, 1);
    soap_error err;
    soap_sim_full(f.sim, f.inits[0], &err);
    soap_sim_result res;
    soap_sim_result_get(f.sim, &res);
    ck_assert(soap_sim_ntasks(f.sim) == res.ntasks);
    long before = res.ntasks;
    soap_sim_result_free(&res);
    /* Op 1 on one device: fewer tasks than on four. */
    soap_config c = soap_config_single(f.g, 1, 0);
    soap_sim_delta(f.sim, 1, &c);
    soap_sim_result_get(f.sim, &res);
    ck_assert(soap_sim_ntasks(f.sim) == res.ntasks);
    ck_assert(res.ntasks < before);
    soap_sim_result_free(&res);
    soap_sim_undo(f.sim);
    ck_assert(soap_sim_ntasks(f.sim) == before);
    fix_teardown(&f);
}
END_TEST

Suite *soap_suite_search_figures(void)
{
    Suite *s = suite_create("search_figures");
    TCase *tc = tcase_create("figures");
    tcase_add_loop_test(tc, test_figures, 0, NCASES);
    tcase_add_test(tc, test_full_sim_named);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    tc = tcase_create("beta");
    tcase_add_loop_test(tc, test_beta_rule, 0, 2);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("tasks");
    tcase_add_test(tc, test_tasks_sum_exact);
    tcase_add_loop_test(tc, test_tasks_sum_modes, 0, 2);
    tcase_add_test(tc, test_sim_ntasks);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
