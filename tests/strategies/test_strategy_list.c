/* Tests of strategy lists (suite "strategy_list"): expansion of built-in
 * names, files and random:K in list order, the one seed rule (the j-th random
 * entry of a list is the random strategy {seed, index j}, whatever else the
 * list holds, so "random" = "random:1" everywhere), names, and bad lists
 * (empty entries, K out of range, unknown names, too many strategies) with
 * nothing left allocated. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soap_strategies.h"
#include "test_util.h"

typedef struct fixture {
    soap_graph *g;
    soap_machine *m;
} fixture;

static fixture setup(void)
{
    soap_error err;
    soap_error_clear(&err);
    fixture f;
    soap_model_options o = {.batch = 64};
    f.g = soap_model_load("lenet", &o, &err);
    ck_assert_msg(f.g != NULL, "%s", err.msg);
    soap_machine *m = soap_machine_preset("p100x16", &err);
    ck_assert(m != NULL);
    f.m = soap_machine_narrow(m, 4, &err);
    ck_assert(f.m != NULL);
    soap_machine_free(m);
    return f;
}

static void teardown(fixture *f)
{
    soap_graph_free(f->g);
    soap_machine_free(f->m);
}

static int same_strategy(const soap_strategy *a, const soap_strategy *b)
{
    if (a->nops != b->nops)
        return 0;
    for (int i = 0; i < a->nops; i++)
        if (!soap_config_equal(&a->configs[i], &b->configs[i]))
            return 0;
    return 1;
}

static soap_strategy *builtin(const fixture *f, const char *name, unsigned long seed,
                              unsigned long index)
{
    soap_strategy_options o = {.seed = seed, .index = index};
    soap_error err;
    soap_error_clear(&err);
    soap_strategy *s = soap_strategy_load(name, f->g, f->m, &o, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    return s;
}

START_TEST(test_order_and_names)
{
    fixture f = setup();
    soap_strategy_list l;
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_strategy_list_expand("data,random:2,owt,random", f.g, f.m, 5, &l, &err) ==
                      SOAP_OK,
                  "%s", err.msg);
    ck_assert_int_eq(l.n, 5);
    const char *names[] = {"data", "random#1", "random#2", "owt", "random#3"};
    for (int i = 0; i < 5; i++)
        ck_assert_str_eq(l.name[i], names[i]);
    soap_strategy *data = builtin(&f, "data", 0, 0), *owt = builtin(&f, "owt", 0, 0);
    ck_assert(same_strategy(l.s[0], data));
    ck_assert(same_strategy(l.s[3], owt));
    /* Random entries are numbered across the whole list. */
    for (unsigned long j = 0; j < 3; j++) {
        soap_strategy *r = builtin(&f, "random", 5, j);
        ck_assert_msg(same_strategy(l.s[j < 2 ? 1 + j : 4], r), "random index %lu", j);
        soap_strategy_free(r);
    }
    ck_assert(!same_strategy(l.s[1], l.s[2]));
    soap_strategy_free(data);
    soap_strategy_free(owt);
    soap_strategy_list_free(&l);
    ck_assert_int_eq(l.n, 0);
    teardown(&f);
}
END_TEST

/* "random", "random:1" and the first of "data,random:3" are one strategy;
 * another seed gives another. */
START_TEST(test_seed_rule)
{
    fixture f = setup();
    const char *lists[] = {"random", "random:1", "data,random:3", "expert,random"};
    const int at[] = {0, 0, 1, 1};
    soap_strategy *want = builtin(&f, "random", 7, 0);
    soap_error err;
    for (int k = 0; k < 4; k++) {
        soap_strategy_list l;
        ck_assert(soap_strategy_list_expand(lists[k], f.g, f.m, 7, &l, &err) == SOAP_OK);
        ck_assert_msg(same_strategy(l.s[at[k]], want), "list %s", lists[k]);
        soap_strategy_list_free(&l);
    }
    soap_strategy_list l;
    ck_assert(soap_strategy_list_expand("random", f.g, f.m, 8, &l, &err) == SOAP_OK);
    ck_assert(!same_strategy(l.s[0], want));
    soap_strategy_list_free(&l);
    soap_strategy_free(want);
    teardown(&f);
}
END_TEST

/* A strategy file in a list is read and checked like --strategy FILE. */
START_TEST(test_file_entry)
{
    fixture f = setup();
    soap_strategy *owt = builtin(&f, "owt", 0, 0);
    char path[256];
    soap_test_tmpfile(path, sizeof path, ".json");
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_strategy_write_json(owt, f.g, path, &err) == SOAP_OK, "%s", err.msg);
    char list[300];
    snprintf(list, sizeof list, "data,%s", path);
    soap_strategy_list l;
    ck_assert_msg(soap_strategy_list_expand(list, f.g, f.m, 0, &l, &err) == SOAP_OK, "%s",
                  err.msg);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.name[1], path);
    ck_assert(same_strategy(l.s[1], owt));
    soap_strategy_list_free(&l);
    soap_strategy_free(owt);
    unlink(path);
    teardown(&f);
}
END_TEST

static const struct bad_list {
    const char *list, *expect;
} bad_lists[] = {
    {"", "empty entry"},
    {"data,,owt", "empty entry"},
    {"data,", "empty entry"},
    {",data", "empty entry"},
    {"random:0", "K from 1 to 64"},
    {"random:65", "K from 1 to 64"},
    {"random:x", "K from 1 to 64"},
    {"random:", "K from 1 to 64"},
    {"random:99999999999999999999", "K from 1 to 64"},
    {"data,nosuch", "unknown strategy 'nosuch'"},
    {"random:64,data", "more than 64 strategies"},
    {"/nonexistent/s.json", "cannot open"},
};

START_TEST(test_bad_lists)
{
    fixture f = setup();
    const struct bad_list *b = &bad_lists[_i];
    soap_strategy_list l;
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_strategy_list_expand(b->list, f.g, f.m, 1, &l, &err) != SOAP_OK,
                  "list '%s' accepted", b->list);
    ck_assert_msg(strstr(err.msg, b->expect) != NULL, "list '%s': message '%s' lacks '%s'",
                  b->list, err.msg, b->expect);
    ck_assert(l.n == 0 && l.s == NULL && l.name == NULL);
    soap_strategy_list_free(&l); /* a failed expansion is safe to free */
    teardown(&f);
}
END_TEST

Suite *soap_suite_strategy_list(void);
Suite *soap_suite_strategy_list(void)
{
    Suite *s = suite_create("strategy_list");
    TCase *t = tcase_create("expand");
    tcase_set_timeout(t, 30);
    tcase_add_test(t, test_order_and_names);
    tcase_add_test(t, test_seed_rule);
    tcase_add_test(t, test_file_entry);
    tcase_add_loop_test(t, test_bad_lists, 0, (int)(sizeof bad_lists / sizeof bad_lists[0]));
    suite_add_tcase(s, t);
    return s;
}
