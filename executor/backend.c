/* backend.c: the registry of executor backends, and the entry of the CUDA
 * backend, which is not implemented yet (no build has it, whatever CUDA the
 * machine has): it answers create() with a clear "not built" error, so that
 * callers need no #ifdef (the CUDA backend's files will replace this entry).
 */
#include <stdio.h>
#include <string.h>

#include "soap_exec.h"

extern const soap_backend_ops soap_backend_cpu;

static void *cuda_not_built(const soap_machine *m, soap_error *err)
{
    soap_error_set(err, SOAP_ERR_NOT_BUILT,
                   "backend 'cuda' is not built: the CUDA backend is not implemented yet, "
                   "so no build of soap has it (use --backend cpu)");
    return NULL;
}

static const soap_backend_ops soap_backend_cuda = {
    .name = "cuda",
    .description = "NVIDIA GPUs: cuDNN, cuBLAS, NCCL (not implemented yet)",
    .create = cuda_not_built,
};

static const soap_backend_ops *const registry[] = {&soap_backend_cpu, &soap_backend_cuda, NULL};

const soap_backend_ops *const *soap_backend_registry(void)
{
    return registry;
}

const soap_backend_ops *soap_backend_find(const char *name, soap_error *err)
{
    for (int k = 0; name && registry[k]; k++)
        if (strcmp(registry[k]->name, name) == 0)
            return registry[k];
    char list[128] = "";
    for (int k = 0; registry[k]; k++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", registry[k]->name);
    }
    soap_error_set(err, SOAP_ERR_NOT_FOUND, "unknown backend '%s' (expected one of: %s)",
                   name ? name : "(none)", list);
    return NULL;
}
