/* Test runner of soap_strategies: configs, the configuration space, validity,
 * strategy files, the built-in strategies and the task decomposition. */
#include "test_main.h"

#define SUITES(X)                                                                     \
    X(config) X(strategy_check) X(strategy_json) X(builtin_strategies) X(decomp)           \
    X(decomp_grads) X(strategy_list)
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
