/* exec_testing.c: holds no code. It compiles the testing header
 * (exec_testing.h) together with the kernels' header, so that the compiler
 * checks every declaration the tests see against the real one (a prototype
 * or a macro that differs is an error here). */
#include "cpu/cpu_kernels.h"
#include "exec_testing.h"

/* A translation unit needs a declaration; this one also pins the index
 * limit the tests rely on (ids are stored as floats). */
_Static_assert(SOAP_CPU_MAX_INDEX == (1LL << 24), "ids up to 2^24 are exact in a float");
