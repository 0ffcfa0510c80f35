/* Test runner of soap_sim: costs, hand-derived
 * simulations, delta against full simulation, the pre-check bound, results, trace and DOT,
 * the calibration of the analytic costs. */
#include "test_main.h"

#define SUITES(X) X(costs) X(sim_cases) X(sim_delta) X(sim_output) X(sim_bound) X(calibrate)
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
