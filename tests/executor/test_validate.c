/* Tests of the validation statistics (suite "validate"): relative errors,
 * median and largest absolute error, the worst row, Kendall's tau of
 * predicted against measured times, on hand-computed cases; and the CSV
 * (provenance lines, header, one row per strategy, names escaped). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soap_exec.h"
#include "test_util.h"

START_TEST(test_summary_by_hand)
{
    /* Errors +10%, -20%, +5%, 0%: |e| sorted 0, .05, .1, .2, median .075,
     * max .2 at row 1. Simulated order 1.1 < 1.6 < 2.1 < 4 is the measured
     * order 1 < 2 = ... : measured 1, 2, 2, 4 -> pairs (0,1) c, (0,2) c,
     * (0,3) c, (1,2) tie in measured, (1,3) c, (2,3) c: tau-b =
     * 5 / sqrt(6 * 5). */
    soap_validate_row rows[] = {
        {"a", 1.1, 1.0, 99}, {"b", 1.6, 2.0, 99}, {"c", 2.1, 2.0, 99}, {"d", 4.0, 4.0, 99},
    };
    soap_validate_summary s = soap_validate_summarize(rows, 4);
    ck_assert_int_eq(s.n, 4);
    ck_assert_double_eq_tol(rows[0].rel_error, 0.1, 1e-12);
    ck_assert_double_eq_tol(rows[1].rel_error, -0.2, 1e-12);
    ck_assert_double_eq_tol(rows[2].rel_error, 0.05, 1e-12);
    ck_assert_double_eq_tol(rows[3].rel_error, 0.0, 1e-12);
    ck_assert_double_eq_tol(s.median_abs_error, 0.075, 1e-12);
    ck_assert_double_eq_tol(s.max_abs_error, 0.2, 1e-12);
    ck_assert_int_eq(s.worst, 1);
    ck_assert_double_eq_tol(s.kendall_tau, 5.0 / sqrt(30.0), 1e-12);
}
END_TEST

START_TEST(test_summary_edges)
{
    soap_validate_summary s = soap_validate_summarize(NULL, 0);
    ck_assert(s.n == 0 && s.worst == -1 && s.median_abs_error == 0 && s.kendall_tau == 0);
    soap_validate_row one = {"x", 3.0, 2.0, 0};
    s = soap_validate_summarize(&one, 1);
    ck_assert_double_eq_tol(one.rel_error, 0.5, 1e-12);
    ck_assert(s.median_abs_error == s.max_abs_error && s.worst == 0 && s.kendall_tau == 0);
    /* Reversed ranking: tau -1. */
    soap_validate_row rev[] = {{"p", 1, 3, 0}, {"q", 2, 2, 0}, {"r", 3, 1, 0}};
    s = soap_validate_summarize(rev, 3);
    ck_assert_double_eq_tol(s.kendall_tau, -1.0, 1e-12);
}
END_TEST

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert(f != NULL);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(test_csv)
{
    soap_validate_row rows[] = {{"data", 0.002, 0.001, 0}, {"bad\nname", 0.003, 0.004, 0}};
    soap_validate_summarize(rows, 2);
    char path[256];
    soap_test_tmpfile(path, sizeof path, ".csv");
    const char *const settings[] = {"model", "lenet (batch 64)", "seed", "5", NULL};
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_validate_write_csv(path, rows, 2, settings, &err) == SOAP_OK, "%s",
                  err.msg);
    const char *text = slurp(path);
    ck_assert_msg(strncmp(text, "# soap validate\n# commit: ", 26) == 0, "%s", text);
    ck_assert(strstr(text, "\n# date: ") && strstr(text, "\n# host: "));
    ck_assert(strstr(text, "\n# model: lenet (batch 64)\n# seed: 5\n"));
    ck_assert_msg(strstr(text, "\nstrategy,simulated_s,measured_s,rel_error\n"
                               "data,0.002,0.001,1.000000\n"
                               "bad\\nname,0.003,0.004,-0.250000\n"),
                  "%s", text);
    /* SOAP_COMMIT names the commit when set (experiments run installed
     * binaries from a checkout). */
    setenv("SOAP_COMMIT", "0123abc", 1);
    ck_assert(soap_validate_write_csv(path, rows, 2, NULL, &err) == SOAP_OK);
    unsetenv("SOAP_COMMIT");
    text = slurp(path);
    ck_assert_msg(strncmp(text, "# soap validate\n# commit: 0123abc\n# date: ", 42) == 0, "%s",
                  text);
    ck_assert(strstr(text, "# model") == NULL);
    unlink(path);
    /* A directory cannot be written: an error naming it, nothing created. */
    ck_assert(soap_validate_write_csv("/tmp", rows, 2, NULL, &err) != SOAP_OK);
    ck_assert_msg(strstr(err.msg, "/tmp") != NULL, "%s", err.msg);
}
END_TEST

Suite *soap_suite_validate(void);
Suite *soap_suite_validate(void)
{
    Suite *s = suite_create("validate");
    TCase *t = tcase_create("statistics");
    tcase_set_timeout(t, 30);
    tcase_add_test(t, test_summary_by_hand);
    tcase_add_test(t, test_summary_edges);
    tcase_add_test(t, test_csv);
    suite_add_tcase(s, t);
    return s;
}
