/* Tests of the calibration of the analytic costs (suite "calibrate",
 * simulator/calibrate.c, simulator/cost_analytic.c):
 * - the shipped calibration: the preset P100 and K80 types, simulated data
 *   parallel on one device, predict the single-GPU training throughput of
 *   every row of experiments/calibration/{p100,k80}_tf_benchmarks_2017.csv
 *   (published figures) within 15%;
 * - the fit recovers known parameters from measurements made with them
 *   (synthetic: each row's throughput is the simulation with a chosen
 *   calibration), starting from another calibration;
 * - uncalibrated types keep the model's class defaults exactly (a zero
 *   calibration and the defaults written out give the same costs);
 * - bad input: fewer rows than parameters, an unknown device type, a row
 *   whose model does not load or whose devices the machine lacks, and
 *   malformed measurement files (header, fields, numbers), each with the
 *   file and line in the message. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soap_sim.h"

static soap_machine *machine1(const char *preset)
{
    soap_error err;
    soap_error_clear(&err);
    soap_machine *m = soap_machine_load(preset, 1, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    return m;
}

/* Simulated samples/s of model at batch on m (data parallel, analytic). */
static double throughput(const char *model, int64_t batch, const soap_machine *m)
{
    soap_error err;
    soap_error_clear(&err);
    soap_model_options mo = {.batch = batch};
    soap_graph *g = soap_model_load(model, &mo, &err);
    ck_assert_msg(g != NULL, "%s", err.msg);
    soap_strategy *s = soap_strategy_load("data", g, m, NULL, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    soap_costs *c = soap_costs_new(NULL, &err);
    soap_sim_options so = {.sync = SOAP_SYNC_ALLREDUCE};
    soap_sim *sim = soap_sim_new(g, m, c, &so, &err);
    ck_assert_msg(sim != NULL, "%s", err.msg);
    double t = soap_sim_full(sim, s, &err);
    ck_assert(t > 0);
    soap_sim_free(sim);
    soap_costs_free(c);
    soap_strategy_free(s);
    soap_graph_free(g);
    return (double)batch / t;
}

static void calib_path(char *buf, size_t len, const char *name)
{
    const char *data = getenv("SOAP_TEST_DATA");
    ck_assert_msg(data != NULL, "SOAP_TEST_DATA is not set");
    snprintf(buf, len, "%s/../../experiments/calibration/%s", data, name);
}

/* ------------------------------------------------------------------ */
/* The shipped calibration                                             */
/* ------------------------------------------------------------------ */
static const struct {
    const char *file, *preset;
} shipped[] = {
    {"p100_tf_benchmarks_2017.csv", "p100x16"},
    {"k80_tf_benchmarks_2017.csv", "k80x64"},
};

START_TEST(published_within_15_percent)
{
    char path[1024];
    calib_path(path, sizeof path, shipped[_i].file);
    soap_error err;
    soap_error_clear(&err);
    soap_calib_row *rows;
    int n;
    ck_assert_msg(soap_calib_read_csv(path, &rows, &n, &err) == SOAP_OK, "%s", err.msg);
    ck_assert_int_eq(n, 4);
    soap_machine *m = machine1(shipped[_i].preset);
    for (int i = 0; i < n; i++) {
        double p = throughput(rows[i].model, rows[i].batch, m);
        double rel = p / rows[i].samples_per_s - 1;
        ck_assert_msg(fabs(rel) <= 0.15, "%s on %s: predicted %.4g samples/s, published %.4g "
                      "(%+.1f%%)",
                      rows[i].model, shipped[_i].preset, p, rows[i].samples_per_s, 100 * rel);
    }
    soap_machine_free(m);
    soap_calib_rows_free(rows);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The fit                                                             */
/* ------------------------------------------------------------------ */
/* Rows that pin all four parameters: GEMM-bound (alexnet's big linears,
 * lenet), Winograd convolutions (vgg16), 1x1 convolutions and batchnorms
 * (resnet50), a mix (inception_v3); small batches keep the fit quick. */
static const struct {
    const char *model;
    int64_t batch;
} synth_rows[] = {
    {"alexnet", 16}, {"vgg16", 4}, {"resnet50", 4}, {"inception_v3", 4}, {"lenet", 64},
};
#define NSYNTH ((int)(sizeof synth_rows / sizeof synth_rows[0]))

START_TEST(recovers_known_parameters)
{
    soap_machine *truth = machine1("p100x16");
    const soap_device_calibration want = {.gemm_eff = 0.8, .conv_eff = 0.5, .winograd = 2.5,
                                          .mem_eff = 0.6};
    truth->types[0].cal = want;
    soap_calib_row rows[NSYNTH];
    memset(rows, 0, sizeof rows);
    for (int i = 0; i < NSYNTH; i++) {
        snprintf(rows[i].model, sizeof rows[i].model, "%s", synth_rows[i].model);
        rows[i].batch = synth_rows[i].batch;
        rows[i].devices = 1;
        rows[i].samples_per_s = throughput(synth_rows[i].model, synth_rows[i].batch, truth);
        rows[i].line = i + 2;
    }
    /* Fitted on the preset, whose own calibration differs. */
    soap_machine *m = machine1("p100x16");
    soap_calib_result r;
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_calibrate(m, NULL, rows, NSYNTH, "synthetic", &r, &err) == SOAP_OK,
                  "%s", err.msg);
    ck_assert_int_eq(r.type, 0);
    ck_assert_int_eq(r.nrows, NSYNTH);
    const double got[4] = {r.cal.gemm_eff, r.cal.conv_eff, r.cal.winograd, r.cal.mem_eff};
    const double exp_[4] = {want.gemm_eff, want.conv_eff, want.winograd, want.mem_eff};
    for (int k = 0; k < 4; k++)
        ck_assert_msg(fabs(got[k] / exp_[k] - 1) < 1e-3,
                      "parameter %d: fitted %.6g, true %.6g (fit %.4g %.4g %.4g %.4g)", k,
                      got[k], exp_[k], got[0], got[1], got[2], got[3]);
    ck_assert_msg(r.rms_log < 1e-4, "rms log error %g", r.rms_log);
    for (int i = 0; i < NSYNTH; i++)
        ck_assert_msg(fabs(r.predicted[i] / rows[i].samples_per_s - 1) < 1e-3,
                      "row %d: predicted %g, measured %g", i, r.predicted[i],
                      rows[i].samples_per_s);
    /* The machine given is not changed. */
    ck_assert(m->types[0].cal.winograd != want.winograd);
    soap_calib_result_free(&r);
    soap_machine_free(m);
    soap_machine_free(truth);
}
END_TEST

/* A zero calibration is the class defaults, exactly. */
START_TEST(zero_calibration_is_the_defaults)
{
    soap_machine *a = machine1("p100x16"), *b = machine1("p100x16");
    memset(&a->types[0].cal, 0, sizeof a->types[0].cal);
    b->types[0].cal =
        (soap_device_calibration){.gemm_eff = 0.7, .conv_eff = 0.6, .winograd = 1, .mem_eff = 0.8};
    const char *models[] = {"alexnet", "resnet50", "transformer"};
    for (int i = 0; i < 3; i++)
        ck_assert_msg(throughput(models[i], 8, a) == throughput(models[i], 8, b), "%s",
                      models[i]);
    /* ... and a calibration changes the costs. */
    b->types[0].cal.winograd = 2;
    ck_assert(throughput("vgg16", 8, a) < throughput("vgg16", 8, b));
    soap_machine_free(a);
    soap_machine_free(b);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bad input                                                           */
/* ------------------------------------------------------------------ */
static soap_calib_row row(const char *model, int64_t batch, int devices, double tput, int line)
{
    soap_calib_row r;
    memset(&r, 0, sizeof r);
    snprintf(r.model, sizeof r.model, "%s", model);
    r.batch = batch;
    r.devices = devices;
    r.samples_per_s = tput;
    r.line = line;
    return r;
}

static void expect_fail(const soap_machine *m, const char *type, const soap_calib_row *rows,
                        int n, const char *needle)
{
    soap_calib_result r;
    soap_error err;
    soap_error_clear(&err);
    ck_assert(soap_calibrate(m, type, rows, n, "meas.csv", &r, &err) != SOAP_OK);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "expected '%s' in: %s", needle, err.msg);
    ck_assert_ptr_null(r.predicted);
}

START_TEST(bad_rows)
{
    soap_machine *m = machine1("p100x16");
    soap_calib_row rows[4] = {row("lenet", 64, 1, 1000, 2), row("alexnet", 16, 1, 500, 3),
                              row("vgg16", 4, 1, 50, 4), row("resnet50", 4, 1, 80, 5)};
    expect_fail(m, NULL, rows, 3, "3 measurements for 4 parameters");
    expect_fail(m, "H100", rows, 4, "no device type 'H100' (types: P100)");
    rows[2] = row("resnet34", 4, 1, 50, 4);
    expect_fail(m, NULL, rows, 4, "meas.csv:4: unknown model 'resnet34'");
    rows[2] = row("vgg16", 4, 2, 50, 4);
    expect_fail(m, NULL, rows, 4, "meas.csv:4: 2 devices, but machine 'p100x16:1' has 1");
    rows[2] = row("vgg16", 4, 1, 0, 4);
    expect_fail(m, NULL, rows, 4, "meas.csv:4: batch 4, devices 1, 0 samples/s");
    soap_machine_free(m);
}
END_TEST

static const struct {
    const char *text, *needle;
} bad_files[] = {
    {"model,batch,devices\nlenet,64,1\n", ":1: header 'model,batch,devices'"},
    {"# only a comment\n", "no header line"},
    {"model,batch,devices,samples_per_s\n", "no measurements"},
    {"model,batch,devices,samples_per_s\nlenet,64,1\n", ":2: 3 fields"},
    {"model,batch,devices,samples_per_s\nlenet,0,1,100\n", ":2: batch '0'"},
    {"model,batch,devices,samples_per_s\nlenet,64,1.5,100\n", ":2: devices '1.5'"},
    {"model,batch,devices,samples_per_s\nlenet,64,1,-3\n", ":2: samples_per_s '-3'"},
    {"model,batch,devices,samples_per_s\nlenet,64,1,0\n", ":2: samples_per_s '0'"},
    {"model,batch,devices,samples_per_s\nlenet,64,1,nan\n", ":2: samples_per_s 'nan'"},
    {"model,batch,devices,samples_per_s\n,64,1,100\n", ":2: model ''"},
    {"model,batch,devices,samples_per_s\nlenet,64,1,100,7\n", ":2: 5 fields"},
};

START_TEST(bad_files_named)
{
    char path[] = "/tmp/soap_calib_XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(bad_files[_i].text, f);
    fclose(f);
    soap_calib_row *rows = (soap_calib_row *)1;
    int n = -1;
    soap_error err;
    soap_error_clear(&err);
    ck_assert(soap_calib_read_csv(path, &rows, &n, &err) != SOAP_OK);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, bad_files[_i].needle),
                  "expected '%s' and the path in: %s", bad_files[_i].needle, err.msg);
    ck_assert_ptr_null(rows);
    ck_assert_int_eq(n, 0);
    remove(path);
}
END_TEST

START_TEST(good_file_with_comments)
{
    char path[] = "/tmp/soap_calib_XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# source: a test\n\nmodel,batch,devices,samples_per_s\n# a comment row\n"
          "lenet, 64, 1, 1000.5\r\nvgg16,32,4,35.4\n",
          f);
    fclose(f);
    soap_calib_row *rows;
    int n;
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_calib_read_csv(path, &rows, &n, &err) == SOAP_OK, "%s", err.msg);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(rows[0].model, "lenet");
    ck_assert_int_eq(rows[0].batch, 64);
    ck_assert(rows[0].samples_per_s == 1000.5);
    ck_assert_int_eq(rows[0].line, 5);
    ck_assert_int_eq(rows[1].devices, 4);
    ck_assert_int_eq(rows[1].line, 6);
    soap_calib_rows_free(rows);
    ck_assert(soap_calib_read_csv("/nonexistent/m.csv", &rows, &n, &err) != SOAP_OK);
    ck_assert_msg(strstr(err.msg, "/nonexistent/m.csv: cannot open"), "%s", err.msg);
    remove(path);
}
END_TEST

Suite *soap_suite_calibrate(void)
{
    Suite *s = suite_create("calibrate");
    TCase *tc = tcase_create("shipped");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, published_within_15_percent, 0,
                        (int)(sizeof shipped / sizeof shipped[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("fit");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, recovers_known_parameters);
    tcase_add_test(tc, zero_calibration_is_the_defaults);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad_input");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bad_rows);
    tcase_add_loop_test(tc, bad_files_named, 0, (int)(sizeof bad_files / sizeof bad_files[0]));
    tcase_add_test(tc, good_file_with_comments);
    suite_add_tcase(s, tc);
    return s;
}
