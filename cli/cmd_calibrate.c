/* cmd_calibrate.c: `soap calibrate`: fits a device type's analytic
 * efficiencies to measured training throughput (soap_calibrate), prints
 * the fit and, with --out, writes the machine with the calibrated type (a
 * machine file that --machine reads everywhere).
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "cli.h"

typedef struct calibrate_opts {
    const char *measurements;
    const char *type;
} calibrate_opts;

#define OWN(member) .field = offsetof(calibrate_opts, member)

static const cli_opt measurements_opt = {
    .name = "measurements", .kind = CLI_STRING, OWN(measurements), .required = 1,
    .value = "FILE",
    .help = "measured throughputs (CSV: '#' comments, then the header "
            "model,batch,devices,samples_per_s and one row per measurement)"};
static const cli_opt type_opt = {
    .name = "type", .kind = CLI_STRING, OWN(type), .value = "T",
    .help = "the device type to calibrate (default: the type of the machine's first device)"};

static const cli_opt *const calibrate_opts_table[] = {
    &cli_opt_machine, &measurements_opt, &type_opt, &cli_opt_out, &cli_opt_json, NULL};

static void print_text(const soap_machine *m, const soap_calib_row *rows,
                       const soap_calib_result *r, const char *out)
{
    const soap_device_calibration *c = &r->cal;
    printf("calibration of %s (machine %s): %d measurements, rms log error %.4f "
           "(%d iterations, %ld simulations)\n",
           cli_name(m->types[r->type].name), cli_name(m->name), r->nrows, r->rms_log,
           r->iterations, r->simulations);
    printf("  gemm_eff %.4f  conv_eff %.4f  winograd %.4f  mem_eff %.4f\n", c->gemm_eff,
           c->conv_eff, c->winograd, c->mem_eff);
    printf("\n  %-24s %8s %7s %14s %14s %9s\n", "model", "batch", "devices", "measured/s",
           "predicted/s", "residual");
    for (int i = 0; i < r->nrows; i++)
        printf("  %-24s %8lld %7d %14.4g %14.4g %+8.2f%%\n", cli_name(rows[i].model),
               (long long)rows[i].batch, rows[i].devices, rows[i].samples_per_s,
               r->predicted[i], 100.0 * (r->predicted[i] / rows[i].samples_per_s - 1));
    if (out)
        printf("\nwrote %s (machine %s with the calibrated %s)\n", out, cli_name(m->name),
               cli_name(m->types[r->type].name));
}

static void print_json(const soap_machine *m, const soap_calib_row *rows,
                       const soap_calib_result *r, const char *out)
{
    json_t *o = json_object();
    json_object_set_new(o, "machine", json_string(m->name));
    json_object_set_new(o, "device_type", json_string(m->types[r->type].name));
    json_object_set_new(o, "calibration",
                        json_pack("{s:f, s:f, s:f, s:f}", "gemm_eff", r->cal.gemm_eff,
                                  "conv_eff", r->cal.conv_eff, "winograd", r->cal.winograd,
                                  "mem_eff", r->cal.mem_eff));
    json_object_set_new(o, "rms_log_error", json_real(r->rms_log));
    json_object_set_new(o, "iterations", json_integer(r->iterations));
    json_object_set_new(o, "simulations", json_integer(r->simulations));
    json_t *a = json_array();
    for (int i = 0; i < r->nrows; i++)
        json_array_append_new(
            a, json_pack("{s:s, s:I, s:i, s:f, s:f, s:f}", "model", rows[i].model, "batch",
                         (json_int_t)rows[i].batch, "devices", rows[i].devices,
                         "measured_samples_per_s", rows[i].samples_per_s,
                         "predicted_samples_per_s", r->predicted[i], "relative_error",
                         r->predicted[i] / rows[i].samples_per_s - 1));
    json_object_set_new(o, "rows", a);
    json_object_set_new(o, "out", out ? json_string(out) : json_null());
    cli_print_json(stdout, o);
}

static int run_calibrate(const cli_options *o, const cli_inputs *in, void *own)
{
    const calibrate_opts *co = own;
    soap_error err;
    soap_error_clear(&err);
    soap_calib_row *rows = NULL;
    int n = 0;
    if (soap_calib_read_csv(co->measurements, &rows, &n, &err) != SOAP_OK)
        return cli_fail(&err);
    soap_calib_result r;
    int code = CLI_EXIT_OK;
    if (soap_calibrate(in->m, co->type, rows, n, co->measurements, &r, &err) != SOAP_OK) {
        code = cli_fail(&err);
        goto done;
    }
    if (o->out) {
        soap_machine *cm = soap_machine_narrow(in->m, in->m->ndevices, &err);
        if (!cm) {
            code = cli_fail(&err);
            goto done;
        }
        cm->types[r.type].cal = r.cal;
        soap_status st = soap_machine_write_json(cm, o->out, &err);
        soap_machine_free(cm);
        if (st != SOAP_OK) {
            code = cli_fail(&err);
            goto done;
        }
    }
    if (o->json)
        print_json(in->m, rows, &r, o->out);
    else
        print_text(in->m, rows, &r, o->out);
done:
    soap_calib_result_free(&r);
    soap_calib_rows_free(rows);
    return code;
}

const cli_command cli_cmd_calibrate = {
    .name = "calibrate",
    .summary = "fit a device type's analytic efficiencies to measured throughput",
    .description =
        "Fits the analytic cost model's four efficiencies of one device type of machine X "
        "(gemm_eff: matrix products, conv_eff: convolutions, winograd: how many times fewer "
        "multiply-adds 3x3 and 5x5 stride-1 convolutions do, mem_eff: memory-bound kernels) "
        "to measured training throughputs, by least squares on the log of the iteration "
        "time; each measurement is simulated data parallel on its first `devices` devices "
        "with the analytic costs. Prints the fitted parameters and each measurement's "
        "predicted and measured throughput. --out writes the machine with the calibrated "
        "type (a machine file for --machine); nothing is written after an error. At least "
        "4 measurements are needed.",
    .opts = calibrate_opts_table,
    .own_size = sizeof(calibrate_opts),
    .load = CLI_LOAD_MACHINE,
    .run = run_calibrate,
};
