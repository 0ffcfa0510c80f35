/* fuzz_calib.c: fuzz target of the measurement file reader of `soap
 * calibrate` (soap_calib_read_csv), through the public API. Any input must
 * either load or fail with a message and no rows; rows that load must hold
 * what the reader promises: a non-empty model name, batch >= 1, devices in
 * 1..SOAP_MAX_DEVICES, a finite positive throughput, increasing line
 * numbers. The fit itself is not run (each evaluation simulates whole
 * models). Seeds: experiments/calibration and tests/fuzz/corpus/calib. */
#include <math.h>

#include "fuzz_util.h"
#include "soap_core.h"
#include "soap_sim.h"

static fuzz_file input = {.fd = -1};

static void cleanup(void)
{
    fuzz_file_remove(&input);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_file_make(&input, ".csv");
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    soap_error err = {0};
    soap_calib_row *rows = NULL;
    int n = -1;
    if (soap_calib_read_csv(fuzz_file_set(&input, data, size), &rows, &n, &err) != SOAP_OK) {
        FUZZ_CHECK(err.code != SOAP_OK && err.msg[0], "no measurements and no error message");
        FUZZ_CHECK(rows == NULL && n == 0, "an error that left %d rows", n);
        return 0;
    }
    FUZZ_CHECK(n >= 1 && rows != NULL, "loaded with %d rows", n);
    for (int i = 0; i < n; i++) {
        const soap_calib_row *r = &rows[i];
        FUZZ_CHECK(r->model[0] && memchr(r->model, 0, sizeof r->model), "row %d: model", i);
        FUZZ_CHECK(r->batch >= 1 && r->devices >= 1 && r->devices <= SOAP_MAX_DEVICES,
                   "row %d: batch %lld, devices %d", i, (long long)r->batch, r->devices);
        FUZZ_CHECK(isfinite(r->samples_per_s) && r->samples_per_s > 0, "row %d: %g samples/s",
                   i, r->samples_per_s);
        FUZZ_CHECK(i == 0 || r->line > rows[i - 1].line, "row %d: line %d", i, r->line);
    }
    soap_calib_rows_free(rows);
    return 0;
}
