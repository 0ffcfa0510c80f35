/* validate.c: how far the simulator's predictions are from measured times,
 * for `soap validate` and the experiments: per strategy the relative error,
 * over all of them the median and largest absolute error and Kendall's tau
 * between predicted and measured times (does the simulator rank strategies
 * as the hardware does?), and the CSV of one validation.
 */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "soap_exec.h"

double soap_kendall_tau(const double *a, const double *b, int n)
{
    long conc = 0, disc = 0, ta = 0, tb = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double x = a[i] - a[j], y = b[i] - b[j];
            if (x == 0 && y == 0)
                continue;
            if (x == 0)
                ta++;
            else if (y == 0)
                tb++;
            else if ((x > 0) == (y > 0))
                conc++;
            else
                disc++;
        }
    double d = sqrt((double)(conc + disc + ta) * (double)(conc + disc + tb));
    return d > 0 ? (double)(conc - disc) / d : 0;
}

soap_validate_summary soap_validate_summarize(soap_validate_row *rows, int n)
{
    SOAP_ASSERT(n >= 0 && (rows != NULL || n == 0));
    soap_validate_summary s = {.n = n, .worst = -1};
    if (n == 0)
        return s;
    double *sim = soap_xmalloc((size_t)n * sizeof *sim);
    double *run = soap_xmalloc((size_t)n * sizeof *run);
    double *abs_err = soap_xmalloc((size_t)n * sizeof *abs_err);
    for (int i = 0; i < n; i++) {
        SOAP_ASSERT(rows[i].measured_s > 0 && isfinite(rows[i].measured_s));
        rows[i].rel_error = (rows[i].simulated_s - rows[i].measured_s) / rows[i].measured_s;
        sim[i] = rows[i].simulated_s;
        run[i] = rows[i].measured_s;
        abs_err[i] = fabs(rows[i].rel_error);
        if (s.worst < 0 || abs_err[i] > s.max_abs_error) {
            s.worst = i;
            s.max_abs_error = abs_err[i];
        }
    }
    s.kendall_tau = soap_kendall_tau(sim, run, n);
    gsl_sort(abs_err, 1, (size_t)n);
    s.median_abs_error = gsl_stats_median_from_sorted_data(abs_err, 1, (size_t)n);
    free(sim);
    free(run);
    free(abs_err);
    return s;
}

soap_status soap_validate_write_csv(const char *path, const soap_validate_row *rows, int n,
                                    const char *const *settings, soap_error *err)
{
    SOAP_ASSERT(path != NULL && n >= 0 && (rows != NULL || n == 0));
    soap_outfile *o = soap_outfile_open(path, err);
    if (!o)
        return err->code;
    FILE *f = soap_outfile_stream(o);
    soap_provenance_write(f, "validate", settings);
    fputs("strategy,simulated_s,measured_s,rel_error\n", f);
    for (int i = 0; i < n; i++) {
        char name[256];
        fprintf(f, "%s,%.9g,%.9g,%.6f\n", soap_name_escape(rows[i].strategy, name, sizeof name),
                rows[i].simulated_s, rows[i].measured_s, rows[i].rel_error);
    }
    return soap_outfile_commit(o, err);
}
