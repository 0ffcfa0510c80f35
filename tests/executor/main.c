/* Test runner of soap_exec: the CPU reference kernels (hand-computed
 * forwards, gradients against finite differences, partitioned against
 * unpartitioned execution, blocks and bad ids/labels) and the runner
 * (partitioned training steps equal to one device's, errors, all-gather
 * edges as ring collectives), and its weight memory against the
 * simulator's. */
#include "test_main.h"

#define SUITES(X)                                                                     \
    X(kern_forward) X(kern_gradcheck) X(kern_partition) X(kern_blocks) X(runner)           \
    X(weight_memory) X(validate) X(gather)
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
