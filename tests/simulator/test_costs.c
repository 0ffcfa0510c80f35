/* Tests of the cost providers (suite "costs"): the analytic roofline (hand
 * values for compute-bound, memory-bound and FLOP-less tasks on GPU and CPU
 * types, monotone in the work, the launch overhead floor), the cost table
 * (append and read back exactly, accepted variants, malformed rows refused
 * with their line numbers), soap_costs (table entries win over the analytic
 * model and are counted, the cache and its canonical regions, the signature
 * cache across graphs), the registry, and the sync mode names. Expected
 * values are derived by hand in the comments. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "soap_sim.h"
#include "test_util.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */
/* |got - want| <= 1e-12 relative */
#define ck_close(got, want)                                                              \
    do {                                                                                 \
        double g_ = (got), w_ = (want);                                                  \
        ck_assert_msg(fabs(g_ - w_) <= 1e-12 * fabs(w_), "%s = %.17g, expected %.17g", \
                      #got, g_, w_);                                                     \
    } while (0)

static soap_region rows(const soap_graph *g, int op, int64_t lo, int64_t hi)
{
    soap_region r = soap_region_full(&g->ops[op].out);
    r.lo[0] = lo;
    r.hi[0] = hi;
    return r;
}

/* x [64,1024] -> fc linear 1024 (no bias) -> r relu; cat concat(x, x) */
typedef struct lin_graph {
    soap_graph *g;
    int x, fc, r, cat;
} lin_graph;

static lin_graph lin_graph_new(int64_t batch)
{
    lin_graph l;
    l.g = soap_graph_new("lin", batch);
    const int64_t xs[2] = {batch, 1024};
    l.x = soap_add_input(l.g, "x", 2, xs, NULL, 0);
    l.fc = soap_add_linear(l.g, "fc", l.x, 1024, 0, -1);
    l.r = soap_add_unary(l.g, "r", l.fc, SOAP_UNARY_RELU);
    l.cat = soap_add_concat(l.g, "cat", (const int[]){l.x, l.x}, 2, 1);
    return l;
}

/* Round device types for hand calculations. */
static const soap_device_type gpu_type = {
    .name = "GPU-X", .cls = SOAP_DEVICE_GPU, .peak_flops = 1e13, .mem_bandwidth = 1e12,
    .mem_capacity = 16e9, .launch_overhead = 5e-6};
static const soap_device_type cpu_type = {
    .name = "CPU", .cls = SOAP_DEVICE_CPU, .peak_flops = 8e10, .mem_bandwidth = 1e10,
    .mem_capacity = 4e9, .launch_overhead = 2e-6};

/* ------------------------------------------------------------------ */
/* Analytic                                                            */
/* ------------------------------------------------------------------ */
START_TEST(analytic_hand_values)
{
    lin_graph l = lin_graph_new(64);
    soap_region full = soap_region_full(&l.g->ops[l.fc].out);

    /* fc on GPU-X: fwd 2*64*1024*1024 = 134217728 FLOP; bytes (x 65536 +
     * out 65536 + w 1048576 elements) * 4 = 4718592. Compute: GPU t_half
     * 2 us -> x_half = 2e7 FLOP, eff 0.7: (134217728 + 2e7) / 7e12 =
     * 2.2031104e-5 s; memory 4718592 / 0.8e12 = 5.89824e-6 s. fwd = 5e-6 +
     * 2.2031104e-5. bwd: 268435456 FLOP, 9437184 bytes: (268435456 + 2e7) /
     * 7e12 vs 1.179648e-5: compute-bound. */
    soap_task_cost c = soap_cost_analytic(l.g, l.fc, &full, &gpu_type);
    ck_close(c.fwd_s, 5e-6 + 154217728.0 / 7e12);
    ck_close(c.bwd_s, 5e-6 + 288435456.0 / 7e12);

    /* fc on the CPU type: compute factor 0.25, t_half 0.5 us -> x_half =
     * 40000 FLOP; effective peak 8e10 * 0.7 * 0.25 = 1.4e10. */
    c = soap_cost_analytic(l.g, l.fc, &full, &cpu_type);
    ck_close(c.fwd_s, 2e-6 + 134257728.0 / 1.4e10);
    ck_close(c.bwd_s, 2e-6 + 268475456.0 / 1.4e10);

    /* relu on the CPU type: 65536 FLOP both ways; bytes (in + out) 524288
     * forward, twice that backward. Compute (65536 + 40000) / (8e10 * 0.5 *
     * 0.25) = 1.05536e-5 s is below memory 524288 / 8e9 = 6.5536e-5 s:
     * memory-bound. */
    c = soap_cost_analytic(l.g, l.r, &full, &cpu_type);
    ck_close(c.fwd_s, 2e-6 + 524288.0 / 8e9);
    ck_close(c.bwd_s, 2e-6 + 1048576.0 / 8e9);

    /* cat (no FLOP) over rows [0,8): out 8*2048 + 2 inputs 8*1024 each =
     * 32768 elements, 131072 bytes; only memory counts. */
    soap_region r8 = rows(l.g, l.cat, 0, 8);
    c = soap_cost_analytic(l.g, l.cat, &r8, &gpu_type);
    ck_close(c.fwd_s, 5e-6 + 131072.0 / 0.8e12);
    ck_close(c.bwd_s, 5e-6 + 262144.0 / 0.8e12);

    /* An input has no backward pass; its forward writes its region. */
    soap_region xr = soap_region_full(&l.g->ops[l.x].out);
    c = soap_cost_analytic(l.g, l.x, &xr, &gpu_type);
    ck_close(c.fwd_s, 5e-6 + 262144.0 / 0.8e12);
    ck_assert(c.bwd_s == 0);

    /* An empty region costs nothing. */
    soap_region none = rows(l.g, l.fc, 3, 3);
    c = soap_cost_analytic(l.g, l.fc, &none, &gpu_type);
    ck_assert(c.fwd_s == 0 && c.bwd_s == 0);
    soap_graph_free(l.g);
}
END_TEST

/* Monotone in the work and never below the launch overhead, per device. */
static const soap_device_type *const mono_types[] = {&gpu_type, &cpu_type};

START_TEST(analytic_monotone_and_floor)
{
    const soap_device_type *dev = mono_types[_i];
    lin_graph l = lin_graph_new(64);
    const int ops[3] = {l.fc, l.r, l.cat};
    for (int k = 0; k < 3; k++) {
        double prev_f = 0, prev_b = 0, prev_flops = -1;
        for (int64_t n = 1; n <= 64; n++) {
            soap_region r = rows(l.g, ops[k], 0, n);
            soap_task_cost c = soap_cost_analytic(l.g, ops[k], &r, dev);
            soap_op_cost oc = soap_op_region_cost(l.g, ops[k], &r);
            ck_assert(oc.fwd_flops >= prev_flops);
            prev_flops = oc.fwd_flops;
            /* More samples: more FLOP and bytes, strictly more time. */
            ck_assert_msg(c.fwd_s > prev_f && c.bwd_s > prev_b,
                          "op %d, %lld rows: %g %g after %g %g", ops[k], (long long)n,
                          c.fwd_s, c.bwd_s, prev_f, prev_b);
            ck_assert(c.fwd_s > dev->launch_overhead && c.bwd_s > dev->launch_overhead);
            prev_f = c.fwd_s;
            prev_b = c.bwd_s;
        }
    }
    /* One element of relu: the launch overhead dominates (the rest is the
     * utilization curve's t_half / eff, a few us at most). */
    soap_region one = soap_region_full(&l.g->ops[l.r].out);
    one.hi[0] = 1;
    one.hi[1] = 1;
    soap_task_cost c = soap_cost_analytic(l.g, l.r, &one, dev);
    ck_assert(c.fwd_s > dev->launch_overhead && c.fwd_s < dev->launch_overhead + 5e-6);
    soap_graph_free(l.g);
}
END_TEST

/* The efficiency constants come from the type's class, not its name (a
 * GPU type named "CPU..." used to be costed as a CPU). */
START_TEST(analytic_class_not_name)
{
    lin_graph l = lin_graph_new(64);
    soap_region full = soap_region_full(&l.g->ops[l.fc].out);
    soap_device_type named_cpu = gpu_type, gpu_as_cpu = gpu_type;
    snprintf(named_cpu.name, sizeof named_cpu.name, "CPU-looking-GPU");
    gpu_as_cpu.cls = SOAP_DEVICE_CPU;
    soap_task_cost g = soap_cost_analytic(l.g, l.fc, &full, &gpu_type);
    soap_task_cost n = soap_cost_analytic(l.g, l.fc, &full, &named_cpu);
    soap_task_cost c = soap_cost_analytic(l.g, l.fc, &full, &gpu_as_cpu);
    ck_assert(g.fwd_s == n.fwd_s && g.bwd_s == n.bwd_s);
    ck_assert_msg(c.fwd_s > g.fwd_s, "class cpu: %g, class gpu: %g", c.fwd_s, g.fwd_s);
    soap_graph_free(l.g);
}
END_TEST

START_TEST(analytic_util_curve)
{
    /* Tiny tasks are not free: splitting fc into 64 single-row tasks costs
     * more in total than the whole (each pays launch + t_half / eff), and
     * one row takes more than 1/64 of the whole. */
    lin_graph l = lin_graph_new(64);
    soap_region full = soap_region_full(&l.g->ops[l.fc].out);
    soap_region one = rows(l.g, l.fc, 0, 1);
    soap_task_cost cf = soap_cost_analytic(l.g, l.fc, &full, &gpu_type);
    soap_task_cost c1 = soap_cost_analytic(l.g, l.fc, &one, &gpu_type);
    ck_assert(64 * c1.fwd_s > cf.fwd_s);
    /* One row: 2*1024*1024 = 2097152 FLOP, bytes (1024 + 1024 + 1048576) *
     * 4 = 4202496: memory 5.25312e-6 s vs compute (2097152 + 2e7) / 7e12 =
     * 3.156736e-6 s: the weight read dominates. */
    ck_close(c1.fwd_s, 5e-6 + 4202496.0 / 0.8e12);
    soap_graph_free(l.g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Cost tables                                                         */
/* ------------------------------------------------------------------ */
static soap_shape part_of(int nd, const int64_t *size)
{
    soap_shape s;
    memset(&s, 0, sizeof s);
    s.ndims = nd;
    for (int d = 0; d < nd; d++)
        s.size[d] = size[d];
    return s;
}
#define PART(...) part_of((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
                          (const int64_t[]){__VA_ARGS__})

/* Looks a key up through the table provider directly. */
static int table_get(void *ctx, const char *dev, const char *sig, soap_shape part,
                     soap_task_cost *out)
{
    soap_device_type t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", dev);
    return soap_cost_find("table")->lookup(ctx, &t, sig, &part, NULL, 0, NULL, out);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(table_round_trip)
{
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".csv");
    unlink(path); /* append creates the file */
    soap_error err;
    soap_task_cost c1 = {1.0 / 3.0, 2.0 / 7.0}, c2 = {1.2345678901234567e-4, 0};
    ck_assert_int_eq(soap_cost_table_append(path, "P100", "conv2d k3x3 in[64,3,8,8]",
                                            &(soap_shape){0}, c1, &err),
                     SOAP_ERR_INVALID); /* 0 dims */
    soap_shape p1 = PART(16, 64, 56, 56), p2 = PART(7);
    ck_assert_int_eq(soap_cost_table_append(path, "P100", "conv2d k3x3 in[64,3,8,8]", &p1, c1,
                                            &err),
                     SOAP_OK);
    /* A signature with a quote and a device name with a comma. */
    ck_assert_int_eq(
        soap_cost_table_append(path, "odd,dev", "weird \"q\" sig, comma", &p2, c2, &err),
        SOAP_OK);
    const char *text = slurp(path);
    ck_assert_msg(strncmp(text, "device_type,signature,partition,fwd_s,bwd_s\n", 44) == 0,
                  "file starts: %.60s", text);
    ck_assert_ptr_nonnull(strstr(text, "P100,\"conv2d k3x3 in[64,3,8,8]\",[16;64;56;56],"));
    ck_assert_ptr_nonnull(strstr(text, "\"odd,dev\",\"weird \"\"q\"\" sig, comma\",[7],"));
    /* Exactly one header line. */
    ck_assert_ptr_null(strstr(text + 1, "device_type,"));

    void *ctx = soap_cost_find("table")->create(path, &err);
    ck_assert_msg(ctx != NULL, "%s", err.msg);
    soap_task_cost got;
    ck_assert(table_get(ctx, "P100", "conv2d k3x3 in[64,3,8,8]", p1, &got));
    ck_assert(got.fwd_s == c1.fwd_s && got.bwd_s == c1.bwd_s); /* bit-exact */
    ck_assert(table_get(ctx, "odd,dev", "weird \"q\" sig, comma", p2, &got));
    ck_assert(got.fwd_s == c2.fwd_s && got.bwd_s == c2.bwd_s);
    /* Any part of the key different: not found. */
    ck_assert(!table_get(ctx, "K80", "conv2d k3x3 in[64,3,8,8]", p1, &got));
    ck_assert(!table_get(ctx, "P100", "conv2d k3x3 in[64,3,8,9]", p1, &got));
    ck_assert(!table_get(ctx, "P100", "conv2d k3x3 in[64,3,8,8]", PART(16, 64, 56), &got));
    soap_cost_find("table")->destroy(ctx);

    /* Bad arguments to append. */
    soap_task_cost neg = {-1, 0}, nan_cost = {NAN, 0};
    ck_assert_int_eq(soap_cost_table_append(path, "P100", "s", &p2, neg, &err),
                     SOAP_ERR_INVALID);
    ck_assert_int_eq(soap_cost_table_append(path, "P100", "s", &p2, nan_cost, &err),
                     SOAP_ERR_INVALID);
    ck_assert_int_eq(soap_cost_table_append(path, "P100", "two\nlines", &p2, c1, &err),
                     SOAP_ERR_INVALID);
    ck_assert_int_eq(soap_cost_table_append(path, "", "s", &p2, c1, &err), SOAP_ERR_INVALID);
    ck_assert_int_eq(soap_cost_table_append("/nonexistent-dir/x.csv", "P100", "s", &p2, c1,
                                            &err),
                     SOAP_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent-dir/x.csv"));
    unlink(path);
}
END_TEST

START_TEST(table_variants)
{
    /* CRLF line ends, blank and comment lines anywhere (also before the
     * header), spaces around fields, a quoted device name, an empty table. */
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".csv");
    soap_test_write(path, "# made by hand\r\n\r\n"
                          "device_type,signature,partition,fwd_s,bwd_s\r\n"
                          "  \"P100\" , \"linear f4 in[2,3]\" , [2;4] , 1e-3 , 2E-3 \r\n"
                          "   # indented comment\n"
                          "CPU,unary relu in[2],[2],0,0.5\n");
    soap_error err;
    void *ctx = soap_cost_find("table")->create(path, &err);
    ck_assert_msg(ctx != NULL, "%s", err.msg);
    soap_task_cost got;
    ck_assert(table_get(ctx, "P100", "linear f4 in[2,3]", PART(2, 4), &got));
    ck_assert(got.fwd_s == 1e-3 && got.bwd_s == 2e-3);
    ck_assert(table_get(ctx, "CPU", "unary relu in[2]", PART(2), &got));
    ck_assert(got.fwd_s == 0 && got.bwd_s == 0.5);
    soap_cost_find("table")->destroy(ctx);

    soap_test_write(path, "# nothing measured yet\n");
    ctx = soap_cost_find("table")->create(path, &err);
    ck_assert_msg(ctx != NULL, "%s", err.msg);
    ck_assert(!table_get(ctx, "CPU", "unary relu in[2]", PART(2), &got));
    soap_cost_find("table")->destroy(ctx);
    unlink(path);
}
END_TEST

/* Malformed tables: the line and what was expected. */
typedef struct bad_table {
    const char *what;
    const char *text;
    const char *want; /* substring of the message after "path:" */
} bad_table;

#define HDR "device_type,signature,partition,fwd_s,bwd_s\n"
static const bad_table bad_tables[] = {
    {"bad number", "# c\n" HDR "P100,\"s\",[1;2],abc,1e-3\n",
     ":3: expected a time in seconds in [0, 1e+06) for fwd_s, got \"abc\""},
    {"trailing junk", HDR "P100,\"s\",[1;2],1e-3,2e-3x\n",
     ":2: expected a time in seconds in [0, 1e+06) for bwd_s, got \"2e-3x\""},
    {"negative", HDR "P100,s,[1],1e-3,1e-3\nP100,t,[1],-1e-3,0\n",
     ":3: fwd_s -1e-3 is out of range: expected a time in seconds in [0, 1e+06)"},
    {"nan", HDR "P100,s,[1],nan,0\n", ":2: fwd_s nan is out of range: expected a time"},
    {"inf", HDR "P100,s,[1],0,inf\n", ":2: bwd_s inf is out of range: expected a time"},
    {"empty time", HDR "P100,s,[1],0,\n", ":2: expected a time in seconds in [0, 1e+06) for bwd_s"},
    /* Times the simulator's clocks cannot hold (it aborted on 1e30). */
    {"huge", HDR "P100,s,[1],1e-3,2e-3\nP100,t,[1],1e30,0\n",
     ":3: fwd_s 1e30 is out of range: expected a time in seconds in [0, 1e+06)"},
    {"at the limit", HDR "P100,s,[1],0,1e6\n", ":2: bwd_s 1e6 is out of range"},
    {"overflow", HDR "P100,s,[1],1e400,0\n", ":2: fwd_s 1e400 is out of range"},
    {"missing field", HDR "\nP100,\"s\",[1;2],1e-3\n",
     ":3: expected 5 fields (device_type,signature,partition,fwd_s,bwd_s), got 4"},
    {"extra field", HDR "P100,s,[1],1,2,3\n", ":2: expected 5 fields"},
    {"partition zero", HDR "P100,s,[1;0],1,2\n",
     ":2: expected a partition like [16;64;56;56] (1 to 4 sizes >= 1), got \"[1;0]\""},
    {"partition open", HDR "P100,s,[1;2,1,2\n", ":2: expected a partition"},
    {"partition no brackets", HDR "P100,s,1;2,1,2\n", ":2: expected a partition"},
    {"partition 5 dims", HDR "P100,s,[1;2;3;4;5],1,2\n", ":2: expected a partition"},
    {"partition empty", HDR "P100,s,[],1,2\n", ":2: expected a partition"},
    {"partition sign", HDR "P100,s,[+3],1,2\n", ":2: expected a partition"},
    {"partition comma", HDR "P100,s,[2;],1,2\n", ":2: expected a partition"},
    {"open quote", HDR "P100,\"s,[1],1,2\n", ":2: expected a closing quote"},
    {"stray quote", HDR "P100,s\"x,[1],1,2\n", ":2: expected no quote inside an unquoted"},
    {"after quote", HDR "P100,\"s\"x,[1],1,2\n", ":2: expected ',' after a closing quote"},
    {"empty device", HDR ",s,[1],1,2\n", ":2: expected a non-empty device_type"},
    {"empty signature", HDR "P100,\"\",[1],1,2\n", ":2: expected a non-empty signature"},
    {"no header", "P100,s,[1],1,2\n", ":1: expected the header line"},
    {"bad header", "# x\ndevice,signature,partition,fwd,bwd\n", ":2: expected the header line"},
};

START_TEST(table_malformed)
{
    const bad_table *b = &bad_tables[_i];
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".csv");
    soap_test_write(path, b->text);
    soap_error err;
    soap_error_clear(&err);
    void *ctx = soap_cost_find("table")->create(path, &err);
    ck_assert_msg(ctx == NULL, "%s: accepted", b->what);
    ck_assert_int_eq(err.code, SOAP_ERR_PARSE);
    char want[256];
    snprintf(want, sizeof want, "%s%s", path, b->want);
    ck_assert_msg(strstr(err.msg, want) != NULL, "%s: message \"%s\", expected \"%s\"", b->what,
                  err.msg, want);
    /* soap_costs_new refuses it the same way. */
    soap_error_clear(&err);
    ck_assert_ptr_null(soap_costs_new(path, &err));
    ck_assert_int_eq(err.code, SOAP_ERR_PARSE);
    unlink(path);
}
END_TEST

/* Device-type names adding up to ~250 characters: the list of types used
 * to be a fixed 256-byte buffer (a heap overflow under ASan, and a table
 * whose matching type fell past the cut was refused as "for other
 * devices"). The list grows; the message is cut with "...". */
START_TEST(table_many_device_types)
{
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".csv");
    unlink(path);
    /* 5 names of 40 characters, one of 41, then the machine's own type. */
    char names[8][SOAP_NAME_MAX];
    int n = 0;
    for (int i = 0; i < 5; i++, n++)
        snprintf(names[n], sizeof names[n], "DEVICE-TYPE-%02d-%-25s", i, "x");
    snprintf(names[n++], sizeof names[n], "DEVICE-TYPE-05-%-26s", "y");
    snprintf(names[n++], sizeof names[n], "THE-MACHINES-OWN-TYPE-%s", "with-a-long-tail");
    for (int i = 0; i < n; i++)
        for (char *c = names[i]; *c; c++)
            if (*c == ' ')
                *c = '_';
    ck_assert_int_eq((int)strlen(names[0]), 40);
    ck_assert_int_eq((int)strlen(names[5]), 41);
    soap_error err;
    soap_error_clear(&err);
    soap_shape part = {.ndims = 1, .size = {1}};
    soap_task_cost tc = {1e-3, 2e-3};
    for (int i = 0; i < n; i++)
        ck_assert_msg(soap_cost_table_append(path, names[i], "sig", &part, tc, &err) == SOAP_OK,
                      "%s", err.msg);
    soap_costs *c = soap_costs_new(path, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);

    soap_machine *m = soap_machine_new("one");
    soap_device_type t = {.peak_flops = 1e12, .mem_bandwidth = 1e11, .mem_capacity = 1e9,
                          .launch_overhead = 1e-6};
    memcpy(t.name, names[n - 1], sizeof t.name);
    soap_machine_add_device(m, "d0", soap_machine_add_type(m, &t), 0);
    ck_assert_int_eq(soap_machine_finish(m, &err), SOAP_OK);
    ck_assert_msg(soap_costs_check_machine(c, m, &err) == SOAP_OK, "refused: %s", err.msg);
    soap_machine_free(m);

    /* A machine of none of them: refused, the types listed and cut. */
    m = soap_machine_new("other");
    snprintf(t.name, sizeof t.name, "OTHER");
    soap_machine_add_device(m, "d0", soap_machine_add_type(m, &t), 0);
    ck_assert_int_eq(soap_machine_finish(m, &err), SOAP_OK);
    ck_assert_int_eq(soap_costs_check_machine(c, m, &err), SOAP_ERR_MISMATCH);
    ck_assert_msg(strstr(err.msg, "for other devices") && strstr(err.msg, names[0]) &&
                      strstr(err.msg, "..."), "%s", err.msg);
    soap_machine_free(m);
    soap_costs_free(c);
    unlink(path);
}
END_TEST

START_TEST(table_io_errors)
{
    soap_error err;
    soap_error_clear(&err);
    ck_assert_ptr_null(soap_costs_new("/nonexistent-dir/t.csv", &err));
    ck_assert_int_eq(err.code, SOAP_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent-dir/t.csv: cannot open"));
    soap_error_clear(&err);
    ck_assert_ptr_null(soap_costs_new("/tmp", &err));
    ck_assert_int_eq(err.code, SOAP_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/tmp: is a directory"));
    soap_error_clear(&err);
    ck_assert_ptr_null(soap_cost_find("table")->create(NULL, &err));
    ck_assert_int_eq(err.code, SOAP_ERR_INVALID);
}
END_TEST

/* ------------------------------------------------------------------ */
/* soap_costs                                                          */
/* ------------------------------------------------------------------ */
START_TEST(costs_table_over_analytic)
{
    char path[512];
    soap_test_data("costs/p100_linear.csv", path, sizeof path);
    soap_error err;
    soap_costs *c = soap_costs_new(path, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    soap_machine *p100 = soap_machine_preset("p100x16", &err);
    soap_machine *k80 = soap_machine_preset("k80x64", &err);
    ck_assert_ptr_nonnull(p100);
    ck_assert_ptr_nonnull(k80);
    const soap_device_type *tp = &p100->types[0], *tk = &k80->types[0];
    ck_assert_str_eq(tp->name, "P100");
    ck_assert_str_eq(tk->name, "K80");
    lin_graph l = lin_graph_new(64);
    soap_region fc_full = soap_region_full(&l.g->ops[l.fc].out);
    soap_region fc_16 = rows(l.g, l.fc, 16, 32), fc_32 = rows(l.g, l.fc, 0, 32);
    soap_region r_full = soap_region_full(&l.g->ops[l.r].out);
    for (int round = 0; round < 2; round++) {
        /* From the table (the later of two rows for [16;1024], wherever the
         * block lies). */
        soap_task_cost t = soap_costs_task(c, l.g, l.fc, &fc_full, tp);
        ck_assert(t.fwd_s == 1.5e-4 && t.bwd_s == 3.0e-4);
        t = soap_costs_task(c, l.g, l.fc, &fc_16, tp);
        ck_assert(t.fwd_s == 5e-5 && t.bwd_s == 1e-4);
        t = soap_costs_task(c, l.g, l.r, &r_full, tp);
        ck_assert(t.fwd_s == 1e-5 && t.bwd_s == 2e-5);
        t = soap_costs_task(c, l.g, l.fc, &fc_full, tk);
        ck_assert(t.fwd_s == 4e-4 && t.bwd_s == 8e-4);
        /* Not in the table: the analytic model. */
        soap_task_cost a = soap_cost_analytic(l.g, l.fc, &fc_32, tp);
        t = soap_costs_task(c, l.g, l.fc, &fc_32, tp);
        ck_assert(t.fwd_s == a.fwd_s && t.bwd_s == a.bwd_s);
        a = soap_cost_analytic(l.g, l.r, &r_full, tk);
        t = soap_costs_task(c, l.g, l.r, &r_full, tk);
        ck_assert(t.fwd_s == a.fwd_s && t.bwd_s == a.bwd_s);
        /* Distinct entries: 4 measured, 2 analytic; the second round only
         * hits the cache. */
        long measured = -1, analytic = -1;
        soap_costs_counts(c, &measured, &analytic);
        ck_assert_int_eq(measured, 4);
        ck_assert_int_eq(analytic, 2);
    }
    soap_costs_free(c);

    /* Without a table everything is analytic. */
    c = soap_costs_new(NULL, &err);
    ck_assert_ptr_nonnull(c);
    soap_task_cost a = soap_cost_analytic(l.g, l.fc, &fc_full, tp);
    soap_task_cost t = soap_costs_task(c, l.g, l.fc, &fc_full, tp);
    ck_assert(t.fwd_s == a.fwd_s && t.bwd_s == a.bwd_s);
    soap_costs_task(c, l.g, l.fc, &fc_full, tp);
    soap_costs_task(c, l.g, l.fc, &fc_16, tp);
    long measured = -1, analytic = -1;
    soap_costs_counts(c, &measured, &analytic);
    ck_assert_int_eq(measured, 0);
    ck_assert_int_eq(analytic, 2);
    soap_costs_free(c);
    soap_graph_free(l.g);
    soap_machine_free(p100);
    soap_machine_free(k80);
}
END_TEST

START_TEST(costs_canonical_region)
{
    /* conv 3x3 p1 on x [2,4,8,8], tasks of 2 rows. On a device whose
     * memory is slow enough to dominate, a border block (rows [0,2): halo
     * rows [0,3)) reads less than an inner one (rows [2,4): [1,5)), so the
     * analytic costs differ. soap_costs gives both the border block's cost,
     * whichever is asked first. */
    soap_device_type slow = gpu_type;
    slow.mem_bandwidth = 1e6;
    soap_graph *g = soap_graph_new("conv", 2);
    const int64_t xs[4] = {2, 4, 8, 8};
    int x = soap_add_input(g, "x", 4, xs, NULL, 0);
    int cv = soap_add_conv2d(g, "c", x, 4, 3, 3, 1, 1, 1, 1, 0);
    soap_region border = soap_region_full(&g->ops[cv].out), inner = border;
    border.lo[2] = 0;
    border.hi[2] = 2;
    inner.lo[2] = 2;
    inner.hi[2] = 4;
    soap_task_cost ab = soap_cost_analytic(g, cv, &border, &slow);
    soap_task_cost ai = soap_cost_analytic(g, cv, &inner, &slow);
    ck_assert(ai.fwd_s > ab.fwd_s);
    for (int order = 0; order < 2; order++) {
        soap_error err;
        soap_costs *c = soap_costs_new(NULL, &err);
        soap_task_cost first = soap_costs_task(c, g, cv, order ? &inner : &border, &slow);
        soap_task_cost second = soap_costs_task(c, g, cv, order ? &border : &inner, &slow);
        ck_assert(first.fwd_s == ab.fwd_s && first.bwd_s == ab.bwd_s);
        ck_assert(second.fwd_s == ab.fwd_s && second.bwd_s == ab.bwd_s);
        long measured, analytic;
        soap_costs_counts(c, &measured, &analytic);
        ck_assert_int_eq(analytic, 1);
        /* The same name with other figures is another device type. */
        soap_task_cost other = soap_costs_task(c, g, cv, &border, &gpu_type);
        ck_assert(other.fwd_s != ab.fwd_s);
        soap_costs_counts(c, &measured, &analytic);
        ck_assert_int_eq(analytic, 2);
        soap_costs_free(c);
    }
    soap_graph_free(g);
}
END_TEST

START_TEST(costs_signature_per_graph)
{
    /* Graph A (batch 64) and graph B (batch 32) have the same op ids; the
     * table knows A's fc for 16-row blocks. After A is freed, B's fc of 16
     * rows must not pick up A's signature (B's is "... in[32,1024]"), even
     * at an address where the cache last saw a graph like A. */
    char path[512];
    soap_test_data("costs/p100_linear.csv", path, sizeof path);
    soap_error err;
    soap_costs *c = soap_costs_new(path, &err);
    ck_assert_msg(c != NULL, "%s", err.msg);
    soap_machine *p100 = soap_machine_preset("p100x16", &err);
    const soap_device_type *tp = &p100->types[0];
    lin_graph a = lin_graph_new(64);
    soap_region ra = rows(a.g, a.fc, 0, 16);
    soap_task_cost t = soap_costs_task(c, a.g, a.fc, &ra, tp);
    ck_assert(t.fwd_s == 5e-5);
    soap_graph_free(a.g);
    lin_graph b = lin_graph_new(32);
    soap_region rb = rows(b.g, b.fc, 0, 16);
    soap_task_cost ab = soap_cost_analytic(b.g, b.fc, &rb, tp);
    t = soap_costs_task(c, b.g, b.fc, &rb, tp);
    ck_assert(t.fwd_s == ab.fwd_s && t.bwd_s == ab.bwd_s);
    /* And back to a graph like A: the table again. */
    lin_graph a2 = lin_graph_new(64);
    soap_region ra2 = rows(a2.g, a2.fc, 16, 32);
    t = soap_costs_task(c, a2.g, a2.fc, &ra2, tp);
    ck_assert(t.fwd_s == 5e-5);
    long measured, analytic;
    soap_costs_counts(c, &measured, &analytic);
    ck_assert_int_eq(measured, 1);
    ck_assert_int_eq(analytic, 1);

    /* Force the reuse of an address: swap the contents of B and A2 (plain
     * data), so the pointer last seen (a2.g) now holds B's structure with
     * the same op count. Its fc of 16 rows is B's again: analytic. */
    soap_graph tmp = *a2.g;
    *a2.g = *b.g;
    *b.g = tmp;
    t = soap_costs_task(c, a2.g, a2.fc, &rb, tp);
    ck_assert(t.fwd_s == ab.fwd_s && t.bwd_s == ab.bwd_s);
    soap_graph_free(b.g);
    soap_graph_free(a2.g);
    soap_costs_free(c);
    soap_machine_free(p100);
}
END_TEST

START_TEST(costs_every_model_op)
{
    /* Every op of small built-in models gets a positive forward cost from
     * soap_costs, equal to the analytic cost of its origin block. */
    static const char *const models[] = {"lenet", "rnnlm", "transformer", "inception_v3"};
    soap_model_options opt = {.batch = 8, .unroll = 2, .layers = 1, .seq_len = 8};
    soap_error err;
    soap_graph *g = soap_model_load(models[_i], &opt, &err);
    ck_assert_msg(g != NULL, "%s", err.msg);
    soap_machine *m = soap_machine_preset("p100x16", &err);
    soap_costs *c = soap_costs_new(NULL, &err);
    for (int op = 0; op < g->nops; op++) {
        soap_region r = soap_region_full(&g->ops[op].out);
        soap_task_cost t = soap_costs_task(c, g, op, &r, &m->types[0]);
        soap_task_cost a = soap_cost_analytic(g, op, &r, &m->types[0]);
        ck_assert(t.fwd_s == a.fwd_s && t.bwd_s == a.bwd_s);
        ck_assert(t.fwd_s >= m->types[0].launch_overhead);
    }
    soap_costs_free(c);
    soap_machine_free(m);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Registry and names                                                  */
/* ------------------------------------------------------------------ */
START_TEST(registry)
{
    const soap_cost_ops *const *r = soap_cost_registry();
    ck_assert_ptr_nonnull(r[0]);
    ck_assert_str_eq(r[0]->name, "table");
    ck_assert_str_eq(r[1]->name, "analytic");
    ck_assert_ptr_null(r[2]);
    for (int k = 0; r[k]; k++) {
        ck_assert_ptr_eq(soap_cost_find(r[k]->name), r[k]);
        ck_assert(r[k]->description && r[k]->create && r[k]->destroy && r[k]->lookup);
    }
    ck_assert_ptr_null(soap_cost_find("measured"));
    ck_assert_ptr_null(soap_cost_find(NULL));
}
END_TEST

START_TEST(sync_names)
{
    ck_assert_str_eq(soap_sync_mode_name(SOAP_SYNC_PS), "ps");
    ck_assert_str_eq(soap_sync_mode_name(SOAP_SYNC_ALLREDUCE), "allreduce");
    for (int m = 0; m < SOAP_SYNC_MODE_COUNT; m++)
        ck_assert_int_eq(soap_sync_mode_parse(soap_sync_mode_name(m)), m);
    ck_assert_int_eq(soap_sync_mode_parse("ring"), -1);
    ck_assert_int_eq(soap_sync_mode_parse("PS"), -1);
    ck_assert_int_eq(soap_sync_mode_parse(NULL), -1);
    ck_assert_str_eq(soap_sync_mode_name(SOAP_SYNC_MODE_COUNT), "?");
}
END_TEST

Suite *soap_suite_costs(void)
{
    Suite *s = suite_create("costs");
    TCase *tc = tcase_create("analytic");
    tcase_add_test(tc, analytic_hand_values);
    tcase_add_loop_test(tc, analytic_monotone_and_floor, 0,
                        (int)(sizeof mono_types / sizeof mono_types[0]));
    tcase_add_test(tc, analytic_util_curve);
    tcase_add_test(tc, analytic_class_not_name);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("table");
    tcase_add_test(tc, table_round_trip);
    tcase_add_test(tc, table_variants);
    tcase_add_loop_test(tc, table_malformed, 0,
                        (int)(sizeof bad_tables / sizeof bad_tables[0]));
    tcase_add_test(tc, table_io_errors);
    tcase_add_test(tc, table_many_device_types);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("costs_cache");
    tcase_add_test(tc, costs_table_over_analytic);
    tcase_add_test(tc, costs_canonical_region);
    tcase_add_test(tc, costs_signature_per_graph);
    tcase_add_loop_test(tc, costs_every_model_op, 0, 4);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("registry_and_names");
    tcase_add_test(tc, registry);
    tcase_add_test(tc, sync_names);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
