/* Moves that respect shared weights (suite "search_moves"): the groups of a
 * space (the steps of one LSTM layer, a shared embedding or projection in
 * one group; ops without shared weights, and users of one weight with
 * different config spaces, alone), tied proposals (every member the same
 * config; a self-loop when the members disagree), op moves drawing exactly
 * what mcmc always drew (and tied / mixed being op moves on a graph without
 * shared weights), the same seed giving the same chain for tied and mixed
 * (delta and full simulation alike), greedy with tied moves ending at a
 * local optimum of the tied neighbourhood, the move set names. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "search_fixture.h"

static int op_id(const soap_graph *g, const char *name)
{
    int id = soap_graph_find(g, name);
    ck_assert_msg(id >= 0, "no op %s", name);
    return id;
}

/* The group of op `name` has exactly the ops named prefix "t0" .. "t<n-1>"
 * (e.g. "lstm.l1.t" and 4). */
static void group_is_steps(const soap_space *s, const soap_graph *g, const char *prefix, int n)
{
    char nm[SOAP_NAME_MAX];
    snprintf(nm, sizeof nm, "%s0", prefix);
    const int *m;
    int k = soap_space_group_members(s, soap_space_group_of(s, op_id(g, nm)), &m);
    ck_assert_msg(k == n, "%s: %d members, expected %d", nm, k, n);
    for (int t = 0; t < n; t++) {
        snprintf(nm, sizeof nm, "%s%d", prefix, t);
        ck_assert_msg(m[t] == op_id(g, nm), "%s: member %d is %s", prefix, t, g->ops[m[t]].name);
    }
}

static void is_alone(const soap_space *s, const soap_graph *g, const char *name)
{
    const int *m;
    int k = soap_space_group_members(s, soap_space_group_of(s, op_id(g, name)), &m);
    ck_assert_msg(k == 1 && m[0] == op_id(g, name), "%s: %d members", name, k);
}

START_TEST(test_groups_rnn)
{
    fixture f;
    const char *const one[] = {"data"};
    soap_search_space sp = soap_search_space_all();
    /* rnnlm, 4 steps: embedding, 2 LSTM layers, projection. */
    fix_setup(&f, "rnnlm", "p100x16", 4, 64, one, 1);
    soap_space *s = soap_space_new(f.g, 4, &sp);
    ck_assert_int_eq(soap_space_nshared(s), 4);
    ck_assert_int_eq(soap_space_ngroups(s), f.g->nops - 4 * 3);
    group_is_steps(s, f.g, "lstm.l0.t", 4);
    group_is_steps(s, f.g, "lstm.l1.t", 4);
    group_is_steps(s, f.g, "embed.t", 4);
    group_is_steps(s, f.g, "proj.t", 4);
    is_alone(s, f.g, "loss.t2");
    is_alone(s, f.g, "tokens.t0");
    soap_space_free(s);
    fix_teardown(&f);
    /* nmt: 4 + 4 LSTM layers, two embeddings, attention, projection. */
    fix_setup(&f, "nmt", "p100x16", 4, 64, one, 1);
    s = soap_space_new(f.g, 4, &sp);
    ck_assert_int_eq(soap_space_nshared(s), 12);
    group_is_steps(s, f.g, "enc.l2.t", 4);
    group_is_steps(s, f.g, "dec.l0.t", 4);
    group_is_steps(s, f.g, "dec.embed.t", 4);
    group_is_steps(s, f.g, "dec.attn.t", 4);
    group_is_steps(s, f.g, "dec.proj.t", 4);
    is_alone(s, f.g, "dec.loss.t1");
    /* Groups numbered by their first member. */
    for (int gi = 1; gi < soap_space_ngroups(s); gi++) {
        const int *a, *b;
        soap_space_group_members(s, gi - 1, &a);
        soap_space_group_members(s, gi, &b);
        ck_assert(a[0] < b[0]);
    }
    soap_space_free(s);
    fix_teardown(&f);
    /* lenet: no shared weights, group i is op i. */
    fix_setup(&f, "lenet", "p100x16", 4, 64, one, 1);
    s = soap_space_new(f.g, 4, &sp);
    ck_assert_int_eq(soap_space_nshared(s), 0);
    ck_assert_int_eq(soap_space_ngroups(s), f.g->nops);
    for (int op = 0; op < f.g->nops; op++)
        ck_assert_int_eq(soap_space_group_of(s, op), op);
    soap_space_free(s);
    fix_teardown(&f);
}
END_TEST

/* Two linears share a weight but read inputs of different batch sizes: one
 * config does not fit both, so they are not a group; a third with the
 * first one's shape joins it. */
START_TEST(test_groups_config_space)
{
    soap_graph *g = soap_graph_new("split", 64);
    const int64_t big[2] = {64, 16}, small[2] = {32, 16};
    int a = soap_add_input(g, "a", 2, big, NULL, 0);
    int b = soap_add_input(g, "b", 2, small, NULL, 0);
    int c = soap_add_input(g, "c", 2, big, NULL, 0);
    int la = soap_add_linear(g, "la", a, 8, 1, -1);
    int lb = soap_add_linear(g, "lb", b, 8, 1, la);
    int lc = soap_add_linear(g, "lc", c, 8, 1, la);
    soap_search_space sp = soap_search_space_all();
    soap_space *s = soap_space_new(g, 4, &sp);
    ck_assert_int_eq(soap_space_nshared(s), 1);
    const int *m;
    ck_assert_int_eq(soap_space_group_members(s, soap_space_group_of(s, la), &m), 2);
    ck_assert(m[0] == la && m[1] == lc);
    ck_assert_int_eq(soap_space_group_members(s, soap_space_group_of(s, lb), &m), 1);
    ck_assert(soap_space_group_of(s, lc) == soap_space_group_of(s, la));
    soap_space_free(s);
    soap_graph_free(g);
}
END_TEST

/* From data parallelism (every member of a group agrees) a tied move gives
 * every member of the drawn group one config, valid for each. */
START_TEST(test_tied_same_config)
{
    fixture f;
    const char *const one[] = {"data"};
    fix_setup(&f, "nmt", "p100x16", 4, 64, one, 1);
    soap_search_space sp = soap_search_space_all();
    soap_space *s = soap_space_new(f.g, 4, &sp);
    gsl_rng *rng = soap_rng_new(3, SOAP_RNG_SEARCH_CHAIN, 0);
    soap_error err;
    soap_error_clear(&err);
    int multi = 0;
    for (int k = 0; k < 400; k++) {
        const int *ops;
        soap_config cfg;
        int n = soap_space_propose(s, SOAP_MOVES_TIED, f.inits[0], rng, &ops, &cfg);
        const int *m;
        int gsize = soap_space_group_members(s, soap_space_group_of(s, ops[0]), &m);
        ck_assert_int_eq(n, gsize);
        ck_assert(ops == m);
        multi += n > 1;
        for (int i = 0; i < n; i++)
            ck_assert_msg(soap_config_check(f.g, ops[i], &cfg, 4, &err) == SOAP_OK, "%s",
                          err.msg);
    }
    ck_assert(multi > 50);
    gsl_rng_free(rng);
    soap_space_free(s);
    fix_teardown(&f);
}
END_TEST

/* A group whose members disagree is a self-loop for a tied move (0 ops);
 * every other group still moves. */
START_TEST(test_self_loop)
{
    fixture f;
    const char *const one[] = {"data"};
    fix_setup(&f, "rnnlm", "p100x16", 4, 64, one, 1);
    soap_search_space sp = soap_search_space_all();
    soap_space *s = soap_space_new(f.g, 4, &sp);
    soap_strategy *x = soap_strategy_clone(f.inits[0]);
    int odd = op_id(f.g, "lstm.l1.t2");
    x->configs[odd] = soap_config_single(f.g, odd, 3);
    int bad = soap_space_group_of(s, odd);
    gsl_rng *rng = soap_rng_new(4, SOAP_RNG_SEARCH_CHAIN, 0);
    int loops = 0, moves = 0;
    for (int k = 0; k < 300; k++) {
        const int *ops;
        soap_config cfg;
        int n = soap_space_propose(s, SOAP_MOVES_TIED, x, rng, &ops, &cfg);
        int gid = soap_space_group_of(s, ops[0]);
        if (gid == bad) {
            ck_assert_int_eq(n, 0);
            loops++;
        } else {
            ck_assert(n >= 1);
            moves++;
        }
    }
    ck_assert(loops > 5 && moves > 100);
    soap_strategy_free(x);
    gsl_rng_free(rng);
    soap_space_free(s);
    fix_teardown(&f);
}
END_TEST

/* Op moves draw what mcmc always drew: the op uniformly, then
 * soap_space_random; on a graph without shared weights tied and mixed
 * draw exactly the same. */
START_TEST(test_op_moves_unchanged)
{
    fixture f;
    const char *const one[] = {"data"};
    fix_setup(&f, _i == 0 ? "rnnlm" : "lenet", "p100x16", 4, 64, one, 1);
    soap_search_space sp = soap_search_space_all();
    soap_space *s = soap_space_new(f.g, 4, &sp);
    int sets = _i == 0 ? 1 : SOAP_MOVES_COUNT;
    for (int mv = 0; mv < sets; mv++) {
        gsl_rng *a = soap_rng_new(9, SOAP_RNG_SEARCH_CHAIN, 0);
        gsl_rng *b = soap_rng_new(9, SOAP_RNG_SEARCH_CHAIN, 0);
        for (int k = 0; k < 500; k++) {
            const int *ops;
            soap_config cfg, ref;
            int n = soap_space_propose(s, (soap_search_moves)mv, f.inits[0], a, &ops, &cfg);
            int op = (int)gsl_rng_uniform_int(b, (unsigned long)f.g->nops);
            soap_space_random(s, op, b, &ref);
            ck_assert(n == 1 && ops[0] == op && soap_config_equal(&cfg, &ref));
        }
        gsl_rng_free(a);
        gsl_rng_free(b);
    }
    soap_space_free(s);
    if (_i == 1) {
        /* The chains too. */
        soap_search_options o = soap_search_options_default();
        o.proposals = 800;
        o.seed = 2;
        o.log_every = 1;
        soap_search_result r[SOAP_MOVES_COUNT];
        for (int mv = 0; mv < SOAP_MOVES_COUNT; mv++) {
            o.moves = (soap_search_moves)mv;
            fix_run(&f, "mcmc", &o, &r[mv]);
        }
        for (int mv = 1; mv < SOAP_MOVES_COUNT; mv++) {
            ck_assert(r[mv].log_len == r[0].log_len && r[mv].best_s == r[0].best_s &&
                      r[mv].accepted == r[0].accepted);
            for (long k = 0; k < r[0].log_len; k++)
                ck_assert(r[mv].log[k].current_s == r[0].log[k].current_s);
            ck_assert(fix_same_strategy(r[mv].best, r[0].best));
        }
        for (int mv = 0; mv < SOAP_MOVES_COUNT; mv++)
            soap_search_result_free(&r[mv]);
    }
    fix_teardown(&f);
}
END_TEST

/* The same seed gives the same chain with tied and mixed moves, with delta
 * and with full simulation; tied moves find something op moves do not
 * walk alike (the chains differ). */
START_TEST(test_same_seed)
{
    static const soap_search_moves sets[] = {SOAP_MOVES_TIED, SOAP_MOVES_MIXED};
    fixture f;
    const char *const inits[] = {"data", "expert"};
    fix_setup(&f, "rnnlm", "p100x16", 4, 64, inits, 2);
    soap_search_options o = soap_search_options_default();
    o.proposals = 1500;
    o.seed = 11;
    o.no_stop_rule = 1;
    o.log_every = 1;
    o.moves = sets[_i];
    soap_search_result a, b, c, d;
    fix_run(&f, "mcmc", &o, &a);
    fix_run(&f, "mcmc", &o, &b);
    o.full_sim = 1;
    fix_run(&f, "mcmc", &o, &c);
    o.full_sim = 0;
    o.moves = SOAP_MOVES_OP;
    fix_run(&f, "mcmc", &o, &d);
    const soap_search_result *same[] = {&b, &c};
    for (int k = 0; k < 2; k++) {
        const soap_search_result *x = same[k];
        ck_assert(x->proposals == a.proposals && x->accepted == a.accepted &&
                  x->log_len == a.log_len && x->best_s == a.best_s);
        for (long i = 0; i < a.log_len; i++)
            ck_assert(x->log[i].current_s == a.log[i].current_s);
        ck_assert(fix_same_strategy(x->best, a.best));
    }
    int differ = d.log_len != a.log_len;
    for (long i = 0; i < a.log_len && !differ; i++)
        differ = d.log[i].current_s != a.log[i].current_s;
    ck_assert_msg(differ, "%s moves walk the chain of op moves", soap_search_moves_name(sets[_i]));
    soap_search_result_free(&a);
    soap_search_result_free(&b);
    soap_search_result_free(&c);
    soap_search_result_free(&d);
    fix_teardown(&f);
}
END_TEST

/* Greedy with tied (and mixed) moves ends at a local optimum of that
 * neighbourhood: check-local with the same moves finds no improving
 * change, while from data it finds one. */
START_TEST(test_greedy_tied_local)
{
    static const soap_search_moves sets[] = {SOAP_MOVES_TIED, SOAP_MOVES_MIXED};
    fixture f;
    const char *const one[] = {"data"};
    fix_setup(&f, "rnnlm", "p100x16", 2, 64, one, 1);
    soap_search_options o = soap_search_options_default();
    o.seed = 1;
    o.moves = sets[_i];
    soap_error err;
    soap_error_clear(&err);
    soap_local_report rep;
    ck_assert(soap_search_check_local(f.sim, f.g, f.m, f.inits[0], &o.space, o.moves, 0, &rep,
                                      &err) == SOAP_OK);
    ck_assert(rep.improving > 0);
    long tried_from_data = rep.tried;
    soap_search_result r;
    fix_run(&f, "greedy", &o, &r);
    ck_assert(r.exhausted);
    ck_assert(r.best_s < r.init_s[0]);
    ck_assert(soap_search_check_local(f.sim, f.g, f.m, r.best, &o.space, o.moves, 0, &rep,
                                      &err) == SOAP_OK);
    ck_assert_msg(rep.improving == 0, "%s: %ld improving changes, best %.9g < %.9g",
                  soap_search_moves_name(o.moves), rep.improving, rep.best_s, rep.time_s);
    ck_assert(rep.tried > 0);
    /* The tied neighbourhood has fewer units than the ops: fewer changes. */
    soap_local_report op_rep;
    ck_assert(soap_search_check_local(f.sim, f.g, f.m, f.inits[0], &o.space, SOAP_MOVES_OP, 0,
                                      &op_rep, &err) == SOAP_OK);
    if (o.moves == SOAP_MOVES_TIED)
        ck_assert(tried_from_data < op_rep.tried);
    else
        ck_assert(tried_from_data > op_rep.tried);
    soap_search_result_free(&r);
    fix_teardown(&f);
}
END_TEST

START_TEST(test_move_names)
{
    soap_error err;
    soap_error_clear(&err);
    for (int m = 0; m < SOAP_MOVES_COUNT; m++) {
        soap_search_moves out;
        ck_assert(soap_search_moves_parse(soap_search_moves_name((soap_search_moves)m), &out,
                                          &err) == SOAP_OK);
        ck_assert_int_eq(out, m);
    }
    soap_search_moves out = SOAP_MOVES_OP;
    ck_assert(soap_search_moves_parse("tide", &out, &err) != SOAP_OK);
    ck_assert_msg(strstr(err.msg, "tide") && strstr(err.msg, "op, tied, mixed"), "%s", err.msg);
    ck_assert(soap_search_options_default().moves == SOAP_SEARCH_MOVES_DEFAULT);
}
END_TEST

Suite *soap_suite_search_moves(void)
{
    Suite *s = suite_create("search_moves");
    TCase *tc = tcase_create("groups");
    tcase_add_test(tc, test_groups_rnn);
    tcase_add_test(tc, test_groups_config_space);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("proposals");
    tcase_add_test(tc, test_tied_same_config);
    tcase_add_test(tc, test_self_loop);
    tcase_add_loop_test(tc, test_op_moves_unchanged, 0, 2);
    tcase_add_test(tc, test_move_names);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    tc = tcase_create("chains");
    tcase_add_loop_test(tc, test_same_seed, 0, 2);
    tcase_add_loop_test(tc, test_greedy_tied_local, 0, 2);
    /* Seconds; the sanitizer build is about ten times slower. */
    tcase_set_timeout(tc, 600);
    suite_add_tcase(s, tc);
    return s;
}
