/* soap_exec.h: the public interface of soap_exec (the executor).
 *
 * For now this holds only the dense block, the unit of data that executor
 * kernels read and write. The backend interface (alloc, free, copy between
 * devices, run an operator on a region, weight update, synchronize, time),
 * the runner and the profiler come later and will be declared here.
 */
#ifndef SOAP_EXEC_H
#define SOAP_EXEC_H

#include "soap_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A dense fp32 block: the elements of `region` of some tensor, row-major
 * over the region's extents (dim 0 slowest), at `data`. The region is in the
 * tensor's global coordinates, so element x (a global coordinate) lives at
 * data[sum_d (x[d] - region.lo[d]) * stride[d]], stride[ndims-1] = 1. Token
 * ids and class labels are stored as float values too (exact below 2^24). */
typedef struct soap_block {
    float *data;
    soap_region region;
} soap_block;

#ifdef __cplusplus
}
#endif
#endif /* SOAP_EXEC_H */
