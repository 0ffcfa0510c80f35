/* calibrate.c: fitting a device type's analytic efficiencies
 * (soap_device_calibration) to measured training throughput
 * (soap_calibrate), and the measurement file it reads
 * (soap_calib_read_csv).
 *
 * Each measurement is a whole model trained data parallel on the first
 * `devices` devices of the machine at a global batch: its predicted time is
 * a full simulation with the analytic costs and the candidate calibration.
 * The fit minimises sum_i (ln t_predicted_i - ln t_measured_i)^2 (relative
 * errors weigh the same for a fast and a slow model) over the four
 * parameters, with GSL's trust-region nonlinear least squares
 * (gsl_multifit_nlinear, Levenberg-Marquardt steps, a finite-difference
 * Jacobian: the simulator has no derivative). The parameters are kept in
 * their ranges by fitting u with x = lo + (hi - lo) / (1 + e^-u).
 * Several starts (a small grid) guard against a poor local minimum; the
 * best fit wins.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>

#include "soap_sim.h"

#define NPARAMS 4

/* ------------------------------------------------------------------ */
/* The measurement file                                                */
/* ------------------------------------------------------------------ */

void soap_calib_rows_free(soap_calib_row *rows)
{
    free(rows);
}

/* Splits line at commas into at most max fields (trimmed, in place). */
static int split_fields(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        while (isspace((unsigned char)*p))
            p++;
        char *e = p + strlen(p);
        while (e > p && isspace((unsigned char)e[-1]))
            *--e = 0;
        if (n < max)
            f[n] = p;
        n++;
        if (!comma)
            return n;
        p = comma + 1;
    }
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!s[0] || *end || errno || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

soap_status soap_calib_read_csv(const char *path, soap_calib_row **rows, int *nrows,
                                soap_error *err)
{
    SOAP_ASSERT(path && rows && nrows);
    *rows = NULL;
    *nrows = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return soap_error_set(err, SOAP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    static const char header[] = "model,batch,devices,samples_per_s";
    static const char expected[] =
        "expected 'model,batch,devices,samples_per_s': a built-in model or model file, the "
        "global batch (1..2^31), the devices (1..1024) and the measured training throughput "
        "(samples/s, > 0)";
    char line[1024];
    int lineno = 0, seen_header = 0, cap = 0;
    soap_calib_row *v = NULL;
    int n = 0;
    soap_status st = SOAP_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            st = soap_error_set(err, SOAP_ERR_PARSE, "%s:%d: line longer than %zu characters",
                                path, lineno, sizeof line - 2);
            break;
        }
        line[strcspn(line, "\r\n")] = 0;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            continue;
        if (!seen_header) {
            char *q = p;
            int ok = 1;
            for (const char *h = header; *h && ok; h++, q++)
                ok = *q == *h;
            while (ok && isspace((unsigned char)*q))
                q++;
            if (!ok || *q) {
                st = soap_error_set(err, SOAP_ERR_PARSE, "%s:%d: header '%s': %s", path, lineno,
                                    p, expected);
                break;
            }
            seen_header = 1;
            continue;
        }
        char *fld[4];
        int k = split_fields(p, fld, 4);
        if (k != 4) {
            st = soap_error_set(err, SOAP_ERR_PARSE, "%s:%d: %d fields: %s", path, lineno, k,
                                expected);
            break;
        }
        soap_calib_row r;
        memset(&r, 0, sizeof r);
        r.line = lineno;
        long batch = 0, devices = 0;
        char *end;
        errno = 0;
        double tput = strtod(fld[3], &end);
        if (!fld[0][0] || strlen(fld[0]) >= sizeof r.model) {
            st = soap_error_set(err, SOAP_ERR_PARSE, "%s:%d: model '%s': %s", path, lineno,
                                fld[0], expected);
        } else if (!parse_long(fld[1], 1, 2147483647L, &batch)) {
            st = soap_error_set(err, SOAP_ERR_PARSE, "%s:%d: batch '%s': %s", path, lineno,
                                fld[1], expected);
        } else if (!parse_long(fld[2], 1, SOAP_MAX_DEVICES, &devices)) {
            st = soap_error_set(err, SOAP_ERR_PARSE, "%s:%d: devices '%s': %s", path, lineno,
                                fld[2], expected);
        } else if (!fld[3][0] || *end || errno || !(tput > 0) || !isfinite(tput)) {
            st = soap_error_set(err, SOAP_ERR_PARSE, "%s:%d: samples_per_s '%s': %s", path,
                                lineno, fld[3], expected);
        }
        if (st != SOAP_OK)
            break;
        snprintf(r.model, sizeof r.model, "%s", fld[0]);
        r.batch = batch;
        r.devices = (int)devices;
        r.samples_per_s = tput;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            v = soap_xrealloc(v, (size_t)cap * sizeof *v);
        }
        v[n++] = r;
    }
    if (st == SOAP_OK && ferror(f))
        st = soap_error_set(err, SOAP_ERR_IO, "%s: read error", path);
    fclose(f);
    if (st == SOAP_OK && !seen_header)
        st = soap_error_set(err, SOAP_ERR_PARSE, "%s: no header line: %s", path, expected);
    if (st == SOAP_OK && n == 0)
        st = soap_error_set(err, SOAP_ERR_PARSE, "%s: no measurements", path);
    if (st != SOAP_OK) {
        free(v);
        return st;
    }
    *rows = v;
    *nrows = n;
    return SOAP_OK;
}

/* ------------------------------------------------------------------ */
/* Predictions                                                         */
/* ------------------------------------------------------------------ */

/* One measurement's model and the machine it ran on, loaded once. */
typedef struct row_setup {
    soap_graph *g;
    soap_machine *m; /* the first `devices` devices; its type `type` is the
                        one calibrated */
    int type;
} row_setup;

typedef struct fit_ctx {
    const soap_calib_row *rows;
    row_setup *setup;
    int n;
    long simulations;
} fit_ctx;

static const double lo[NPARAMS] = {SOAP_CAL_EFF_MIN, SOAP_CAL_EFF_MIN, SOAP_CAL_WINOGRAD_MIN,
                                   SOAP_CAL_EFF_MIN};
static const double hi[NPARAMS] = {SOAP_CAL_EFF_MAX, SOAP_CAL_EFF_MAX, SOAP_CAL_WINOGRAD_MAX,
                                   SOAP_CAL_EFF_MAX};

static soap_device_calibration cal_of_params(const double *x)
{
    soap_device_calibration c = {x[0], x[1], x[2], x[3]};
    return c;
}

static void params_of_cal(const soap_device_calibration *c, double *x)
{
    x[0] = c->gemm_eff, x[1] = c->conv_eff, x[2] = c->winograd, x[3] = c->mem_eff;
}

/* x in [lo, hi] from u (any real), and back. The bounds are open: an
 * efficiency of exactly the bound cannot be reached, which costs nothing. */
static double bounded(double u, int k)
{
    return lo[k] + (hi[k] - lo[k]) / (1 + exp(-u));
}

static double unbounded(double x, int k)
{
    double f = (x - lo[k]) / (hi[k] - lo[k]);
    f = fmin(fmax(f, 1e-6), 1 - 1e-6);
    return log(f / (1 - f));
}

/* Simulated iteration time (seconds) of row i with calibration c. */
static double predict_time(fit_ctx *fc, int i, const soap_device_calibration *c)
{
    row_setup *rs = &fc->setup[i];
    rs->m->types[rs->type].cal = *c;
    soap_error err;
    soap_error_clear(&err);
    soap_strategy *s = soap_strategy_load("data", rs->g, rs->m, NULL, &err);
    SOAP_ASSERT(s != NULL); /* data parallel fits every graph and machine */
    soap_costs *costs = soap_costs_new(NULL, &err);
    SOAP_ASSERT(costs != NULL);
    soap_sim_options so = {.sync = SOAP_SYNC_ALLREDUCE};
    soap_sim *sim = soap_sim_new(rs->g, rs->m, costs, &so, &err);
    SOAP_ASSERT(sim != NULL);
    double t = soap_sim_full(sim, s, &err);
    SOAP_ASSERT(t > 0);
    soap_sim_free(sim);
    soap_costs_free(costs);
    soap_strategy_free(s);
    fc->simulations++;
    return t;
}

static double measured_time(const soap_calib_row *r)
{
    return (double)r->batch / r->samples_per_s;
}

static int residuals(const gsl_vector *u, void *data, gsl_vector *f)
{
    fit_ctx *fc = data;
    double x[NPARAMS];
    for (int k = 0; k < NPARAMS; k++)
        x[k] = bounded(gsl_vector_get(u, (size_t)k), k);
    soap_device_calibration c = cal_of_params(x);
    for (int i = 0; i < fc->n; i++)
        gsl_vector_set(f, (size_t)i,
                       log(predict_time(fc, i, &c)) - log(measured_time(&fc->rows[i])));
    return GSL_SUCCESS;
}

static double sum_sq(fit_ctx *fc, const soap_device_calibration *c)
{
    double s = 0;
    for (int i = 0; i < fc->n; i++) {
        double r = log(predict_time(fc, i, c)) - log(measured_time(&fc->rows[i]));
        s += r * r;
    }
    return s;
}

/* One trust-region fit from `start`; the fitted calibration into *out and
 * its sum of squares returned. */
static double fit_from(fit_ctx *fc, const soap_device_calibration *start,
                       soap_device_calibration *out, int *iterations)
{
    gsl_multifit_nlinear_parameters fp = gsl_multifit_nlinear_default_parameters();
    gsl_multifit_nlinear_fdf fdf;
    memset(&fdf, 0, sizeof fdf);
    fdf.f = residuals;
    fdf.df = NULL; /* finite differences */
    fdf.n = (size_t)fc->n;
    fdf.p = NPARAMS;
    fdf.params = fc;
    gsl_multifit_nlinear_workspace *w =
        gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &fp, fdf.n, fdf.p);
    SOAP_ASSERT(w != NULL);
    double x0[NPARAMS];
    params_of_cal(start, x0);
    gsl_vector *u = gsl_vector_alloc(NPARAMS);
    for (int k = 0; k < NPARAMS; k++)
        gsl_vector_set(u, (size_t)k, unbounded(x0[k], k));
    gsl_multifit_nlinear_init(u, &fdf, w);
    int info = 0;
    gsl_multifit_nlinear_driver(200, 1e-10, 1e-10, 1e-12, NULL, NULL, &info, w);
    const gsl_vector *best = gsl_multifit_nlinear_position(w);
    double x[NPARAMS];
    for (int k = 0; k < NPARAMS; k++)
        x[k] = bounded(gsl_vector_get(best, (size_t)k), k);
    *out = cal_of_params(x);
    *iterations = (int)gsl_multifit_nlinear_niter(w);
    gsl_vector_free(u);
    gsl_multifit_nlinear_free(w);
    return sum_sq(fc, out);
}

/* ------------------------------------------------------------------ */
/* soap_calibrate                                                      */
/* ------------------------------------------------------------------ */

void soap_calib_result_free(soap_calib_result *r)
{
    if (!r)
        return;
    free(r->predicted);
    memset(r, 0, sizeof *r);
}

static void free_setup(row_setup *s, int n)
{
    for (int i = 0; i < n; i++) {
        if (s[i].g)
            soap_graph_free(s[i].g);
        if (s[i].m)
            soap_machine_free(s[i].m);
    }
    free(s);
}

/* The model and machine of row i; errors name the row's line. */
static soap_status setup_row(const soap_machine *m, int type, const char *src,
                             const soap_calib_row *r, row_setup *out, soap_error *err)
{
    soap_error e;
    soap_error_clear(&e);
    if (r->batch < 1 || r->devices < 1 || !(r->samples_per_s > 0) || !isfinite(r->samples_per_s))
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "%s:%d: batch %lld, devices %d, %g samples/s: expected a batch "
                              ">= 1, devices >= 1 and a positive throughput",
                              src, r->line, (long long)r->batch, r->devices, r->samples_per_s);
    if (r->devices > m->ndevices)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "%s:%d: %d devices, but machine '%s' has %d", src, r->line,
                              r->devices, m->name, m->ndevices);
    soap_model_options mo = {.batch = r->batch};
    out->g = soap_model_load(r->model, &mo, &e);
    if (!out->g)
        return soap_error_set(err, e.code, "%s:%d: %s", src, r->line, e.msg);
    if (out->g->batch != r->batch)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "%s:%d: model file '%s' has batch %lld, the row says %lld", src,
                              r->line, r->model, (long long)out->g->batch, (long long)r->batch);
    out->m = soap_machine_narrow(m, r->devices, &e);
    if (!out->m)
        return soap_error_set(err, e.code, "%s:%d: %s", src, r->line, e.msg);
    for (int d = 0; d < out->m->ndevices; d++)
        if (out->m->devices[d].type != type)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "%s:%d: device %s is a %s, not the %s being calibrated (a "
                                  "row must use devices of one type)",
                                  src, r->line, out->m->devices[d].name,
                                  out->m->types[out->m->devices[d].type].name,
                                  m->types[type].name);
    out->type = type;
    return SOAP_OK;
}

soap_status soap_calibrate(const soap_machine *m, const char *type_name,
                           const soap_calib_row *rows, int nrows, const char *source,
                           soap_calib_result *r, soap_error *err)
{
    SOAP_ASSERT(m && rows && r);
    memset(r, 0, sizeof *r);
    const char *src = source ? source : "measurements";
    int type = m->ndevices > 0 ? m->devices[0].type : -1;
    if (type_name) {
        type = -1;
        for (int t = 0; t < m->ntypes; t++)
            if (strcmp(m->types[t].name, type_name) == 0)
                type = t;
        if (type < 0) {
            char list[256] = "";
            for (int t = 0; t < m->ntypes; t++) {
                strncat(list, t ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, m->types[t].name, sizeof list - strlen(list) - 1);
            }
            return soap_error_set(err, SOAP_ERR_NOT_FOUND,
                                  "machine '%s' has no device type '%s' (types: %s)", m->name,
                                  type_name, list);
        }
    }
    SOAP_ASSERT(type >= 0);
    if (nrows < NPARAMS)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "%s: %d measurements for %d parameters (gemm, conv, winograd, "
                              "memory efficiency): give at least %d",
                              src, nrows, NPARAMS, NPARAMS);
    row_setup *setup = soap_xcalloc((size_t)nrows, sizeof *setup);
    for (int i = 0; i < nrows; i++) {
        soap_status st = setup_row(m, type, src, &rows[i], &setup[i], err);
        if (st != SOAP_OK) {
            free_setup(setup, nrows);
            return st;
        }
    }
    fit_ctx fc = {.rows = rows, .setup = setup, .n = nrows};
    /* Starts: the class defaults' neighbourhood and a few spread points. */
    static const soap_device_calibration starts[] = {
        {0.7, 0.6, 1.5, 0.8}, {0.5, 0.4, 2.5, 0.5}, {0.9, 0.8, 1.2, 0.9}, {0.3, 0.9, 3.0, 0.3},
    };
    double best = INFINITY;
    for (size_t k = 0; k < sizeof starts / sizeof starts[0]; k++) {
        soap_device_calibration c;
        int it;
        double ss = fit_from(&fc, &starts[k], &c, &it);
        if (ss < best) {
            best = ss;
            r->cal = c;
            r->iterations = it;
        }
    }
    r->type = type;
    r->nrows = nrows;
    r->predicted = soap_xmalloc((size_t)nrows * sizeof *r->predicted);
    for (int i = 0; i < nrows; i++)
        r->predicted[i] = (double)rows[i].batch / predict_time(&fc, i, &r->cal);
    r->rms_log = sqrt(best / nrows);
    r->simulations = fc.simulations;
    free_setup(setup, nrows);
    return SOAP_OK;
}
