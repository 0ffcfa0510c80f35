/* test_main.h: the shared main() of the Check test executables. Each module's
 * folder (tests/<module>/) lists its suites in main.c with SOAP_TEST_SUITES. A
 * listed suite that is not linked in is reported and fails the run. */
#ifndef SOAP_TEST_MAIN_H
#define SOAP_TEST_MAIN_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

typedef Suite *(*soap_suite_fn)(void);

static inline int soap_test_run(const soap_suite_fn *suites, const char *const *names, int n)
{
    SRunner *sr = NULL;
    int missing = 0;
    for (int i = 0; i < n; i++) {
        if (!suites[i]) {
            fprintf(stderr, "test suite %s is not linked in\n", names[i]);
            missing++;
            continue;
        }
        if (!sr)
            sr = srunner_create(suites[i]());
        else
            srunner_add_suite(sr, suites[i]());
    }
    if (!sr)
        return EXIT_FAILURE;
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return (failed == 0 && missing == 0) ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
