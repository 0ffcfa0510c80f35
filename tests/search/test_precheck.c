/* The pre-check of mcmc and anneal (suite "search_precheck"): a proposal
 * whose lower bound (soap_sim_bound_change) is above its acceptance limit
 * is rejected without a delta. The chains with and without it
 * (no_precheck) are the same proposal by proposal: a convergence log row
 * per proposal (log_every 1) with the same proposal number, chain, current
 * and best time, the same counts of proposals, acceptances and memory
 * refusals, and the same best strategy; only rejected_early differs, zero
 * without the pre-check and non-zero with it in the cases marked. The
 * cases run with the default moves, and some with tied moves (a group's
 * members changed at once: the bound of the set,
 * soap_sim_bound_change_many). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "search_fixture.h"

typedef struct precheck_case {
    const char *algo;
    const char *model;
    int devices;
    int rejects; /* the pre-check rejects some proposals (fixed seeds) */
    soap_search_moves moves;
} precheck_case;
#define DEF SOAP_SEARCH_MOVES_DEFAULT

static const precheck_case cases[] = {
    {"mcmc", "lenet", 4, 1, DEF},     {"mcmc", "alexnet", 4, 1, DEF},
    {"mcmc", "rnnlm", 4, 0, DEF},     {"mcmc", "alexnet", 16, 1, DEF},
    {"mcmc", "lenet", 16, 0, DEF},    {"anneal", "lenet", 4, 1, DEF},
    {"anneal", "alexnet", 4, 1, DEF}, {"anneal", "rnnlm", 16, 0, DEF},
    {"anneal", "alexnet", 16, 1, DEF},
    {"mcmc", "rnnlm", 4, 1, SOAP_MOVES_TIED},   {"mcmc", "nmt", 16, 0, SOAP_MOVES_TIED},
    {"anneal", "nmt", 4, 1, SOAP_MOVES_TIED},   {"anneal", "rnntc", 16, 1, SOAP_MOVES_TIED},
    {"mcmc", "rnnlm", 16, 0, SOAP_MOVES_MIXED},
};

START_TEST(test_same_chain)
{
    const precheck_case *pc = &cases[_i];
    fixture f;
    const char *const inits[] = {"data", "expert"};
    fix_setup(&f, pc->model, "p100x16", pc->devices, 32 * pc->devices, inits, 2);
    soap_search_options o = soap_search_options_default();
    o.proposals = 1200;
    o.seed = 5;
    o.no_stop_rule = 1;
    o.log_every = 1; /* a row per proposal: the whole chain is compared */
    o.moves = pc->moves;
    soap_search_result a, b;
    fix_run(&f, pc->algo, &o, &a);
    o.no_precheck = 1;
    fix_run(&f, pc->algo, &o, &b);
    ck_assert(a.proposals == b.proposals && a.accepted == b.accepted &&
              a.over_capacity == b.over_capacity);
    ck_assert_int_eq(b.rejected_early, 0);
    ck_assert(a.rejected_early <= a.proposals - a.accepted);
    ck_assert(a.log_len == b.log_len);
    for (long k = 0; k < a.log_len; k++)
        ck_assert_msg(a.log[k].proposals == b.log[k].proposals &&
                          a.log[k].chain == b.log[k].chain &&
                          a.log[k].current_s == b.log[k].current_s &&
                          a.log[k].best_s == b.log[k].best_s,
                      "%s %s: row %ld: with %ld/%d %.17g / %.17g, without %ld/%d %.17g / "
                      "%.17g",
                      pc->algo, pc->model, k, a.log[k].proposals, a.log[k].chain,
                      a.log[k].current_s, a.log[k].best_s, b.log[k].proposals,
                      b.log[k].chain, b.log[k].current_s, b.log[k].best_s);
    ck_assert(a.best_s == b.best_s && fix_same_strategy(a.best, b.best));
    if (getenv("SOAP_TEST_TIMING"))
        fprintf(stderr, "%s %s %d %s: %ld of %ld rejected early, %ld accepted\n", pc->algo,
                pc->model, pc->devices, soap_search_moves_name(pc->moves), a.rejected_early,
                a.proposals, a.accepted);
    ck_assert_msg(a.rejected_early > 0 || !pc->rejects, "%s %s: nothing rejected early",
                  pc->algo, pc->model);
    soap_search_result_free(&a);
    soap_search_result_free(&b);
    fix_teardown(&f);
}
END_TEST

Suite *soap_suite_search_precheck(void)
{
    Suite *s = suite_create("search_precheck");
    TCase *tc = tcase_create("same_chain");
    tcase_add_loop_test(tc, test_same_chain, 0, (int)(sizeof cases / sizeof cases[0]));
    /* Seconds; the sanitizer build is about ten times slower. */
    tcase_set_timeout(tc, 600);
    suite_add_tcase(s, tc);
    return s;
}
