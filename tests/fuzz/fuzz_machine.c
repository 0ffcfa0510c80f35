/* fuzz_machine.c: fuzz target of the machine file reader
 * (soap_machine_read_json). Any input must either load or fail with a
 * message; one that loads must survive a round trip (soap_machine_write_json,
 * read again, same fingerprint) and have a route between every two devices.
 * Seeds: tests/data/machines. */
#include "fuzz_util.h"
#include "soap_core.h"

static fuzz_file input = {.fd = -1}, copy = {.fd = -1};

static void cleanup(void)
{
    fuzz_file_remove(&input);
    fuzz_file_remove(&copy);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_file_make(&input, ".json");
    fuzz_file_make(&copy, ".json");
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    soap_error err = {0};
    soap_machine *m = soap_machine_read_json(fuzz_file_set(&input, data, size), &err);
    if (!m) {
        FUZZ_CHECK(err.code != SOAP_OK && err.msg[0], "no machine and no error message");
        return 0;
    }
    for (int a = 0; a < m->ndevices; a++)
        for (int b = 0; b < m->ndevices; b++) {
            int len = -1;
            const soap_hop *h = soap_machine_route(m, a, b, &len);
            FUZZ_CHECK(a == b ? len == 0 : (h && len > 0), "no route from %d to %d", a, b);
        }
    soap_error werr = {0};
    FUZZ_CHECK(soap_machine_write_json(m, copy.path, &werr) == SOAP_OK,
               "a machine that loaded cannot be written: %s", werr.msg);
    soap_machine *back = soap_machine_read_json(copy.path, &werr);
    FUZZ_CHECK(back, "a written machine does not load again: %s", werr.msg);
    FUZZ_CHECK(soap_machine_fingerprint(back) == soap_machine_fingerprint(m),
               "the round trip changed the machine");
    soap_machine_free(back);
    soap_machine_free(m);
    return 0;
}
