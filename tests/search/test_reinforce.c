/* reinforce (suite "search_reinforce"):
 *  - the same seed gives the same result (time, strategy, proposals, log);
 *    another seed runs too;
 *  - on a hand-built graph with two heavy independent branches on two
 *    devices it finds the best placement (known by brute force over every
 *    placement: the branches on different devices);
 *  - it is never returned slower than its initial strategy, even where a
 *    placement cannot beat it (data parallelism on a conv net);
 *  - it returns placements only (every op unsplit, on one device);
 *  - options out of range, a space without placement freedom and a missing
 *    budget are errors that say what was expected.
 */
#include <check.h>
#include <math.h>
#include <string.h>

#include "search_fixture.h"

/* x [N=64 s, 1024 a] -> a1 (linear 4096) -> a2 (linear 16) \
 *                   \-> b1 (linear 4096) -> b2 (linear 16) -> add -> loss */
static soap_graph *two_branches(void)
{
    soap_graph *g = soap_graph_new("branches", 64);
    int64_t size[2] = {64, 1024};
    soap_dim_kind kinds[2] = {SOAP_DIM_SAMPLE, SOAP_DIM_ATTRIBUTE};
    int x = soap_add_input(g, "x", 2, size, kinds, 0);
    int a1 = soap_add_linear(g, "a1", x, 4096, 1, -1);
    int a2 = soap_add_linear(g, "a2", a1, 16, 1, -1);
    int b1 = soap_add_linear(g, "b1", x, 4096, 1, -1);
    int b2 = soap_add_linear(g, "b2", b1, 16, 1, -1);
    int sum = soap_add_binary(g, "add", a2, b2, SOAP_BINARY_ADD);
    soap_add_softmax_ce(g, "loss", sum);
    return g;
}

/* Two devices (a slow 1 TFLOP/s type, so the branches are heavy) on a
 * 50 GB/s link. */
static soap_machine *two_devices(void)
{
    soap_machine *m = soap_machine_new("two");
    soap_device_type t = {.peak_flops = 1e12, .mem_bandwidth = 300e9,
                          .mem_capacity = 16e9, .launch_overhead = 5e-6};
    strcpy(t.name, "slow");
    int ty = soap_machine_add_type(m, &t);
    soap_machine_add_device(m, "d0", ty, 0);
    soap_machine_add_device(m, "d1", ty, 0);
    int ends[2] = {0, 1};
    soap_machine_add_link(m, "link", SOAP_LINK_NVLINK, 50e9, 1e-6, ends, 2);
    soap_error err;
    ck_assert_msg(soap_machine_finish(m, &err) == SOAP_OK, "%s", err.msg);
    return m;
}

/* Every placement (unsplit ops) in full; the fastest and its time. */
static double best_placement(fixture *f, soap_strategy *best)
{
    int nops = f->g->nops, n = f->m->ndevices;
    long total = 1;
    for (int op = 0; op < nops; op++)
        total *= n;
    soap_strategy *s = soap_strategy_clone(f->inits[0]);
    double best_s = INFINITY;
    for (long a = 0; a < total; a++) {
        long x = a;
        for (int op = 0; op < nops; op++) {
            s->configs[op] = soap_config_single(f->g, op, (int)(x % n));
            x /= n;
        }
        soap_error err;
        double t = soap_sim_full(f->sim, s, &err);
        ck_assert_msg(t > 0, "%s", err.msg);
        if (t < best_s) {
            best_s = t;
            soap_strategy_copy(best, s);
        }
    }
    soap_strategy_free(s);
    return best_s;
}

static soap_search_options placement_options(unsigned long seed, long proposals)
{
    soap_search_options o = soap_search_options_default();
    soap_error err;
    ck_assert(soap_search_space_parse("O", &o.space, &err) == SOAP_OK);
    o.seed = seed;
    o.proposals = proposals;
    return o;
}

static void assert_placement(const fixture *f, const soap_strategy *s)
{
    for (int op = 0; op < f->g->nops; op++)
        ck_assert_msg(s->configs[op].ntasks == 1, "op %s split into %d tasks",
                      f->g->ops[op].name, s->configs[op].ntasks);
}

START_TEST(test_same_seed)
{
    static const char *const inits[] = {"model"};
    fixture f;
    fix_setup(&f, "rnnlm", "p100x16", 4, 64, inits, 1);
    soap_search_options o = placement_options(11, 400);
    soap_search_result a, b, c;
    fix_run(&f, "reinforce", &o, &a);
    fix_run(&f, "reinforce", &o, &b);
    ck_assert(a.best_s == b.best_s);
    ck_assert(fix_same_strategy(a.best, b.best));
    ck_assert_int_eq(a.proposals, 400);
    ck_assert_int_eq(a.proposals, b.proposals);
    ck_assert_int_eq(a.accepted, b.accepted);
    ck_assert_int_eq(a.log_len, b.log_len);
    for (long k = 0; k < a.log_len; k++) {
        ck_assert(a.log[k].proposals == b.log[k].proposals);
        ck_assert(a.log[k].current_s == b.log[k].current_s);
        ck_assert(a.log[k].best_s == b.log[k].best_s);
    }
    ck_assert_int_eq(a.chains, 1);
    ck_assert_int_eq(a.threads, 1);
    /* Another seed: another walk through the placements. */
    o.seed = 12;
    fix_run(&f, "reinforce", &o, &c);
    ck_assert_int_eq(c.proposals, 400);
    int differ = c.log_len != a.log_len;
    for (long k = 0; !differ && k < a.log_len; k++)
        differ = a.log[k].current_s != c.log[k].current_s;
    ck_assert_msg(differ, "seeds 11 and 12 gave the same log");
    /* Threads do not change it: one chain on one thread. */
    o.seed = 11;
    o.threads = 4;
    soap_search_result d;
    fix_run(&f, "reinforce", &o, &d);
    ck_assert(d.best_s == a.best_s && fix_same_strategy(d.best, a.best));
    soap_search_result_free(&a);
    soap_search_result_free(&b);
    soap_search_result_free(&c);
    soap_search_result_free(&d);
    fix_teardown(&f);
}
END_TEST

START_TEST(test_two_branches)
{
    fixture f;
    fix_adopt(&f, two_branches(), two_devices());
    soap_strategy *opt = soap_strategy_clone(f.inits[0]);
    double opt_s = best_placement(&f, opt);
    int a1 = 1, b1 = 3;
    /* The case is what it is meant to be: the heavy branches apart. */
    ck_assert(opt->configs[a1].device[0] != opt->configs[b1].device[0]);
    soap_strategy *same = soap_strategy_clone(opt);
    for (int op = 0; op < f.g->nops; op++)
        same->configs[op] = soap_config_single(f.g, op, 0);
    soap_error err;
    double one_s = soap_sim_full(f.sim, same, &err);
    ck_assert_msg(one_s > 1.3 * opt_s, "one device %g s, best placement %g s", one_s, opt_s);

    /* As initial strategy everything on device 0 (data parallelism, which
     * splits the batch, would be a bar no placement could beat here). */
    soap_strategy_copy(f.inits[0], same);
    f.names[0] = "one-device";
    for (unsigned long seed = 1; seed <= 3; seed++) {
        soap_search_options o = placement_options(seed, 600);
        soap_search_result r;
        fix_run(&f, "reinforce", &o, &r);
        ck_assert_msg(fabs(r.best_s - opt_s) <= 1e-12 * opt_s,
                      "seed %lu: reinforce %.9g s, best placement %.9g s", seed, r.best_s,
                      opt_s);
        ck_assert(r.found_by_search);
        ck_assert(r.best->configs[a1].device[0] != r.best->configs[b1].device[0]);
        assert_placement(&f, r.best);
        soap_search_result_free(&r);
    }

    /* The policy learns: its samples get faster (every sample logged). */
    soap_search_options o = placement_options(5, 600);
    o.log_every = 1;
    soap_search_result r;
    fix_run(&f, "reinforce", &o, &r);
    double first = 0.0, last = 0.0;
    int nfirst = 0, nlast = 0;
    for (long k = 0; k < r.log_len; k++) {
        long at = r.log[k].proposals;
        if (at >= 1 && at <= 48) {
            first += r.log[k].current_s;
            nfirst++;
        } else if (at >= 552 && at <= 599) {
            last += r.log[k].current_s;
            nlast++;
        }
    }
    ck_assert_int_eq(nfirst, 48);
    ck_assert_int_eq(nlast, 48);
    first /= nfirst;
    last /= nlast;
    ck_assert_msg(last < 0.9 * first && last < 1.05 * opt_s,
                  "mean sample time: first 48 %.6g s, last 48 %.6g s, best %.6g s", first,
                  last, opt_s);
    soap_search_result_free(&r);
    soap_strategy_free(same);
    soap_strategy_free(opt);
    fix_teardown(&f);
}
END_TEST

START_TEST(test_never_slower)
{
    /* lenet on 4 devices: data parallelism beats every placement of
     * unsplit ops, so the initial strategy has to come back. */
    static const char *const inits[] = {"data"};
    fixture f;
    fix_setup(&f, "lenet", "p100x16", 4, 64, inits, 1);
    soap_search_options o = placement_options(3, 200);
    soap_search_result r;
    fix_run(&f, "reinforce", &o, &r);
    ck_assert(r.best_s <= r.init_s[0]);
    ck_assert(!r.found_by_search && r.best_init == 0);
    ck_assert(fix_same_strategy(r.best, f.inits[0]));
    soap_search_result_free(&r);

    /* From a slower start (the model strategy) it improves or keeps it;
     * with the SOAP space it still searches placements only. */
    soap_strategy_free(f.inits[0]);
    soap_error err;
    soap_strategy_options sopt = {.seed = 1};
    f.inits[0] = soap_strategy_load("model", f.g, f.m, &sopt, &err);
    ck_assert_msg(f.inits[0] != NULL, "%s", err.msg);
    o = soap_search_options_default();
    o.proposals = 200;
    o.seed = 3;
    fix_run(&f, "reinforce", &o, &r);
    ck_assert(r.best_s <= r.init_s[0]);
    if (r.found_by_search)
        assert_placement(&f, r.best);
    soap_search_result_free(&r);
    fix_teardown(&f);
}
END_TEST

typedef struct bad_case {
    double lr;
    int samples;
    const char *dims;
    long proposals;
    const char *expect;
} bad_case;

static const bad_case bad[] = {
    {0.0, 8, "O", 100, "learning rate 0: expected a number > 0 and <= 1000"},
    {-1.0, 8, "O", 100, "learning rate -1: expected"},
    {2000.0, 8, "O", 100, "learning rate 2000: expected"},
    {NAN, 8, "O", 100, "learning rate nan: expected"},
    {1.0, 0, "O", 100, "samples per update 0: expected 1 to 1024"},
    {1.0, 1025, "O", 100, "samples per update 1025: expected 1 to 1024"},
    {1.0, 8, "SAP", 100, "no placement freedom"},
    {1.0, 8, "O", 0, "needs a budget"},
};

START_TEST(test_bad_options)
{
    const bad_case *bc = &bad[_i];
    static const char *const inits[] = {"data"};
    fixture f;
    fix_setup(&f, "lenet", "p100x16", 2, 32, inits, 1);
    soap_search_options o = placement_options(1, bc->proposals);
    soap_error err;
    ck_assert(soap_search_space_parse(bc->dims, &o.space, &err) == SOAP_OK);
    o.reinforce_lr = bc->lr;
    o.reinforce_samples = bc->samples;
    soap_search_result r;
    soap_error_clear(&err);
    soap_status st = soap_search_run(soap_search_find("reinforce"), &f.p, &o, &r, &err);
    ck_assert(st != SOAP_OK);
    ck_assert_msg(strstr(err.msg, bc->expect) && strstr(err.msg, "reinforce"), "%s", err.msg);
    soap_search_result_free(&r);
    fix_teardown(&f);
}
END_TEST

Suite *soap_suite_search_reinforce(void)
{
    Suite *s = suite_create("search_reinforce");
    TCase *tc = tcase_create("reproducible");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_same_seed);
    suite_add_tcase(s, tc);
    tc = tcase_create("finds_placement");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_two_branches);
    suite_add_tcase(s, tc);
    tc = tcase_create("never_slower");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_never_slower);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad_options");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_bad_options, 0, (int)(sizeof bad / sizeof bad[0]));
    suite_add_tcase(s, tc);
    return s;
}
