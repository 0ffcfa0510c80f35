/* Tests of strategies (suite "strategy_check"): a new strategy (every op one
 * task on device 0, names and fingerprints recorded), clone and copy (deep,
 * independent), and soap_strategy_check: valid strategies pass, one made for
 * another model or machine is refused with SOAP_ERR_MISMATCH naming both,
 * and an invalid config is refused naming its op. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "soap_strategies.h"

/* x [N,12] -> fc linear 6 -> ln layernorm -> out linear 4. */
static soap_graph *tiny_graph(const char *name, int64_t n)
{
    soap_graph *g = soap_graph_new(name, n);
    const int64_t xs[2] = {n, 12};
    int x = soap_add_input(g, "x", 2, xs, NULL, 0);
    int fc = soap_add_linear(g, "fc", x, 6, 1, -1);
    int ln = soap_add_layernorm(g, "ln", fc);
    soap_add_linear(g, "out", ln, 4, 1, -1);
    return g;
}

static soap_machine *machine(const char *preset, int n)
{
    soap_error err;
    soap_error_clear(&err);
    soap_machine *m = soap_machine_load(preset, n, &err);
    ck_assert_msg(m != NULL, "machine %s/%d: %s", preset, n, err.msg);
    return m;
}

START_TEST(new_defaults)
{
    soap_graph *g = tiny_graph("tiny", 8);
    soap_machine *m = machine("cpu-4", 0);
    soap_strategy *s = soap_strategy_new(g, m);
    ck_assert_int_eq(s->nops, g->nops);
    ck_assert_int_eq(s->ndevices, 4);
    ck_assert_str_eq(s->model, "tiny");
    ck_assert_str_eq(s->machine, m->name);
    ck_assert(s->model_fp == soap_graph_fingerprint(g));
    ck_assert(s->machine_fp == soap_machine_fingerprint(m));
    for (int i = 0; i < g->nops; i++) {
        ck_assert_int_eq(s->configs[i].ndims, g->ops[i].out.ndims);
        ck_assert_int_eq(s->configs[i].ntasks, 1);
        ck_assert_int_eq(s->configs[i].device[0], 0);
    }
    soap_error err;
    ck_assert_int_eq(soap_strategy_check(s, g, m, &err), SOAP_OK);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
}
END_TEST

START_TEST(clone_copy)
{
    soap_graph *g = tiny_graph("tiny", 8);
    soap_machine *m = machine("cpu-4", 0);
    soap_strategy *s = soap_strategy_new(g, m);
    int fc = soap_graph_find(g, "fc");
    s->configs[fc].degree[0] = 4;
    s->configs[fc].ntasks = 4;
    for (int t = 0; t < 4; t++)
        s->configs[fc].device[t] = (int16_t)(3 - t);

    soap_strategy *c = soap_strategy_clone(s);
    ck_assert_ptr_ne(c->configs, s->configs);
    ck_assert_int_eq(c->nops, s->nops);
    ck_assert_str_eq(c->model, s->model);
    ck_assert(c->model_fp == s->model_fp && c->machine_fp == s->machine_fp);
    for (int i = 0; i < g->nops; i++)
        ck_assert(soap_config_equal(&c->configs[i], &s->configs[i]));
    /* Independent: changing the clone leaves the original alone. */
    c->configs[fc].device[0] = 0;
    ck_assert_int_eq(s->configs[fc].device[0], 3);

    /* copy: dst keeps its own array and gets src's contents. */
    soap_strategy *d = soap_strategy_new(g, m);
    soap_config *keep = d->configs;
    soap_strategy_copy(d, s);
    ck_assert_ptr_eq(d->configs, keep);
    for (int i = 0; i < g->nops; i++)
        ck_assert(soap_config_equal(&d->configs[i], &s->configs[i]));
    d->configs[fc].device[1] = 0;
    ck_assert_int_eq(s->configs[fc].device[1], 2);
    soap_strategy_copy(d, d); /* self-copy is harmless */
    ck_assert_int_eq(d->configs[fc].device[1], 0);

    soap_error err;
    ck_assert_int_eq(soap_strategy_check(s, g, m, &err), SOAP_OK);
    ck_assert_int_eq(soap_strategy_check(c, g, m, &err), SOAP_OK);
    soap_strategy_free(c);
    soap_strategy_free(d);
    soap_strategy_free(s);
    soap_strategy_free(NULL);
    soap_machine_free(m);
    soap_graph_free(g);
}
END_TEST

START_TEST(mismatch_model)
{
    /* Same structure, another batch: another fingerprint. */
    soap_graph *a = tiny_graph("tiny-a", 8);
    soap_graph *b = tiny_graph("tiny-b", 16);
    soap_machine *m = machine("cpu-4", 0);
    soap_strategy *s = soap_strategy_new(a, m);
    soap_error err;
    soap_error_clear(&err);
    ck_assert_int_eq(soap_strategy_check(s, b, m, &err), SOAP_ERR_MISMATCH);
    ck_assert_msg(strstr(err.msg, "made for model 'tiny-a'") &&
                      strstr(err.msg, "model given is 'tiny-b'"),
                  "%s", err.msg);
    char fp[20];
    snprintf(fp, sizeof fp, "%016" PRIx64, soap_graph_fingerprint(b));
    ck_assert_msg(strstr(err.msg, fp), "%s lacks %s", err.msg, fp);
    /* The name alone does not matter: a same-structure graph of another
     * name is the same model. */
    soap_graph *a2 = tiny_graph("renamed", 8);
    ck_assert_int_eq(soap_strategy_check(s, a2, m, &err), SOAP_OK);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(a);
    soap_graph_free(a2);
    soap_graph_free(b);
}
END_TEST

START_TEST(mismatch_machine)
{
    soap_graph *g = tiny_graph("tiny", 8);
    soap_machine *m4 = machine("cpu-4", 0);
    soap_machine *p4 = machine("p100x16", 4);
    soap_machine *m2 = machine("cpu-2", 0);
    soap_strategy *s = soap_strategy_new(g, m4);
    soap_error err;
    soap_error_clear(&err);
    ck_assert_int_eq(soap_strategy_check(s, g, p4, &err), SOAP_ERR_MISMATCH);
    ck_assert_msg(strstr(err.msg, "made for machine 'cpu-4'") &&
                      strstr(err.msg, p4->name) && strstr(err.msg, "machine given is"),
                  "%s", err.msg);
    ck_assert_int_eq(soap_strategy_check(s, g, m2, &err), SOAP_ERR_MISMATCH);
    ck_assert_msg(strstr(err.msg, "4 devices") && strstr(err.msg, "2 devices"), "%s", err.msg);
    soap_strategy_free(s);
    soap_machine_free(m4);
    soap_machine_free(p4);
    soap_machine_free(m2);
    soap_graph_free(g);
}
END_TEST

START_TEST(invalid_config)
{
    soap_graph *g = tiny_graph("tiny", 8);
    soap_machine *m = machine("cpu-4", 0);
    soap_strategy *s = soap_strategy_new(g, m);
    soap_error err;
    int ln = soap_graph_find(g, "ln");
    /* ln's last dim is normalized over: kind none. */
    s->configs[ln].degree[1] = 2;
    s->configs[ln].ntasks = 2;
    ck_assert_int_eq(soap_strategy_check(s, g, m, &err), SOAP_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "op 'ln'") && strstr(err.msg, "cannot be partitioned"), "%s",
                  err.msg);
    s->configs[ln] = soap_config_single(g, ln, 0);
    int out = soap_graph_find(g, "out");
    s->configs[out].device[0] = 4;
    ck_assert_int_eq(soap_strategy_check(s, g, m, &err), SOAP_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "op 'out'") && strstr(err.msg, "device 4"), "%s", err.msg);
    s->configs[out].device[0] = 3;
    ck_assert_int_eq(soap_strategy_check(s, g, m, &err), SOAP_OK);
    ck_assert_int_eq(soap_strategy_check(NULL, g, m, &err), SOAP_ERR_INVALID);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
}
END_TEST

Suite *soap_suite_strategy_check(void);
Suite *soap_suite_strategy_check(void)
{
    Suite *s = suite_create("strategy_check");
    TCase *tc = tcase_create("new");
    tcase_add_test(tc, new_defaults);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("clone_copy");
    tcase_add_test(tc, clone_copy);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("mismatch");
    tcase_add_test(tc, mismatch_model);
    tcase_add_test(tc, mismatch_machine);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("invalid_config");
    tcase_add_test(tc, invalid_config);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
