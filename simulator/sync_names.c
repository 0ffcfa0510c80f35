/* sync_names.c: names and parser of soap_sync_mode, generated from the one
 * X-macro list SOAP_SYNC_MODES in soap_sim.h (the names are the words the
 * command line and files use: "ps", "allreduce", "master"). */
#include <string.h>

#include "soap_sim.h"

static const char *const sync_names[] = {
#define SOAP_X_NAME(e, s) s,
    SOAP_SYNC_MODES(SOAP_X_NAME)
#undef SOAP_X_NAME
};
_Static_assert(sizeof sync_names / sizeof sync_names[0] == SOAP_SYNC_MODE_COUNT,
               "one name per sync mode");

const char *soap_sync_mode_name(soap_sync_mode m)
{
    if ((int)m < 0 || m >= SOAP_SYNC_MODE_COUNT)
        return "?";
    return sync_names[m];
}

int soap_sync_mode_parse(const char *s)
{
    if (!s)
        return -1;
    for (int m = 0; m < SOAP_SYNC_MODE_COUNT; m++)
        if (strcmp(s, sync_names[m]) == 0)
            return m;
    return -1;
}
