/* Test runner of soap_core: shapes and regions, operator kinds, the graph,
 * the built-in models and their tiny variants, the machine model and
 * presets, JSON files. */
#include "test_main.h"

#define SUITES(X)                                                                        \
    X(region) X(ops) X(graph) X(models) X(models_tiny) X(machine) X(model_json) X(outfile) \
    X(escape) X(machine_ranges)
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
