/* exec_testing.c: the plan's weight bytes for the tests; compiles the testing header
 * (exec_testing.h) together with the kernels' header, so that the compiler
 * checks every declaration the tests see against the real one (a prototype
 * or a macro that differs is an error here). */
#include "cpu/cpu_kernels.h"
#include "exec_internal.h"
#include "exec_testing.h"

/* A translation unit needs a declaration; this one also pins the index
 * limit the tests rely on (ids are stored as floats). */
_Static_assert(SOAP_CPU_MAX_INDEX == (1LL << 24), "ids up to 2^24 are exact in a float");

double exec_testing_weight_bytes(const soap_exec *x, int dev)
{
    SOAP_ASSERT(x && dev >= 0 && dev < x->m->ndevices);
    return x->dev[dev].weight_bytes;
}
