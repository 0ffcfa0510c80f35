/* rng.c: the one seed derivation of soap. Every random draw of the project
 * (random strategies, search chains, the executor's weights, inputs and
 * labels, the profiler's data) comes from soap_rng_new(seed, stream, index):
 * the user's seed, a stream naming what is drawn, and an index within the
 * stream (a chain, a weight, an op, the j-th random strategy). The three are
 * mixed with splitmix64's finalizer, so nearby seeds, streams and indices
 * give unrelated generators, and the result seeds GSL's mt19937.
 */
#include <gsl/gsl_rng.h>

#include "soap_core.h"

/* splitmix64's output function: a bijection on 64 bits with good avalanche. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

uint64_t soap_rng_derive(unsigned long seed, soap_rng_stream stream, unsigned long index)
{
    SOAP_ASSERT(stream >= 0 && stream < SOAP_RNG_STREAM_COUNT);
    uint64_t h = mix64((uint64_t)seed);
    h = mix64(h ^ ((uint64_t)stream << 56));
    return mix64(h ^ (uint64_t)index);
}

gsl_rng *soap_rng_new(unsigned long seed, soap_rng_stream stream, unsigned long index)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    SOAP_ASSERT(r != NULL);
    /* mt19937 takes a 32-bit seed; fold the 64-bit mix into it. */
    uint64_t s = soap_rng_derive(seed, stream, index);
    gsl_rng_set(r, (unsigned long)((s ^ (s >> 32)) & 0xFFFFFFFFUL));
    return r;
}
