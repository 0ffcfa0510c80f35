/* Test runner of soap_search: the search space and proposals, the registry
 * and the common guarantees of every algorithm (reproducible from the seed,
 * with threads too; never slower than the initial strategies; memory),
 * mcmc with delta against full simulation, exhaustive search on tiny cases
 * against brute force, local optimality, the convergence log; simulator
 * clones and shared costs (what the threads of a search use); reinforce
 * (reproducible, finds a known best placement, never slower, bad options);
 * the chains of mcmc and anneal with and without their pre-check; moves
 * that respect shared weights (groups, tied and mixed move sets); the
 * figures beside the best (acceptance, bound, beta rule, tasks). */
#include "test_main.h"

#define SUITES(X)                                                                     \
    X(search_space) X(search_algos) X(search_exact) X(search_reinforce) X(sim_clone)   \
    X(search_precheck) X(search_moves) X(search_figures)
#define DECL(n) Suite *soap_suite_##n(void) __attribute__((weak));
SUITES(DECL)
#define FN(n) soap_suite_##n,
#define NAME(n) #n,

int main(void)
{
    const soap_suite_fn suites[] = {SUITES(FN)};
    const char *const names[] = {SUITES(NAME)};
    return soap_test_run(suites, names, (int)(sizeof suites / sizeof suites[0]));
}
