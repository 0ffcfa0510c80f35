/* Tests of strategy files (suite "strategy_json"): round trips (read back
 * equal, written again byte-identical, ops in any order), files made for
 * another model or machine (SOAP_ERR_MISMATCH naming both), a missing, an
 * unknown and a duplicate op, bad entries and bad top levels (each with its
 * message), malformed JSON (file:line:column), files that cannot be opened,
 * writing errors, and soap_strategy_load (built-in names, paths, unknown
 * names listing the built-ins). Every failing read returns NULL. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "soap_strategies.h"
#include "test_util.h"

/* x [N,12] -> fc linear 6 [N,6] -> ln layernorm -> out linear 4 [N,4]. */
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

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert(fread(buf, 1, (size_t)n, f) == (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void assert_same(const soap_strategy *a, const soap_strategy *b)
{
    ck_assert_int_eq(a->nops, b->nops);
    ck_assert(a->model_fp == b->model_fp && a->machine_fp == b->machine_fp);
    ck_assert_int_eq(a->ndevices, b->ndevices);
    for (int i = 0; i < a->nops; i++) {
        char x[512], y[512];
        ck_assert_msg(soap_config_equal(&a->configs[i], &b->configs[i]), "op %d: %s vs %s", i,
                      soap_config_str(&a->configs[i], x, sizeof x),
                      soap_config_str(&b->configs[i], y, sizeof y));
    }
}

/* ------------------------------------------------------------------ */
/* Round trips                                                         */
/* ------------------------------------------------------------------ */
typedef struct trip_case {
    const char *model;    /* built-in model */
    const char *strategy; /* built-in strategy */
    const char *machine;
    int ndevices;
} trip_case;

static const trip_case trip_cases[] = {
    {"lenet", "random", "cpu-4", 0},    {"lenet", "data", "p100x16", 16},
    {"alexnet", "owt", "k80x64", 8},    {"rnnlm", "expert", "k80x64", 16},
    {"inception_v3", "random", "dgx-h100", 0}, {"transformer", "model", "p100x16", 4},
};

START_TEST(round_trip)
{
    const trip_case *k = &trip_cases[_i];
    soap_model_options mo = {.batch = 64, .unroll = 3, .layers = 2, .seq_len = 16};
    soap_error err;
    soap_error_clear(&err);
    soap_graph *g = soap_model_load(k->model, &mo, &err);
    ck_assert_msg(g != NULL, "%s", err.msg);
    soap_machine *m = machine(k->machine, k->ndevices);
    soap_strategy_options so = {.seed = 1234};
    soap_strategy *s = soap_strategy_load(k->strategy, g, m, &so, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);

    char p1[64], p2[64];
    soap_test_tmpfile(p1, sizeof p1, ".json");
    soap_test_tmpfile(p2, sizeof p2, ".json");
    ck_assert_msg(soap_strategy_write_json(s, g, p1, &err) == SOAP_OK, "%s", err.msg);
    soap_strategy *r = soap_strategy_read_json(p1, g, m, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    assert_same(s, r);
    ck_assert_int_eq(soap_strategy_check(r, g, m, &err), SOAP_OK);
    ck_assert_msg(soap_strategy_write_json(r, g, p2, &err) == SOAP_OK, "%s", err.msg);
    char *a = read_all(p1), *b = read_all(p2);
    ck_assert_str_eq(a, b);
    /* The documented top level, with the fingerprints as 16 hex digits. */
    char want[160];
    snprintf(want, sizeof want, "\"model_fingerprint\": \"%016" PRIx64 "\"", s->model_fp);
    ck_assert_msg(strstr(a, want), "missing %s", want);
    snprintf(want, sizeof want, "\"machine_fingerprint\": \"%016" PRIx64 "\"", s->machine_fp);
    ck_assert_msg(strstr(a, want), "missing %s", want);
    ck_assert(strncmp(a, "{\"format\": \"soap-strategy\", \"version\": 1,", 41) == 0);
    snprintf(want, sizeof want, "\"devices\": %d,", m->ndevices);
    ck_assert(strstr(a, want));
    /* And through soap_strategy_load by path. */
    soap_strategy *l = soap_strategy_load(p1, g, m, NULL, &err);
    ck_assert_msg(l != NULL, "%s", err.msg);
    assert_same(s, l);
    free(a);
    free(b);
    unlink(p1);
    unlink(p2);
    soap_strategy_free(l);
    soap_strategy_free(r);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Hand-written files for the tiny graph (batch 8) on cpu-4            */
/* ------------------------------------------------------------------ */
/* Writes `tmpl` to a temporary file with @MFP@ and @HFP@ replaced by the
 * fingerprints of g and m. */
static void write_doc(const char *path, const char *tmpl, const soap_graph *g,
                      const soap_machine *m)
{
    char mfp[17], hfp[17];
    snprintf(mfp, sizeof mfp, "%016" PRIx64, soap_graph_fingerprint(g));
    snprintf(hfp, sizeof hfp, "%016" PRIx64, soap_machine_fingerprint(m));
    size_t n = strlen(tmpl);
    char *out = malloc(n + 64);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (strncmp(tmpl + i, "@MFP@", 5) == 0) {
            memcpy(out + o, mfp, 16);
            o += 16;
            i += 5;
        } else if (strncmp(tmpl + i, "@HFP@", 5) == 0) {
            memcpy(out + o, hfp, 16);
            o += 16;
            i += 5;
        } else {
            out[o++] = tmpl[i++];
        }
    }
    out[o] = '\0';
    soap_test_write(path, out);
    free(out);
}

#define HEAD                                                                   \
    "{\"format\": \"soap-strategy\", \"version\": 1, \"model\": \"tiny\",\n"   \
    " \"model_fingerprint\": \"@MFP@\", \"machine\": \"cpu-4\",\n"             \
    " \"machine_fingerprint\": \"@HFP@\", \"devices\": 4,\n"
#define OP_X "{\"name\": \"x\", \"degrees\": [4, 1], \"devices\": [0, 1, 2, 3]}"
#define OP_FC "{\"name\": \"fc\", \"degrees\": [2, 3], \"devices\": [3, 2, 1, 0, 1, 2]}"
#define OP_LN "{\"name\": \"ln\", \"degrees\": [1, 1], \"devices\": [2]}"
#define OP_OUT "{\"name\": \"out\", \"degrees\": [1, 4], \"devices\": [0, 0, 1, 1]}"

START_TEST(hand_written_any_order)
{
    /* A valid file with the ops in reverse order reads into the configs
     * it spells out. */
    soap_graph *g = tiny_graph("tiny", 8);
    soap_machine *m = machine("cpu-4", 0);
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".json");
    write_doc(path, HEAD " \"ops\": [" OP_OUT ",\n " OP_LN ",\n " OP_FC ",\n " OP_X "]}\n", g, m);
    soap_error err;
    soap_error_clear(&err);
    soap_strategy *s = soap_strategy_read_json(path, g, m, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    char buf[128];
    ck_assert_str_eq(soap_config_str(&s->configs[soap_graph_find(g, "x")], buf, sizeof buf),
                     "degrees [4,1] devices [0,1,2,3]");
    ck_assert_str_eq(soap_config_str(&s->configs[soap_graph_find(g, "fc")], buf, sizeof buf),
                     "degrees [2,3] devices [3,2,1,0,1,2]");
    ck_assert_str_eq(soap_config_str(&s->configs[soap_graph_find(g, "ln")], buf, sizeof buf),
                     "degrees [1,1] devices [2]");
    ck_assert_str_eq(soap_config_str(&s->configs[soap_graph_find(g, "out")], buf, sizeof buf),
                     "degrees [1,4] devices [0,0,1,1]");
    ck_assert_str_eq(s->model, "tiny");
    unlink(path);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
}
END_TEST

typedef struct bad_case {
    const char *doc;    /* template, see write_doc */
    soap_status want;
    const char *msg;    /* substring of the message */
} bad_case;

static const bad_case bad_cases[] = {
    /* Every op exactly once. */
    {HEAD " \"ops\": [" OP_X ", " OP_FC ", " OP_LN "]}", SOAP_ERR_INVALID,
     "missing op 'out' (expected every op of model 'tiny' once; 1 missing)"},
    {HEAD " \"ops\": [" OP_X "]}", SOAP_ERR_INVALID, "missing op 'fc' and others"},
    {HEAD " \"ops\": [" OP_X ", " OP_FC ", " OP_LN ", " OP_OUT ",\n"
          " {\"name\": \"fc2\", \"degrees\": [1, 1], \"devices\": [0]}]}",
     SOAP_ERR_INVALID, "ops[4]: unknown op 'fc2' (model 'tiny' has no op of that name)"},
    {HEAD " \"ops\": [" OP_X ", " OP_FC ", " OP_LN ", " OP_FC ", " OP_OUT "]}", SOAP_ERR_INVALID,
     "ops[3]: duplicate op 'fc' (already given at ops[1])"},
    /* Entries. */
    {HEAD " \"ops\": [" OP_X ", {\"name\": \"fc\", \"degrees\": [3, 1], \"devices\": [0, 1, 2]}, "
          OP_LN ", " OP_OUT "]}",
     SOAP_ERR_INVALID, "ops[1]: op 'fc': degree 3 does not divide dim 0 (sample, size 8)"},
    {HEAD " \"ops\": [" OP_X ", " OP_FC ", {\"name\": \"ln\", \"degrees\": [1, 2], "
          "\"devices\": [0, 1]}, " OP_OUT "]}",
     SOAP_ERR_INVALID, "op 'ln': degree 2 on dim 1 (size 6), which cannot be partitioned"},
    {HEAD " \"ops\": [" OP_X ", " OP_FC ", {\"name\": \"ln\", \"degrees\": [1, 1], "
          "\"devices\": [4]}, " OP_OUT "]}",
     SOAP_ERR_INVALID, "ops[2]: op 'ln': task 0 is on device 4, expected a device in 0..3"},
    {HEAD " \"ops\": [{\"name\": \"x\", \"degrees\": [4], \"devices\": [0, 1, 2, 3]}, " OP_FC
          ", " OP_LN ", " OP_OUT "]}",
     SOAP_ERR_PARSE, "ops[0]: op 'x': \"degrees\": expected an array of 2 integers"},
    {HEAD " \"ops\": [{\"name\": \"x\", \"degrees\": [4, 1], \"devices\": [0, 1]}, " OP_FC
          ", " OP_LN ", " OP_OUT "]}",
     SOAP_ERR_PARSE, "ops[0]: op 'x': \"devices\": expected an array of 4 device ids"},
    {HEAD " \"ops\": [{\"name\": \"x\", \"degrees\": [2.0, 1], \"devices\": [0, 1]}, " OP_FC
          ", " OP_LN ", " OP_OUT "]}",
     SOAP_ERR_PARSE, "ops[0]: op 'x': degrees[0]: expected an integer in 1..64"},
    {HEAD " \"ops\": [{\"name\": \"x\", \"degrees\": [1, 1], \"devices\": [\"gpu0\"]}, " OP_FC
          ", " OP_LN ", " OP_OUT "]}",
     SOAP_ERR_PARSE, "ops[0]: op 'x': devices[0]: expected an integer"},
    {HEAD " \"ops\": [{\"name\": \"x\", \"degree\": [1, 1], \"devices\": [0]}]}", SOAP_ERR_PARSE,
     "ops[0]: unknown key 'degree' (expected: name, degrees, devices)"},
    {HEAD " \"ops\": [{\"name\": \"x\", \"degrees\": [1, 1]}]}", SOAP_ERR_PARSE,
     "ops[0]: missing key 'devices'"},
    {HEAD " \"ops\": [\"x\"]}", SOAP_ERR_PARSE, "ops[0]: expected an object"},
    {HEAD " \"ops\": {}}", SOAP_ERR_PARSE, "\"ops\": expected an array"},
    {HEAD " \"ops\": [{\"name\": 3, \"degrees\": [1, 1], \"devices\": [0]}]}", SOAP_ERR_PARSE,
     "ops[0]: \"name\": expected a name"},
    /* Top level. */
    {"{\"format\": \"soap-strategy\", \"version\": 2, \"model\": \"tiny\",\n"
     " \"model_fingerprint\": \"@MFP@\", \"machine\": \"cpu-4\",\n"
     " \"machine_fingerprint\": \"@HFP@\", \"devices\": 4, \"ops\": []}",
     SOAP_ERR_PARSE, "\"version\": expected 1"},
    {"{\"format\": \"soap-strategy\", \"version\": 1, \"model\": \"tiny\",\n"
     " \"model_fingerprint\": \"@MFP@\", \"machine\": \"cpu-4\",\n"
     " \"devices\": 4, \"ops\": []}",
     SOAP_ERR_PARSE, "missing key 'machine_fingerprint'"},
    {"{\"format\": \"soap-strategy\", \"version\": 1, \"model\": \"tiny\",\n"
     " \"model_fingerprint\": \"12345\", \"machine\": \"cpu-4\",\n"
     " \"machine_fingerprint\": \"@HFP@\", \"devices\": 4, \"ops\": []}",
     SOAP_ERR_PARSE, "\"model_fingerprint\": expected 16 hexadecimal digits"},
    {"{\"format\": \"soap-strategy\", \"version\": 1, \"model\": \"tiny\",\n"
     " \"model_fingerprint\": \"@MFP@\", \"machine\": \"cpu-4\",\n"
     " \"machine_fingerprint\": \"@HFP@\", \"devices\": 0, \"ops\": []}",
     SOAP_ERR_PARSE, "\"devices\": expected an integer in 1..1024"},
    /* Fingerprints and machine size: refused before the ops are looked at. */
    {"{\"format\": \"soap-strategy\", \"version\": 1, \"model\": \"other\",\n"
     " \"model_fingerprint\": \"0123456789abcdef\", \"machine\": \"cpu-4\",\n"
     " \"machine_fingerprint\": \"@HFP@\", \"devices\": 4, \"ops\": []}",
     SOAP_ERR_MISMATCH,
     "strategy was made for model 'other' (fingerprint 0123456789abcdef) but the model given "
     "is 'tiny'"},
    {"{\"format\": \"soap-strategy\", \"version\": 1, \"model\": \"tiny\",\n"
     " \"model_fingerprint\": \"@MFP@\", \"machine\": \"big\",\n"
     " \"machine_fingerprint\": \"00000000000000ff\", \"devices\": 4, \"ops\": []}",
     SOAP_ERR_MISMATCH,
     "strategy was made for machine 'big' (fingerprint 00000000000000ff, 4 devices) but the "
     "machine given is 'cpu-4'"},
    {"{\"format\": \"soap-strategy\", \"version\": 1, \"model\": \"tiny\",\n"
     " \"model_fingerprint\": \"@MFP@\", \"machine\": \"cpu-4\",\n"
     " \"machine_fingerprint\": \"@HFP@\", \"devices\": 8, \"ops\": []}",
     SOAP_ERR_MISMATCH, "8 devices) but the machine given is 'cpu-4'"},
};

START_TEST(bad_files)
{
    const bad_case *k = &bad_cases[_i];
    soap_graph *g = tiny_graph("tiny", 8);
    soap_machine *m = machine("cpu-4", 0);
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".json");
    write_doc(path, k->doc, g, m);
    soap_error err;
    soap_error_clear(&err);
    soap_strategy *s = soap_strategy_read_json(path, g, m, &err);
    ck_assert_msg(s == NULL, "case %d: read a bad file", _i);
    ck_assert_msg(err.code == k->want, "case %d: got %s (%s), want %s", _i,
                  soap_status_name(err.code), err.msg, soap_status_name(k->want));
    ck_assert_msg(strstr(err.msg, k->msg), "case %d: message '%s' lacks '%s'", _i, err.msg,
                  k->msg);
    /* The message starts with the file. */
    ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "case %d: '%s' does not name %s",
                  _i, err.msg, path);
    unlink(path);
    soap_machine_free(m);
    soap_graph_free(g);
}
END_TEST

START_TEST(made_for_other_model_and_machine)
{
    /* A file written by soap_strategy_write_json for one model / machine,
     * read for another. */
    soap_graph *a = tiny_graph("tiny-a", 8);
    soap_graph *b = tiny_graph("tiny-b", 16);
    soap_machine *m = machine("cpu-4", 0);
    soap_machine *p = machine("p100x16", 4);
    soap_error err;
    soap_error_clear(&err);
    soap_strategy *s = soap_strategy_load("data", a, m, NULL, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".json");
    ck_assert_int_eq(soap_strategy_write_json(s, a, path, &err), SOAP_OK);

    ck_assert_ptr_null(soap_strategy_read_json(path, b, m, &err));
    ck_assert_int_eq(err.code, SOAP_ERR_MISMATCH);
    ck_assert_msg(strstr(err.msg, "made for model 'tiny-a'") &&
                      strstr(err.msg, "model given is 'tiny-b'"),
                  "%s", err.msg);
    ck_assert_ptr_null(soap_strategy_read_json(path, a, p, &err));
    ck_assert_int_eq(err.code, SOAP_ERR_MISMATCH);
    ck_assert_msg(strstr(err.msg, "made for machine 'cpu-4'") && strstr(err.msg, p->name),
                  "%s", err.msg);
    /* soap_strategy_load passes the error on. */
    ck_assert_ptr_null(soap_strategy_load(path, b, m, NULL, &err));
    ck_assert_int_eq(err.code, SOAP_ERR_MISMATCH);
    /* Writing a strategy with a graph it was not made for is refused. */
    char other[64];
    soap_test_tmpfile(other, sizeof other, ".json");
    ck_assert_int_eq(soap_strategy_write_json(s, b, other, &err), SOAP_ERR_MISMATCH);
    unlink(other);
    unlink(path);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_machine_free(p);
    soap_graph_free(a);
    soap_graph_free(b);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Files under tests/data/strategies                                   */
/* ------------------------------------------------------------------ */
typedef struct data_case {
    const char *file;
    soap_status want;
    const char *msg;  /* substring after the path */
} data_case;

static const data_case data_cases[] = {
    /* A missing comma on line 3: jansson points at the last character of
     * the unexpected token "degrees", columns 23..31. */
    {"malformed.json", SOAP_ERR_PARSE, ":3:31: '}' expected near '\"degrees\"'"},
    {"truncated.json", SOAP_ERR_PARSE, ":4:0: "},
    {"unknown-key.json", SOAP_ERR_PARSE, ": unknown key 'comment' (expected: format, version"},
    {"wrong-format.json", SOAP_ERR_PARSE, ": \"format\": expected \"soap-strategy\""},
    {"not-an-object.json", SOAP_ERR_PARSE, ": expected a JSON object at the top level"},
    {"no-such-file.json", SOAP_ERR_IO, ": cannot open"},
    {"", SOAP_ERR_IO, ": is a directory"}, /* the folder itself */
};

START_TEST(data_files)
{
    const data_case *k = &data_cases[_i];
    soap_graph *g = tiny_graph("tiny", 8);
    soap_machine *m = machine("cpu-4", 0);
    char name[128], path[512];
    snprintf(name, sizeof name, "strategies/%s", k->file);
    soap_test_data(name, path, sizeof path);
    soap_error err;
    soap_error_clear(&err);
    ck_assert_ptr_null(soap_strategy_read_json(path, g, m, &err));
    ck_assert_msg(err.code == k->want, "%s: got %s (%s)", k->file, soap_status_name(err.code),
                  err.msg);
    char want[768];
    snprintf(want, sizeof want, "%s%s", path, k->msg);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "%s: message '%s', want '%s...'",
                  k->file, err.msg, want);
    soap_machine_free(m);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* soap_strategy_load and writing errors                               */
/* ------------------------------------------------------------------ */
START_TEST(load_names)
{
    soap_graph *g = tiny_graph("tiny", 8);
    soap_machine *m = machine("cpu-4", 0);
    soap_error err;
    soap_error_clear(&err);
    for (const soap_strategy_ops *const *r = soap_strategy_registry(); *r; r++) {
        soap_strategy *s = soap_strategy_load((*r)->name, g, m, NULL, &err);
        ck_assert_msg(s != NULL, "%s: %s", (*r)->name, err.msg);
        soap_strategy_free(s);
    }
    ck_assert_ptr_null(soap_strategy_load("dta", g, m, NULL, &err));
    ck_assert_int_eq(err.code, SOAP_ERR_NOT_FOUND);
    ck_assert_msg(strstr(err.msg, "unknown strategy 'dta'") &&
                      strstr(err.msg, "data, model, owt, expert, random"),
                  "%s", err.msg);
    ck_assert_ptr_null(soap_strategy_load("/nonexistent/s.json", g, m, NULL, &err));
    ck_assert_int_eq(err.code, SOAP_ERR_IO);
    ck_assert_ptr_null(soap_strategy_load("", g, m, NULL, &err));
    ck_assert_int_eq(err.code, SOAP_ERR_INVALID);

    soap_strategy *s = soap_strategy_new(g, m);
    ck_assert_int_eq(soap_strategy_write_json(s, g, "/nonexistent-dir/s.json", &err),
                     SOAP_ERR_IO);
    ck_assert_msg(strstr(err.msg, "/nonexistent-dir/s.json"), "%s", err.msg);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
}
END_TEST

Suite *soap_suite_strategy_json(void);
Suite *soap_suite_strategy_json(void)
{
    Suite *s = suite_create("strategy_json");
    TCase *tc = tcase_create("round_trip");
    tcase_add_loop_test(tc, round_trip, 0, (int)(sizeof trip_cases / sizeof trip_cases[0]));
    tcase_add_test(tc, hand_written_any_order);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad_files");
    tcase_add_loop_test(tc, bad_files, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("mismatch");
    tcase_add_test(tc, made_for_other_model_and_machine);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("data_files");
    tcase_add_loop_test(tc, data_files, 0, (int)(sizeof data_cases / sizeof data_cases[0]));
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("load");
    tcase_add_test(tc, load_names);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
