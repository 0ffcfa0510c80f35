/* The search space (suite "search_space"): parsing the SOAP letters,
 * random configs (valid, both contiguous blocks and arbitrary placements
 * reached, restricted dims and placement honoured, uniform over degree
 * vectors), and the neighbourhood (valid, the current config excluded,
 * the size expected for a small case). */
#include <check.h>
#include <gsl/gsl_rng.h>
#include <string.h>

#include "search_fixture.h"

START_TEST(test_parse)
{
    soap_search_space sp;
    soap_error err;
    char buf[8];
    ck_assert(soap_search_space_parse("SOAP", &sp, &err) == SOAP_OK);
    ck_assert_str_eq(soap_search_space_str(&sp, buf, sizeof buf), "SOAP");
    ck_assert(soap_search_space_parse("pas", &sp, &err) == SOAP_OK);
    ck_assert(!sp.placement && sp.dims.allow[SOAP_DIM_SAMPLE] &&
              sp.dims.allow[SOAP_DIM_ATTRIBUTE] && sp.dims.allow[SOAP_DIM_PARAMETER]);
    ck_assert_str_eq(soap_search_space_str(&sp, buf, sizeof buf), "SAP");
    ck_assert(soap_search_space_parse("O", &sp, &err) == SOAP_OK);
    ck_assert(sp.placement && !sp.dims.allow[SOAP_DIM_SAMPLE]);
    static const char *const bad[] = {"", "X", "SOAPX", "SS", "S,A"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        soap_error_clear(&err);
        ck_assert(soap_search_space_parse(bad[i], &sp, &err) != SOAP_OK);
        ck_assert_msg(strstr(err.msg, "expected") != NULL, "%s", err.msg);
    }
}
END_TEST

/* Every random config is valid; blocks and arbitrary placements both
 * occur; every degree vector is drawn about equally often. */
START_TEST(test_random_configs)
{
    static const char *const dims[] = {"SOAP", "SAP", "S", "O"};
    const char *d = dims[_i];
    fixture f;
    const char *const inits[] = {"data"};
    fix_setup(&f, "lenet", "p100x16", 4, 64, inits, 1);
    soap_search_space sp;
    soap_error err;
    ck_assert(soap_search_space_parse(d, &sp, &err) == SOAP_OK);
    soap_space *s = soap_space_new(f.g, 4, &sp);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    int conv = soap_graph_find(f.g, "conv1");
    int nvec = soap_space_ndegrees(s, conv);
    int hits[256] = {0};
    int blocks = 0, scattered = 0;
    int (*vecs)[SOAP_MAX_DIMS] = calloc((size_t)nvec, sizeof *vecs);
    soap_config_degrees(f.g, conv, 4, &sp.dims, vecs, nvec);
    for (int k = 0; k < 20000; k++) {
        int op = k % f.g->nops;
        soap_config c;
        soap_space_random(s, op, rng, &c);
        soap_error_clear(&err);
        ck_assert_msg(soap_config_check(f.g, op, &c, 4, &err) == SOAP_OK, "%s", err.msg);
        const soap_shape *sh = &f.g->ops[op].out;
        for (int dd = 0; dd < sh->ndims; dd++)
            if (c.degree[dd] > 1)
                ck_assert(sp.dims.allow[sh->kind[dd]]);
        int contiguous = 1;
        for (int t = 1; t < c.ntasks; t++)
            contiguous &= c.device[t] == c.device[t - 1] + 1;
        if (!sp.placement)
            for (int t = 0; t < c.ntasks; t++)
                ck_assert(c.device[t] == t);
        if (c.ntasks > 1)
            *(contiguous ? &blocks : &scattered) += 1;
        if (op == conv)
            for (int v = 0; v < nvec; v++)
                if (memcmp(vecs[v], c.degree, sizeof vecs[v]) == 0)
                    hits[v]++;
    }
    if (sp.placement && nvec > 1)
        ck_assert_msg(blocks > 100 && scattered > 100, "blocks %d, scattered %d", blocks,
                      scattered);
    /* 2000 draws of conv1: each vector near 2000/nvec. */
    for (int v = 0; v < nvec; v++)
        ck_assert_msg(hits[v] > 2000 / nvec / 2 && hits[v] < 2000 * 2 / nvec,
                      "vector %d drawn %d times of 2000 (%d vectors)", v, hits[v], nvec);
    free(vecs);
    gsl_rng_free(rng);
    soap_space_free(s);
    fix_teardown(&f);
}
END_TEST

START_TEST(test_neighbourhood)
{
    fixture f;
    const char *const inits[] = {"data"};
    fix_setup(&f, "lenet", "p100x16", 4, 64, inits, 1);
    soap_search_space sp = soap_search_space_all();
    soap_space *s = soap_space_new(f.g, 4, &sp);
    for (int op = 0; op < f.g->nops; op++) {
        const soap_config *now = &f.inits[0]->configs[op];
        soap_space_cursor cur = {0, 0};
        soap_config c;
        long n = 0, expect = -1;
        while (soap_space_neighbour(s, op, now, &cur, &c)) {
            soap_error err;
            ck_assert(soap_config_check(f.g, op, &c, 4, &err) == SOAP_OK);
            ck_assert(!soap_config_equal(&c, now));
            n++;
        }
        /* On 4 devices every assignment is enumerated (4^4 = 256): the
         * neighbourhood is the whole space of the op less the current. */
        expect = 0;
        for (int v = 0; v < soap_space_ndegrees(s, op); v++) {
            soap_config x;
            (void)x;
            long k = 1;
            int vecs[64][SOAP_MAX_DIMS];
            int nv = soap_config_degrees(f.g, op, 4, &sp.dims, vecs, 64);
            ck_assert(nv <= 64);
            for (int dd = 0; dd < SOAP_MAX_DIMS; dd++)
                k *= vecs[v][dd];
            long a = 1;
            for (long t = 0; t < k; t++)
                a *= 4;
            expect += a;
        }
        ck_assert_msg(n == expect - 1, "op %d: %ld neighbours, expected %ld", op, n,
                      expect - 1);
    }
    soap_space_free(s);
    /* 16 devices: blocks plus single-task moves, all valid. */
    fix_teardown(&f);
    fix_setup(&f, "lenet", "p100x16", 16, 64, inits, 1);
    s = soap_space_new(f.g, 16, &sp);
    int op = soap_graph_find(f.g, "conv2");
    soap_space_cursor cur = {0, 0};
    soap_config c;
    long n = 0, moves = 0;
    const soap_config *now = &f.inits[0]->configs[op];
    while (soap_space_neighbour(s, op, now, &cur, &c)) {
        soap_error err;
        ck_assert(soap_config_check(f.g, op, &c, 16, &err) == SOAP_OK);
        n++;
        moves += soap_config_equal(&(soap_config){0}, &c) == 0 && c.ntasks == now->ntasks &&
                 memcmp(c.degree, now->degree, sizeof c.degree) == 0;
    }
    ck_assert(n > 100 && moves >= 16 * 15);
    soap_space_free(s);
    fix_teardown(&f);
}
END_TEST

Suite *soap_suite_search_space(void)
{
    Suite *s = suite_create("search_space");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_parse);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("random");
    tcase_add_loop_test(tc, test_random_configs, 0, 4);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("neighbourhood");
    tcase_add_test(tc, test_neighbourhood);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
