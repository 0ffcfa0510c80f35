/* Tests of parallel configs and the configuration space (suite "config"):
 * task regions (a hand-worked example, and exact tiling of the output by the
 * tasks of random configs), the validity check and its messages, the degree
 * enumeration of a small linear op listed by hand, random configs (every
 * degree vector is drawn, about equally often, and only valid ones), dims
 * masks, printing and equality. */
#include <check.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "soap_strategies.h"

/* The graphs under test:
 *  tiny: x [8,12] (S,A) -> fc linear 6 [8,6] (S,P) -> ln layernorm [8,6] (S,none)
 *        -> h lstm 6 [8,2,6] (S,none,P)
 *  cnn:  img [4,3,227,227] -> conv1 96 11x11 s4 [4,96,55,55] (S,P,A,A)
 *        -> pool1 max 3x3 s2 [4,96,27,27] -> flat flatten -> fc linear 10 */
static soap_graph *tiny_graph(void)
{
    soap_graph *g = soap_graph_new("tiny", 8);
    const int64_t xs[2] = {8, 12};
    int x = soap_add_input(g, "x", 2, xs, NULL, 0);
    int fc = soap_add_linear(g, "fc", x, 6, 1, -1);
    int ln = soap_add_layernorm(g, "ln", fc);
    soap_add_lstm(g, "h", ln, -1, 6, -1);
    return g;
}

static soap_graph *cnn_graph(void)
{
    soap_graph *g = soap_graph_new("cnn", 4);
    const int64_t is[4] = {4, 3, 227, 227};
    int x = soap_add_input(g, "img", 4, is, NULL, 0);
    int c = soap_add_conv2d(g, "conv1", x, 96, 11, 11, 4, 4, 0, 0, 1);
    int p = soap_add_pool2d(g, "pool1", c, SOAP_POOL_MAX, 3, 3, 2, 2, 0, 0);
    int f = soap_add_flatten(g, "flat", p);
    soap_add_linear(g, "fc", f, 10, 1, -1);
    return g;
}

static int op_id(const soap_graph *g, const char *name)
{
    int id = soap_graph_find(g, name);
    ck_assert_msg(id >= 0, "graph %s has no op '%s'", g->name, name);
    return id;
}

/* A config from degrees (ndims of them) and devices 0, 1, 2, ... */
static soap_config make_config(const soap_graph *g, int op, const int *deg, int ndims)
{
    soap_config c = soap_config_single(g, op, 0);
    c.ndims = ndims;
    c.ntasks = 1;
    for (int d = 0; d < ndims && d < SOAP_MAX_DIMS; d++) {
        c.degree[d] = deg[d];
        c.ntasks *= deg[d];
    }
    for (int t = 0; t < c.ntasks && t < SOAP_MAX_TASKS; t++)
        c.device[t] = (int16_t)t;
    return c;
}

/* ------------------------------------------------------------------ */
/* Task regions                                                        */
/* ------------------------------------------------------------------ */
START_TEST(region_example)
{
    /* conv1 [4,96,55,55] split [2,1,5,1]: 10 tasks. Task 7 = multi-index
     * (1,0,2,0) in row-major order (7 = 1*5 + 2): samples [2,4), all
     * channels, rows [22,33) (55/5 = 11 per block), all columns. */
    soap_graph *g = cnn_graph();
    int op = op_id(g, "conv1");
    soap_config c = make_config(g, op, (const int[]){2, 1, 5, 1}, 4);
    soap_region r = soap_config_task_region(g, op, &c, 7);
    ck_assert_int_eq(r.ndims, 4);
    const int64_t lo[4] = {2, 0, 22, 0}, hi[4] = {4, 96, 33, 55};
    for (int d = 0; d < 4; d++) {
        ck_assert_int_eq(r.lo[d], lo[d]);
        ck_assert_int_eq(r.hi[d], hi[d]);
    }
    /* Task 0 is the first block, the last task the last one. */
    r = soap_config_task_region(g, op, &c, 0);
    ck_assert_int_eq(r.lo[0], 0);
    ck_assert_int_eq(r.hi[0], 2);
    ck_assert_int_eq(r.lo[2], 0);
    ck_assert_int_eq(r.hi[2], 11);
    r = soap_config_task_region(g, op, &c, 9);
    ck_assert_int_eq(r.lo[0], 2);
    ck_assert_int_eq(r.lo[2], 44);
    ck_assert_int_eq(r.hi[2], 55);
    soap_graph_free(g);
}
END_TEST

/* The tasks of c tile op's output: each inside it, pairwise disjoint, and
 * their volumes sum to its volume (so together they cover it). */
static void assert_tiles(const soap_graph *g, int op, const soap_config *c)
{
    soap_region full = soap_region_full(&g->ops[op].out);
    int64_t sum = 0;
    soap_region r[SOAP_MAX_TASKS];
    char buf[256];
    for (int t = 0; t < c->ntasks; t++) {
        r[t] = soap_config_task_region(g, op, c, t);
        ck_assert_msg(soap_region_contains(&full, &r[t]), "%s %s: task %d outside the output",
                      g->ops[op].name, soap_config_str(c, buf, sizeof buf), t);
        ck_assert_msg(!soap_region_empty(&r[t]), "%s: task %d empty", g->ops[op].name, t);
        sum += soap_region_volume(&r[t]);
        for (int u = 0; u < t; u++) {
            soap_region x;
            ck_assert_msg(!soap_region_intersect(&r[u], &r[t], &x),
                          "%s %s: tasks %d and %d overlap", g->ops[op].name,
                          soap_config_str(c, buf, sizeof buf), u, t);
        }
    }
    ck_assert_msg(sum == soap_region_volume(&full), "%s %s: tasks cover %lld of %lld elements",
                  g->ops[op].name, soap_config_str(c, buf, sizeof buf), (long long)sum,
                  (long long)soap_region_volume(&full));
}

START_TEST(region_tiles_random)
{
    soap_graph *graphs[2] = {tiny_graph(), cnn_graph()};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 42);
    int multi = 0;
    for (int gi = 0; gi < 2; gi++) {
        soap_graph *g = graphs[gi];
        for (int op = 0; op < g->nops; op++)
            for (int draw = 0; draw < 200; draw++) {
                soap_config c = soap_config_random(g, op, 64, NULL, rng);
                assert_tiles(g, op, &c);
                multi += c.ntasks > 1;
            }
    }
    ck_assert_int_gt(multi, 1000); /* the test saw real splits */
    gsl_rng_free(rng);
    soap_graph_free(graphs[0]);
    soap_graph_free(graphs[1]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The check                                                           */
/* ------------------------------------------------------------------ */
typedef struct check_case {
    const char *graph;  /* "tiny" or "cnn" */
    const char *op;
    int ndims;
    int degree[SOAP_MAX_DIMS];
    int ntasks_delta;   /* added to the product (a broken ntasks) */
    int bad_device;     /* >= 0: task 0 gets this device */
    int ndevices;
    soap_status want;
    const char *msg;    /* substring of the message */
} check_case;

static const check_case check_cases[] = {
    {"cnn", "conv1", 4, {2, 1, 5, 1}, 0, -1, 16, SOAP_OK, ""},
    {"cnn", "conv1", 4, {1, 1, 1, 1}, 0, -1, 1, SOAP_OK, ""},
    {"cnn", "conv1", 4, {1, 4, 1, 1}, 0, -1, 4, SOAP_OK, ""},
    {"tiny", "h", 3, {2, 1, 3}, 0, -1, 6, SOAP_OK, ""},
    {"cnn", "conv1", 4, {1, 1, 3, 1}, 0, -1, 4, SOAP_ERR_INVALID,
     "op 'conv1': degree 3 does not divide dim 2 (attribute, size 55)"},
    {"cnn", "conv1", 4, {3, 1, 1, 1}, 0, -1, 4, SOAP_ERR_INVALID,
     "op 'conv1': degree 3 does not divide dim 0 (sample, size 4)"},
    {"tiny", "ln", 2, {1, 2}, 0, -1, 4, SOAP_ERR_INVALID,
     "op 'ln': degree 2 on dim 1 (size 6), which cannot be partitioned"},
    {"tiny", "h", 3, {1, 2, 1}, 0, -1, 4, SOAP_ERR_INVALID,
     "op 'h': degree 2 on dim 1 (size 2), which cannot be partitioned"},
    {"tiny", "fc", 2, {2, 1}, 0, 4, 4, SOAP_ERR_INVALID,
     "op 'fc': task 0 is on device 4, expected a device in 0..3"},
    {"tiny", "fc", 2, {1, 1}, 0, -1, 1, SOAP_OK, ""},
    {"tiny", "fc", 2, {2, 1}, 0, -3, 4, SOAP_ERR_INVALID, "task 0 is on device -3"},
    {"tiny", "fc", 3, {2, 1, 1}, 0, -1, 4, SOAP_ERR_INVALID,
     "op 'fc': config has 3 dims, expected 2"},
    {"tiny", "fc", 1, {2}, 0, -1, 4, SOAP_ERR_INVALID, "op 'fc': config has 1 dims, expected 2"},
    {"tiny", "fc", 2, {0, 1}, 0, -1, 4, SOAP_ERR_INVALID, "op 'fc': degree 0 on dim 0"},
    {"tiny", "fc", 2, {2, 3}, 1, -1, 8, SOAP_ERR_INVALID,
     "op 'fc': config has 7 tasks, expected 6"},
    {"cnn", "conv1", 4, {4, 32, 1, 1}, 0, -1, 64, SOAP_ERR_INVALID, "more than 64 tasks"},
};

START_TEST(check_table)
{
    const check_case *k = &check_cases[_i];
    soap_graph *g = strcmp(k->graph, "cnn") == 0 ? cnn_graph() : tiny_graph();
    int op = op_id(g, k->op);
    soap_config c = make_config(g, op, k->degree, k->ndims);
    c.ntasks += k->ntasks_delta;
    if (c.ntasks > SOAP_MAX_TASKS) /* the product case: keep the array in bounds */
        c.ntasks = SOAP_MAX_TASKS;
    for (int t = 0; t < c.ntasks; t++)
        c.device[t] = (int16_t)(t % k->ndevices);
    if (k->bad_device != -1)
        c.device[0] = (int16_t)k->bad_device;
    soap_error err;
    soap_error_clear(&err);
    soap_status st = soap_config_check(g, op, &c, k->ndevices, &err);
    ck_assert_msg(st == k->want, "case %d: got %s (%s), want %s", _i, soap_status_name(st),
                  err.msg, soap_status_name(k->want));
    if (k->want != SOAP_OK)
        ck_assert_msg(strstr(err.msg, k->msg), "case %d: message '%s' lacks '%s'", _i, err.msg,
                      k->msg);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Degree enumeration                                                  */
/* ------------------------------------------------------------------ */
typedef struct degrees_case {
    const char *mask;  /* NULL: all kinds */
    int max_tasks;
    int count;
    int want[8][2];    /* (N, F) degree pairs in enumeration order */
} degrees_case;

/* fc is [8,6] (sample, parameter). Degrees divide their dim: N in {1,2,4,8},
 * F in {1,2,3,6}; with 4 tasks at most, the product <= 4. */
static const degrees_case degrees_cases[] = {
    {NULL, 4, 6, {{1, 1}, {1, 2}, {1, 3}, {2, 1}, {2, 2}, {4, 1}}},
    {"S", 4, 3, {{1, 1}, {2, 1}, {4, 1}}},
    {"P", 4, 3, {{1, 1}, {1, 2}, {1, 3}}},
    {"A", 4, 1, {{1, 1}}}, /* fc has no attribute dim */
    {NULL, 1, 1, {{1, 1}}},
    {NULL, 2, 3, {{1, 1}, {1, 2}, {2, 1}}},
    /* 8 tasks: also (1,6), (2,3), (4,2), (8,1). */
    {NULL, 8, 10, {{1, 1}, {1, 2}, {1, 3}, {1, 6}, {2, 1}, {2, 2}, {2, 3}, {4, 1}}},
};

START_TEST(degrees_by_hand)
{
    const degrees_case *k = &degrees_cases[_i];
    soap_graph *g = tiny_graph();
    int op = op_id(g, "fc");
    soap_dims_mask mask = soap_dims_mask_all();
    if (k->mask) {
        soap_error err;
        ck_assert_int_eq(soap_dims_mask_parse(k->mask, &mask, &err), SOAP_OK);
    }
    ck_assert_int_eq(soap_config_degrees(g, op, k->max_tasks, &mask, NULL, 0), k->count);
    int out[16][SOAP_MAX_DIMS];
    memset(out, 0, sizeof out);
    /* A cap of 8 fills at most 8 but still counts them all. */
    int n = soap_config_degrees(g, op, k->max_tasks, &mask, out, 8);
    ck_assert_int_eq(n, k->count);
    for (int i = 0; i < n && i < 8; i++) {
        ck_assert_msg(out[i][0] == k->want[i][0] && out[i][1] == k->want[i][1],
                      "case %d vector %d: got (%d,%d), want (%d,%d)", _i, i, out[i][0],
                      out[i][1], k->want[i][0], k->want[i][1]);
        ck_assert_int_eq(out[i][2], 1); /* unused dims are 1 */
        ck_assert_int_eq(out[i][3], 1);
    }
    if (n > 8)
        ck_assert_int_eq(out[8][0], 0); /* nothing written past the cap */
    soap_graph_free(g);
}
END_TEST

START_TEST(degrees_conv)
{
    /* conv1 [4,96,55,55] with 64 tasks at most: N in {1,2,4}, C any divisor
     * of 96 up to 64 (1,2,3,4,6,8,12,16,24,32,48), H and W in {1,5,11,55}
     * up to 11. Count the vectors by brute force over all 4-tuples. */
    soap_graph *g = cnn_graph();
    int op = op_id(g, "conv1");
    const int64_t size[4] = {4, 96, 55, 55};
    int want = 0;
    for (int a = 1; a <= 64; a++)
        for (int b = 1; b <= 64; b++)
            for (int c = 1; c <= 64; c++)
                for (int d = 1; d <= 64; d++)
                    if (size[0] % a == 0 && size[1] % b == 0 && size[2] % c == 0 &&
                        size[3] % d == 0 && a * b * c * d <= 64)
                        want++;
    int got = soap_config_degrees(g, op, 64, NULL, NULL, 0);
    ck_assert_int_eq(got, want);
    /* max_tasks beyond SOAP_MAX_TASKS is clamped to it. */
    ck_assert_int_eq(soap_config_degrees(g, op, 1000, NULL, NULL, 0), want);
    /* Every vector listed is valid and distinct. */
    int (*out)[SOAP_MAX_DIMS] = malloc((size_t)got * sizeof *out);
    ck_assert_int_eq(soap_config_degrees(g, op, 64, NULL, out, got), got);
    for (int i = 0; i < got; i++) {
        soap_config c = make_config(g, op, out[i], 4);
        for (int t = 0; t < c.ntasks; t++)
            c.device[t] = 0;
        soap_error err;
        ck_assert_msg(soap_config_check(g, op, &c, 1, &err) == SOAP_OK, "%s", err.msg);
        for (int j = 0; j < i; j++)
            ck_assert(memcmp(out[i], out[j], sizeof out[i]) != 0);
    }
    free(out);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Random configs                                                      */
/* ------------------------------------------------------------------ */
START_TEST(random_uniform_and_valid)
{
    /* fc with 4 devices: the 6 vectors of degrees_cases[0]. Over 60,000
     * draws each should come up 10,000 times; binomial sd ~ 91, so 9,500..
     * 10,500 is a > 5-sigma band (the seed fixes the outcome anyway). Every
     * device should carry tasks equally often too. */
    soap_graph *g = tiny_graph();
    int op = op_id(g, "fc");
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    int want[6][SOAP_MAX_DIMS];
    ck_assert_int_eq(soap_config_degrees(g, op, 4, NULL, want, 6), 6);
    int hits[6] = {0};
    long dev_hits[4] = {0}, tasks = 0;
    const int draws = 60000;
    for (int i = 0; i < draws; i++) {
        soap_config c = soap_config_random(g, op, 4, NULL, rng);
        soap_error err;
        ck_assert_msg(soap_config_check(g, op, &c, 4, &err) == SOAP_OK, "%s", err.msg);
        int found = -1;
        for (int v = 0; v < 6; v++)
            if (c.degree[0] == want[v][0] && c.degree[1] == want[v][1])
                found = v;
        ck_assert_msg(found >= 0, "drawn degrees (%d,%d) not in the space", c.degree[0],
                      c.degree[1]);
        hits[found]++;
        for (int t = 0; t < c.ntasks; t++)
            dev_hits[c.device[t]]++;
        tasks += c.ntasks;
    }
    for (int v = 0; v < 6; v++)
        ck_assert_msg(hits[v] > 9500 && hits[v] < 10500, "vector %d drawn %d times", v,
                      hits[v]);
    for (int d = 0; d < 4; d++)
        ck_assert_msg(dev_hits[d] > tasks / 4 - tasks / 40 && dev_hits[d] < tasks / 4 + tasks / 40,
                      "device %d got %ld of %ld tasks", d, dev_hits[d], tasks);
    gsl_rng_free(rng);
    soap_graph_free(g);
}
END_TEST

START_TEST(random_hits_every_vector)
{
    /* conv1 with 16 devices and mask "SA": every vector of the restricted
     * space comes up, and no parameter split ever does. */
    soap_graph *g = cnn_graph();
    int op = op_id(g, "conv1");
    soap_dims_mask mask;
    soap_error err;
    ck_assert_int_eq(soap_dims_mask_parse("SA", &mask, &err), SOAP_OK);
    /* N in {1,2,4}, H and W in {1,5,11}, product <= 16: with N = 1 the
     * (H,W) pairs (1,1) (1,5) (1,11) (5,1) (11,1); N = 2: (1,1) (1,5) (5,1);
     * N = 4: (1,1). 9 in all. */
    int n = soap_config_degrees(g, op, 16, &mask, NULL, 0);
    ck_assert_int_eq(n, 9);
    int (*space)[SOAP_MAX_DIMS] = malloc((size_t)n * sizeof *space);
    soap_config_degrees(g, op, 16, &mask, space, n);
    int *hits = calloc((size_t)n, sizeof *hits);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    for (int i = 0; i < 200 * n; i++) {
        soap_config c = soap_config_random(g, op, 16, &mask, rng);
        ck_assert_int_eq(c.degree[1], 1);
        ck_assert_int_eq(soap_config_check(g, op, &c, 16, &err), SOAP_OK);
        int found = -1;
        for (int v = 0; v < n; v++)
            if (memcmp(c.degree, space[v], sizeof space[v]) == 0)
                found = v;
        ck_assert(found >= 0);
        hits[found]++;
    }
    for (int v = 0; v < n; v++)
        ck_assert_msg(hits[v] > 0, "vector %d [%d,%d,%d,%d] never drawn", v, space[v][0],
                      space[v][1], space[v][2], space[v][3]);
    gsl_rng_free(rng);
    free(hits);
    free(space);
    soap_graph_free(g);
}
END_TEST

START_TEST(random_one_device)
{
    /* The space a random draw uses stops at the machine size (more tasks
     * than devices only queue), so one device gives one task on device 0. */
    soap_graph *g = cnn_graph();
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 3);
    for (int op = 0; op < g->nops; op++)
        for (int i = 0; i < 20; i++) {
            soap_config c = soap_config_random(g, op, 1, NULL, rng);
            soap_config one = soap_config_single(g, op, 0);
            ck_assert(soap_config_equal(&c, &one));
        }
    gsl_rng_free(rng);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Masks                                                               */
/* ------------------------------------------------------------------ */
typedef struct mask_case {
    const char *text;
    soap_status want;
    int s, a, p;
    const char *msg;
} mask_case;

static const mask_case mask_cases[] = {
    {"S", SOAP_OK, 1, 0, 0, ""},
    {"SA", SOAP_OK, 1, 1, 0, ""},
    {"SAP", SOAP_OK, 1, 1, 1, ""},
    {"P", SOAP_OK, 0, 0, 1, ""},
    {"pa", SOAP_OK, 0, 1, 1, ""},
    {"", SOAP_ERR_INVALID, 0, 0, 0, "expected one or more of the letters"},
    {"X", SOAP_ERR_INVALID, 0, 0, 0, "unexpected character 'X' at position 1"},
    {"SAX", SOAP_ERR_INVALID, 0, 0, 0, "unexpected character 'X' at position 3"},
    {"S,A", SOAP_ERR_INVALID, 0, 0, 0, "unexpected character ',' at position 2"},
};

START_TEST(mask_parse)
{
    const mask_case *k = &mask_cases[_i];
    soap_dims_mask m = soap_dims_mask_all();
    soap_error err;
    soap_error_clear(&err);
    soap_status st = soap_dims_mask_parse(k->text, &m, &err);
    ck_assert_msg(st == k->want, "'%s': got %s (%s)", k->text, soap_status_name(st), err.msg);
    if (st == SOAP_OK) {
        ck_assert_int_eq(m.allow[SOAP_DIM_NONE], 0);
        ck_assert_int_eq(m.allow[SOAP_DIM_SAMPLE], k->s);
        ck_assert_int_eq(m.allow[SOAP_DIM_ATTRIBUTE], k->a);
        ck_assert_int_eq(m.allow[SOAP_DIM_PARAMETER], k->p);
    } else {
        ck_assert_msg(strstr(err.msg, k->msg), "'%s': message '%s' lacks '%s'", k->text,
                      err.msg, k->msg);
        /* *out untouched on error */
        ck_assert_int_eq(m.allow[SOAP_DIM_PARAMETER], 1);
    }
}
END_TEST

START_TEST(mask_all)
{
    soap_dims_mask m = soap_dims_mask_all();
    ck_assert_int_eq(m.allow[SOAP_DIM_NONE], 0);
    ck_assert_int_eq(m.allow[SOAP_DIM_SAMPLE], 1);
    ck_assert_int_eq(m.allow[SOAP_DIM_ATTRIBUTE], 1);
    ck_assert_int_eq(m.allow[SOAP_DIM_PARAMETER], 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Single configs, printing, equality                                  */
/* ------------------------------------------------------------------ */
START_TEST(single_str_equal)
{
    soap_graph *g = cnn_graph();
    int op = op_id(g, "conv1");
    soap_config one = soap_config_single(g, op, 3);
    ck_assert_int_eq(one.ndims, 4);
    ck_assert_int_eq(one.ntasks, 1);
    ck_assert_int_eq(one.device[0], 3);
    for (int d = 0; d < 4; d++)
        ck_assert_int_eq(one.degree[d], 1);
    char buf[128];
    ck_assert_str_eq(soap_config_str(&one, buf, sizeof buf), "degrees [1,1,1,1] devices [3]");
    soap_config c = make_config(g, op, (const int[]){4, 1, 1, 1}, 4);
    ck_assert_str_eq(soap_config_str(&c, buf, sizeof buf), "degrees [4,1,1,1] devices [0,1,2,3]");
    /* A short buffer truncates, still terminated. */
    char small[10];
    soap_config_str(&c, small, sizeof small);
    ck_assert_int_eq((int)strlen(small), 9);
    ck_assert(strncmp(small, "degrees [", 9) == 0);

    soap_config d = c;
    ck_assert(soap_config_equal(&c, &d));
    d.device[3] = 5;
    ck_assert(!soap_config_equal(&c, &d));
    d = c;
    d.degree[0] = 2;
    ck_assert(!soap_config_equal(&c, &d));
    /* Slots past ntasks do not matter. */
    d = c;
    d.device[10] = 9;
    ck_assert(soap_config_equal(&c, &d));
    soap_graph_free(g);
}
END_TEST

Suite *soap_suite_config(void);
Suite *soap_suite_config(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("task_region");
    tcase_add_test(tc, region_example);
    tcase_add_test(tc, region_tiles_random);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("check");
    tcase_add_loop_test(tc, check_table, 0, (int)(sizeof check_cases / sizeof check_cases[0]));
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("degrees");
    tcase_add_loop_test(tc, degrees_by_hand, 0,
                        (int)(sizeof degrees_cases / sizeof degrees_cases[0]));
    tcase_add_test(tc, degrees_conv);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("random");
    tcase_add_test(tc, random_uniform_and_valid);
    tcase_add_test(tc, random_hits_every_vector);
    tcase_add_test(tc, random_one_device);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("mask");
    tcase_add_loop_test(tc, mask_parse, 0, (int)(sizeof mask_cases / sizeof mask_cases[0]));
    tcase_add_test(tc, mask_all);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("single_str_equal");
    tcase_add_test(tc, single_str_equal);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
