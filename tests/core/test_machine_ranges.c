/* Tests of the machine model's robustness (suite "machine_ranges"): every
 * figure in its physically meaningful range, in files (messages with the
 * value and the range, never "must be positive" for a huge one; latency 0
 * accepted) and in machines built in code; names printed escaped; the device
 * class in presets, files and fingerprints; every preset through
 * soap_machine_to_json and back. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "soap_core.h"
#include "test_util.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const soap_device_type gpu_type = {.name = "G", .cls = SOAP_DEVICE_GPU,
                                          .peak_flops = 1e12, .mem_bandwidth = 1e11,
                                          .mem_capacity = 1e9, .launch_overhead = 5e-6};

static soap_machine *preset(const char *name)
{
    soap_error err;
    soap_error_clear(&err);
    soap_machine *m = soap_machine_preset(name, &err);
    ck_assert_msg(m != NULL, "preset %s: %s", name, err.msg);
    return m;
}

/* The message for a huge figure says what range is expected, never that
 * the value "must be positive" (it is). */
START_TEST(test_json_huge_not_positive)
{
    char src[512];
    FILE *f = fopen(soap_test_data("machines/two-nodes.json", src, sizeof src), "r");
    ck_assert_ptr_nonnull(f);
    char text[8192], edited[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *at = strstr(text, "\"bandwidth\": 20e9");
    ck_assert_ptr_nonnull(at);
    snprintf(edited, sizeof edited, "%.*s\"bandwidth\": 1e308%s", (int)(at - text), text,
             at + strlen("\"bandwidth\": 20e9"));
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".json");
    soap_test_write(path, edited);
    soap_error err;
    soap_error_clear(&err);
    ck_assert_ptr_null(soap_machine_read_json(path, &err));
    ck_assert_msg(strstr(err.msg, "positive") == NULL, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "out of range") != NULL, "%s", err.msg);
    /* A latency of 0 is a figure like any other. */
    at = strstr(text, "\"latency_s\": 1e-6");
    snprintf(edited, sizeof edited, "%.*s\"latency_s\": 0%s", (int)(at - text), text,
             at + strlen("\"latency_s\": 1e-6"));
    soap_test_write(path, edited);
    soap_machine *m = soap_machine_read_json(path, &err);
    ck_assert_msg(m != NULL, "latency 0 refused: %s", err.msg);
    ck_assert(m->links[0].latency == 0);
    soap_machine_free(m);
    unlink(path);
}
END_TEST

/* The same ranges hold for machines built in code (soap_machine_finish). */
typedef struct range_case {
    const char *what;
    int field; /* 0 peak, 1 membw, 2 memory, 3 launch, 4 link bw, 5 latency */
    double value;
    const char *needle; /* NULL: accepted */
} range_case;

static const range_case range_table[] = {
    {"peak tiny", 0, 1e-300, "device type 'G': peak FLOP/s 1e-300 is out of range: expected "
                             "1e+06..1e+18 FLOP/s"},
    {"peak huge", 0, 1e308, "peak FLOP/s 1e+308 is out of range"},
    {"peak nan", 0, NAN, "peak FLOP/s nan is out of range"},
    {"membw tiny", 1, 1e-300, "memory bandwidth 1e-300 is out of range: expected 1000..1e+15"},
    {"memory huge", 2, 1e308, "memory capacity 1e+308 is out of range"},
    {"launch huge", 3, 1e30, "launch overhead 1e+30 is out of range: expected 0..10 seconds"},
    {"launch negative", 3, -1e-9, "launch overhead -1e-09 is out of range"},
    {"link bw huge", 4, 1e308, "link 'l0': bandwidth 1e+308 is out of range"},
    {"link bw inf", 4, INFINITY, "link 'l0': bandwidth inf is out of range"},
    {"latency huge", 5, 1e30, "link 'l0': latency 1e+30 is out of range"},
    {"latency zero", 5, 0, NULL},
    {"launch zero", 3, 0, NULL},
    {"microcontroller", 0, 1e6, NULL},
    {"memory 1 KiB", 2, 1024, NULL},
    {"memory 1 PiB", 2, SOAP_MEMORY_MAX, NULL},
    {"bandwidth 1 PB/s", 4, 1e15, NULL},
};

START_TEST(test_finish_ranges)
{
    const range_case *c = &range_table[_i];
    soap_machine *m = soap_machine_new("ranges");
    soap_device_type ty = gpu_type;
    double *fig[4] = {&ty.peak_flops, &ty.mem_bandwidth, &ty.mem_capacity, &ty.launch_overhead};
    if (c->field < 4)
        *fig[c->field] = c->value;
    int t = soap_machine_add_type(m, &ty);
    soap_machine_add_device(m, "d0", t, 0);
    soap_machine_add_device(m, "d1", t, 0);
    int ends[2] = {0, 1};
    soap_machine_add_link(m, "l0", SOAP_LINK_PCIE, c->field == 4 ? c->value : 10e9,
                          c->field == 5 ? c->value : 1e-6, ends, 2);
    soap_error err;
    soap_error_clear(&err);
    soap_status st = soap_machine_finish(m, &err);
    if (c->needle) {
        ck_assert_msg(st == SOAP_ERR_INVALID, "%s: accepted", c->what);
        ck_assert_msg(strstr(err.msg, c->needle) != NULL, "%s: message '%s' lacks '%s'",
                      c->what, err.msg, c->needle);
    } else {
        ck_assert_msg(st == SOAP_OK, "%s: %s", c->what, err.msg);
    }
    soap_machine_free(m);
}
END_TEST

/* Names in soap_machine_finish's messages are printed escaped. */
START_TEST(test_finish_escapes)
{
    soap_machine *m = soap_machine_new("evil\x1b[2J");
    int t = soap_machine_add_type(m, &gpu_type);
    soap_machine_add_device(m, "d0", t, 0);
    soap_machine_add_device(m, "d\n1", t, 0);
    soap_error err;
    soap_error_clear(&err);
    ck_assert_int_eq(soap_machine_finish(m, &err), SOAP_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "machine 'evil\\x1b[2J': device 'd0' cannot reach device "
                                  "'d\\n1'") != NULL, "%s", err.msg);
    ck_assert_ptr_null(strchr(err.msg, '\x1b'));
    ck_assert_ptr_null(strchr(err.msg, '\n'));
    soap_machine_free(m);
}
END_TEST

/* Every preset through soap_machine_to_json, a file and back: the same
 * fingerprint; presets say their device class. */
START_TEST(test_to_json_presets)
{
    const char *const *names = soap_machine_preset_names();
    int count = 0;
    for (int i = 0; names[i]; i++, count++) {
        const char *name = strcmp(names[i], "cpu-<n>") == 0 ? "cpu-3" : names[i];
        soap_machine *m = preset(name);
        json_t *doc = soap_machine_to_json(m);
        ck_assert_ptr_nonnull(doc);
        char path[64];
        soap_test_tmpfile(path, sizeof path, ".json");
        ck_assert_int_eq(json_dump_file(doc, path, JSON_INDENT(1)), 0);
        json_decref(doc);
        soap_error err;
        soap_error_clear(&err);
        soap_machine *r = soap_machine_read_json(path, &err);
        ck_assert_msg(r != NULL, "%s: %s", name, err.msg);
        ck_assert_msg(soap_machine_fingerprint(r) == soap_machine_fingerprint(m),
                      "%s: fingerprint changed", name);
        for (int t = 0; t < m->ntypes; t++)
            ck_assert_int_eq(r->types[t].cls, m->types[t].cls);
        ck_assert_int_eq(m->types[0].cls,
                         strncmp(name, "cpu-", 4) == 0 ? SOAP_DEVICE_CPU : SOAP_DEVICE_GPU);
        unlink(path);
        soap_machine_free(r);
        soap_machine_free(m);
    }
    ck_assert_int_ge(count, 4);
}
END_TEST

/* The class enters the fingerprint and the file; names do not decide it. */
START_TEST(test_device_class)
{
    ck_assert_str_eq(soap_device_class_name(SOAP_DEVICE_GPU), "gpu");
    ck_assert_str_eq(soap_device_class_name(SOAP_DEVICE_CPU), "cpu");
    ck_assert_int_eq(soap_device_class_parse("cpu"), SOAP_DEVICE_CPU);
    ck_assert_int_eq(soap_device_class_parse("CPU"), -1);
    soap_machine *a = preset("cpu-2"), *b = preset("cpu-2");
    b->types[0].cls = SOAP_DEVICE_GPU;
    ck_assert(soap_machine_fingerprint(a) != soap_machine_fingerprint(b));
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".json");
    soap_error err;
    soap_error_clear(&err);
    ck_assert_int_eq(soap_machine_write_json(b, path, &err), SOAP_OK);
    soap_machine *r = soap_machine_read_json(path, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    ck_assert_str_eq(r->types[0].name, "CPU");
    ck_assert_int_eq(r->types[0].cls, SOAP_DEVICE_GPU);
    unlink(path);
    soap_machine_free(r);
    soap_machine_free(a);
    soap_machine_free(b);
}
END_TEST

Suite *soap_suite_machine_ranges(void)
{
    Suite *s = suite_create("machine_ranges");
    TCase *tc = tcase_create("ranges");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_json_huge_not_positive);
    tcase_add_loop_test(tc, test_finish_ranges, 0, N(range_table));
    tcase_add_test(tc, test_finish_escapes);
    suite_add_tcase(s, tc);
    tc = tcase_create("class_and_json");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_to_json_presets);
    tcase_add_test(tc, test_device_class);
    suite_add_tcase(s, tc);
    return s;
}
