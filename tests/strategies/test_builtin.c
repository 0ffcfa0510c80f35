/* Tests of the built-in strategies (suite "builtin_strategies"): the
 * registry; every strategy valid for every built-in model on every preset at
 * 1, 2, 4, 16 devices (dgx-h100: 1, 2, 4, 8), k80x64 at 64 and cpu-1/2/4,
 * with batch 64 per device and short RNNs, and once with the models'
 * defaults; and what each strategy promises: data splits the batch over all
 * devices where N allows, model keeps ops unsplit on non-decreasing devices
 * with balanced stages, owt splits linear ops by parameter, expert is owt
 * for CNNs, data for the Transformer and GNMT-style for the RNNs (layers on
 * different GPUs of a node, replicas across nodes), and random is fixed by
 * its seed. Expectations are derived here from the graphs' shapes, not from
 * the strategies' code. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "soap_strategies.h"

static soap_machine *machine(const char *preset, int n)
{
    soap_error err;
    soap_error_clear(&err);
    soap_machine *m = soap_machine_preset(preset, &err);
    ck_assert_msg(m != NULL, "preset %s: %s", preset, err.msg);
    if (n > 0 && n != m->ndevices) {
        soap_machine *nm = soap_machine_narrow(m, n, &err);
        ck_assert_msg(nm != NULL, "%s narrowed to %d: %s", preset, n, err.msg);
        soap_machine_free(m);
        m = nm;
    }
    return m;
}

static soap_graph *model(const char *name, int64_t batch, int small)
{
    soap_model_options o = {.batch = batch};
    if (small) {
        o.unroll = 3;
        o.layers = 2;
        o.seq_len = 16;
    }
    soap_error err;
    soap_error_clear(&err);
    soap_graph *g = soap_model_load(name, &o, &err);
    ck_assert_msg(g != NULL, "model %s: %s", name, err.msg);
    return g;
}

static soap_strategy *build(const char *strategy, const soap_graph *g, const soap_machine *m,
                            unsigned long seed)
{
    soap_strategy_options so = {.seed = seed};
    soap_error err;
    soap_error_clear(&err);
    soap_strategy *s = soap_strategy_load(strategy, g, m, &so, &err);
    ck_assert_msg(s != NULL, "%s for %s on %s (%d devices): %s", strategy, g->name, m->name,
                  m->ndevices, err.msg);
    ck_assert_msg(soap_strategy_check(s, g, m, &err) == SOAP_OK, "%s for %s on %s: %s",
                  strategy, g->name, m->name, err.msg);
    return s;
}

/* Largest k <= n (and <= 64) dividing size: by plain search. */
static int divisor_upto(int64_t size, int n)
{
    int best = 1;
    for (int k = 1; k <= n && k <= SOAP_MAX_TASKS; k++)
        if (size % k == 0)
            best = k;
    return best;
}

static int dim_of_kind(const soap_op *o, soap_dim_kind kind)
{
    for (int d = 0; d < o->out.ndims; d++)
        if (o->out.kind[d] == kind)
            return d;
    return -1;
}

/* c splits only dim `dim` k ways, tasks on devices 0..k-1 (k = 1: one task
 * on device 0). */
static void assert_split(const soap_graph *g, int op, const soap_config *c, int dim, int k,
                         const char *what)
{
    char buf[512];
    soap_config_str(c, buf, sizeof buf);
    const soap_op *o = &g->ops[op];
    ck_assert_msg(c->ntasks == k, "%s: %s.%s: %s, want %d tasks", what, g->name, o->name, buf,
                  k);
    for (int d = 0; d < c->ndims; d++)
        ck_assert_msg(c->degree[d] == (d == dim ? k : 1), "%s: %s.%s: %s, want dim %d split %d",
                      what, g->name, o->name, buf, dim, k);
    for (int t = 0; t < k; t++)
        ck_assert_msg(c->device[t] == t, "%s: %s.%s: %s", what, g->name, o->name, buf);
}

/* ------------------------------------------------------------------ */
/* Registry                                                            */
/* ------------------------------------------------------------------ */
START_TEST(registry_table)
{
    const char *want[] = {"data", "model", "owt", "expert", "random"};
    const soap_strategy_ops *const *r = soap_strategy_registry();
    int n = 0;
    for (; r[n]; n++) {
        ck_assert_int_lt(n, 5);
        ck_assert_str_eq(r[n]->name, want[n]);
        ck_assert(r[n]->description && r[n]->description[0]);
        ck_assert(r[n]->build != NULL);
        ck_assert_ptr_eq(soap_strategy_find(want[n]), r[n]);
    }
    ck_assert_int_eq(n, 5);
    ck_assert_ptr_null(soap_strategy_find("Data"));
    ck_assert_ptr_null(soap_strategy_find(NULL));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Every strategy, every model, every machine                          */
/* ------------------------------------------------------------------ */
typedef struct machine_case {
    const char *preset;
    int n; /* narrowed to; 0: as is */
} machine_case;

static const machine_case grid[] = {
    {"p100x16", 1}, {"p100x16", 2}, {"p100x16", 4}, {"p100x16", 16},
    {"k80x64", 1},  {"k80x64", 2},  {"k80x64", 4},  {"k80x64", 16}, {"k80x64", 64},
    {"dgx-h100", 1}, {"dgx-h100", 2}, {"dgx-h100", 4}, {"dgx-h100", 8},
    {"cpu-1", 0},   {"cpu-2", 0},   {"cpu-4", 0},
};

static void check_data(const soap_graph *g, const soap_strategy *s, int n, const char *what)
{
    int full = 0, splittable = 0;
    for (int i = 0; i < g->nops; i++) {
        const soap_op *o = &g->ops[i];
        int dim = dim_of_kind(o, SOAP_DIM_SAMPLE);
        int k = dim < 0 ? 1 : divisor_upto(o->out.size[dim], n);
        assert_split(g, i, &s->configs[i], dim, k, what);
        if (dim >= 0 && o->out.size[dim] % n == 0) {
            splittable++;
            full += s->configs[i].ntasks == n;
        }
    }
    /* Batch 64n: every batch dim divides n, so all devices are used. */
    ck_assert_int_gt(splittable, 0);
    ck_assert_int_eq(full, splittable);
}

static void check_model(const soap_graph *g, const soap_strategy *s, int n, const char *what)
{
    double *stage = calloc((size_t)n, sizeof *stage);
    double total = 0.0, biggest = 0.0;
    int prev = 0;
    for (int i = 0; i < g->nops; i++) {
        const soap_config *c = &s->configs[i];
        ck_assert_int_eq(c->ntasks, 1);
        ck_assert_msg(c->device[0] >= prev, "%s: %s op %d on device %d after device %d", what,
                      g->name, i, c->device[0], prev);
        prev = c->device[0];
        soap_region full = soap_region_full(&g->ops[i].out);
        double w = soap_op_region_cost(g, i, &full).fwd_flops;
        stage[c->device[0]] += w;
        total += w;
        if (w > biggest)
            biggest = w;
    }
    ck_assert_int_eq(s->configs[0].device[0], 0);
    /* Cutting at multiples of total/n, no stage gets more than its share
     * plus one op. */
    for (int d = 0; d < n; d++)
        ck_assert_msg(stage[d] <= total / n + biggest + 1e-6 * total,
                      "%s: %s stage %d has %g of %g FLOP (largest op %g)", what, g->name, d,
                      stage[d], total, biggest);
    free(stage);
}

static void check_owt(const soap_graph *g, const soap_strategy *s, int n, const char *what)
{
    for (int i = 0; i < g->nops; i++) {
        const soap_op *o = &g->ops[i];
        if (o->kind == SOAP_OP_LINEAR) {
            /* The out features F: the last dim, kind parameter. */
            int dim = o->out.ndims - 1;
            ck_assert_int_eq(o->out.kind[dim], SOAP_DIM_PARAMETER);
            assert_split(g, i, &s->configs[i], dim, divisor_upto(o->out.size[dim], n), what);
        } else {
            int dim = dim_of_kind(o, SOAP_DIM_SAMPLE);
            assert_split(g, i, &s->configs[i], dim,
                         dim < 0 ? 1 : divisor_upto(o->out.size[dim], n), what);
        }
    }
}

static int has_kind(const soap_graph *g, soap_op_kind k)
{
    for (int i = 0; i < g->nops; i++)
        if (g->ops[i].kind == k)
            return 1;
    return 0;
}

static const char *const model_names[] = {"alexnet", "inception_v3", "lenet",  "nmt",
                                          "resnet101", "rnnlm", "rnntc", "transformer"};
#define NMODELS (int)(sizeof model_names / sizeof model_names[0])

START_TEST(every_model_every_machine)
{
    const machine_case *mc = &grid[_i];
    soap_machine *m = machine(mc->preset, mc->n);
    const int n = m->ndevices;
    char what[96];
    for (int mi = 0; mi < NMODELS; mi++) {
        soap_graph *g = model(model_names[mi], 64 * (int64_t)n, 1);
        snprintf(what, sizeof what, "%s/%d", mc->preset, n);

        soap_strategy *data = build("data", g, m, 0);
        check_data(g, data, n, what);
        soap_strategy *mod = build("model", g, m, 0);
        check_model(g, mod, n, what);
        soap_strategy *owt = build("owt", g, m, 0);
        check_owt(g, owt, n, what);
        soap_strategy *exp = build("expert", g, m, 0);
        if (has_kind(g, SOAP_OP_CONV2D) || !has_kind(g, SOAP_OP_LSTM)) {
            const soap_strategy *same = has_kind(g, SOAP_OP_CONV2D) ? owt : data;
            for (int i = 0; i < g->nops; i++)
                ck_assert_msg(soap_config_equal(&exp->configs[i], &same->configs[i]),
                              "%s: expert for %s differs from %s at op %s", what, g->name,
                              has_kind(g, SOAP_OP_CONV2D) ? "owt" : "data", g->ops[i].name);
        }
        soap_strategy *r1 = build("random", g, m, 1);
        soap_strategy *r1b = build("random", g, m, 1);
        soap_strategy *r2 = build("random", g, m, 2);
        int differ = 0;
        for (int i = 0; i < g->nops; i++) {
            ck_assert(soap_config_equal(&r1->configs[i], &r1b->configs[i]));
            differ += !soap_config_equal(&r1->configs[i], &r2->configs[i]);
        }
        if (n > 1)
            ck_assert_msg(differ > 0, "%s: seeds 1 and 2 give the same strategy for %s", what,
                          g->name);
        soap_strategy *ss[] = {data, mod, owt, exp, r1, r1b, r2};
        for (size_t k = 0; k < sizeof ss / sizeof ss[0]; k++)
            soap_strategy_free(ss[k]);
        soap_graph_free(g);
    }
    soap_machine_free(m);
}
END_TEST

START_TEST(defaults_on_k80x64)
{
    /* The models as built by default (batch 64, T = 40, 12 layers of 128)
     * on all 64 K80s. */
    soap_machine *m = machine("k80x64", 0);
    ck_assert_int_eq(m->ndevices, 64);
    soap_graph *g = model(model_names[_i], 0, 0);
    for (const soap_strategy_ops *const *r = soap_strategy_registry(); *r; r++) {
        soap_strategy *s = build((*r)->name, g, m, 5);
        soap_strategy_free(s);
    }
    soap_strategy *s = build("data", g, m, 0);
    check_data(g, s, 64, "k80x64 defaults");
    soap_strategy_free(s);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Details of model, owt, expert, random                               */
/* ------------------------------------------------------------------ */
START_TEST(model_uses_every_device)
{
    /* ResNet-101 has ~350 ops of similar size: 4 stages all get work, and
     * the op order is cut into exactly 4 runs. */
    soap_machine *m = machine("p100x16", 4);
    soap_graph *g = model("resnet101", 256, 0);
    soap_strategy *s = build("model", g, m, 0);
    int count[4] = {0};
    for (int i = 0; i < g->nops; i++)
        count[s->configs[i].device[0]]++;
    for (int d = 0; d < 4; d++)
        ck_assert_msg(count[d] > 10, "device %d has %d ops", d, count[d]);
    soap_strategy_free(s);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

START_TEST(owt_alexnet)
{
    /* AlexNet on 4 GPUs: fc6, fc7 (4096) and fc8 (1000) all split 4 ways by
     * out features; the convolutions by batch. */
    soap_machine *m = machine("p100x16", 4);
    soap_graph *g = model("alexnet", 256, 0);
    soap_strategy *s = build("owt", g, m, 0);
    int linear = 0, conv = 0;
    for (int i = 0; i < g->nops; i++) {
        const soap_config *c = &s->configs[i];
        const soap_op *o = &g->ops[i];
        if (o->kind == SOAP_OP_LINEAR) {
            ck_assert_int_eq(c->degree[o->out.ndims - 1], 4);
            ck_assert_int_eq(c->degree[0], 1);
            ck_assert_int_eq(o->out.kind[o->out.ndims - 1], SOAP_DIM_PARAMETER);
            linear++;
        } else if (o->kind == SOAP_OP_CONV2D) {
            ck_assert_int_eq(c->degree[0], 4);
            ck_assert_int_eq(c->degree[1], 1);
            conv++;
        }
    }
    ck_assert_int_eq(linear, 3);
    ck_assert_int_eq(conv, 5);
    soap_strategy_free(s);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

/* Index of device d among the devices of its node (in id order). */
static int local_index(const soap_machine *m, int d)
{
    int k = 0;
    for (int e = 0; e < d; e++)
        k += m->devices[e].node == m->devices[d].node;
    return k;
}

START_TEST(expert_nmt_k80x64)
{
    /* 16 nodes of 4 K80s, batch 64: 16 replicas (16 divides 64), one per
     * node; nmt has op layers 0..7, so layer L runs on GPU floor(L*4/8) =
     * L/2 of every node. */
    soap_machine *m = machine("k80x64", 0);
    soap_graph *g = model("nmt", 64, 1);
    soap_strategy *s = build("expert", g, m, 0);
    int gpus_seen[4] = {0};
    int lstm = 0;
    for (int i = 0; i < g->nops; i++) {
        const soap_op *o = &g->ops[i];
        const soap_config *c = &s->configs[i];
        int layer = o->layer < 0 ? 0 : o->layer;
        ck_assert_int_eq(c->ntasks, 16);
        ck_assert_int_eq(c->degree[0], 16);
        for (int t = 0; t < 16; t++) {
            ck_assert_msg(m->devices[c->device[t]].node == t, "%s task %d on node %d", o->name,
                          t, m->devices[c->device[t]].node);
            ck_assert_msg(local_index(m, c->device[t]) == layer * 4 / 8,
                          "%s (layer %d) task %d on local GPU %d, want %d", o->name, layer, t,
                          local_index(m, c->device[t]), layer * 4 / 8);
        }
        if (o->kind == SOAP_OP_LSTM) {
            lstm++;
            gpus_seen[local_index(m, c->device[0])]++;
        }
    }
    ck_assert_int_eq(lstm, 2 * 4 * 3); /* 4+4 layers, 3 steps */
    for (int k = 0; k < 4; k++)
        ck_assert_msg(gpus_seen[k] == 6, "local GPU %d runs %d LSTM ops", k, gpus_seen[k]);
    /* Encoder layer 0 and decoder layer 3 (op layer 7) are on different GPUs. */
    int a = soap_graph_find(g, "enc.l0.t0"), b = soap_graph_find(g, "dec.l3.t0");
    ck_assert(a >= 0 && b >= 0);
    ck_assert_int_ne(s->configs[a].device[0], s->configs[b].device[0]);
    ck_assert_int_eq(m->devices[s->configs[a].device[0]].node,
                     m->devices[s->configs[b].device[0]].node);
    soap_strategy_free(s);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

typedef struct expert_case {
    const char *model;
    const char *preset;
    int n;
    int64_t batch;
    int replicas;   /* want: sample degree */
    int gpus;       /* want: local GPUs per replica used */
} expert_case;

static const expert_case expert_cases[] = {
    /* One node of 4 P100s: no replication, layers over the 4 GPUs. */
    {"nmt", "p100x16", 4, 64, 1, 4},
    /* k80x64 narrowed to 6: nodes of 4 and 2 devices; 2 replicas, laid out
     * on the 2 GPUs both nodes have. */
    {"nmt", "k80x64", 6, 64, 2, 2},
    /* 16 nodes but a batch of 24: 12 replicas (the largest divisor <= 16). */
    {"rnnlm", "k80x64", 64, 24, 12, 2}, /* rnnlm: 2 layers -> GPUs 0 and 2 */
    {"rnntc", "p100x16", 16, 64, 4, 4},
    {"rnntc", "cpu-4", 0, 64, 1, 4},
};

START_TEST(expert_rnn_layouts)
{
    const expert_case *k = &expert_cases[_i];
    soap_machine *m = machine(k->preset, k->n);
    soap_graph *g = model(k->model, k->batch, 1);
    soap_strategy *s = build("expert", g, m, 0);
    int used[SOAP_MAX_DEVICES] = {0};
    for (int i = 0; i < g->nops; i++) {
        const soap_config *c = &s->configs[i];
        ck_assert_msg(c->ntasks == k->replicas && c->degree[0] == k->replicas,
                      "%s: %d tasks, want %d", g->ops[i].name, c->ntasks, k->replicas);
        for (int t = 0; t < c->ntasks; t++) {
            ck_assert_int_eq(m->devices[c->device[t]].node, t);
            used[local_index(m, c->device[t])] = 1;
        }
    }
    int distinct = 0;
    for (int d = 0; d < SOAP_MAX_DEVICES; d++)
        distinct += used[d];
    ck_assert_msg(distinct == k->gpus, "%s on %s/%d: %d local GPUs used, want %d", k->model,
                  k->preset, m->ndevices, distinct, k->gpus);
    soap_strategy_free(s);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

START_TEST(random_seeds)
{
    soap_machine *m = machine("p100x16", 16);
    soap_graph *g = model("inception_v3", 64, 0);
    soap_strategy *a = build("random", g, m, 99);
    soap_strategy *b = build("random", g, m, 99);
    soap_strategy *c = build("random", g, m, 100);
    int differ = 0, split = 0;
    for (int i = 0; i < g->nops; i++) {
        ck_assert(soap_config_equal(&a->configs[i], &b->configs[i]));
        differ += !soap_config_equal(&a->configs[i], &c->configs[i]);
        split += a->configs[i].ntasks > 1;
    }
    /* Almost every op differs between seeds, and most are split. */
    ck_assert_int_gt(differ, g->nops / 2);
    ck_assert_int_gt(split, g->nops / 2);
    soap_strategy_free(a);
    soap_strategy_free(b);
    soap_strategy_free(c);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

Suite *soap_suite_builtin_strategies(void);
Suite *soap_suite_builtin_strategies(void)
{
    Suite *s = suite_create("builtin_strategies");
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, registry_table);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("all_valid");
    tcase_add_loop_test(tc, every_model_every_machine, 0, (int)(sizeof grid / sizeof grid[0]));
    tcase_add_loop_test(tc, defaults_on_k80x64, 0, NMODELS);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);

    tc = tcase_create("model");
    tcase_add_test(tc, model_uses_every_device);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("owt");
    tcase_add_test(tc, owt_alexnet);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("expert");
    tcase_add_test(tc, expert_nmt_k80x64);
    tcase_add_loop_test(tc, expert_rnn_layouts, 0,
                        (int)(sizeof expert_cases / sizeof expert_cases[0]));
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("random");
    tcase_add_test(tc, random_seeds);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
