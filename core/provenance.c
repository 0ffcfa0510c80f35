/* provenance.c: the '#' lines that open every CSV soap writes (cost tables,
 * convergence logs, validation results, experiment results): what wrote it,
 * the commit of the build, the date, the host, and the settings the caller
 * names. One writer, so every file says the same things the same way.
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "soap_build_info.h"
#include "soap_core.h"

/* The commit: SOAP_COMMIT from the environment (experiments that run an
 * installed binary name their checkout), else the build's. */
static const char *commit(void)
{
    const char *env = getenv("SOAP_COMMIT");
    return env && env[0] ? env : SOAP_GIT_COMMIT;
}

/* One "# key: value" line, with any line break in the value escaped so that
 * the provenance stays one line per key. */
static void kv(FILE *f, const char *key, const char *value)
{
    char buf[512];
    fprintf(f, "# %s: %s\n", key, soap_name_escape(value ? value : "", buf, sizeof buf));
}

void soap_provenance_write(FILE *f, const char *what, const char *const *settings)
{
    SOAP_ASSERT(f != NULL && what != NULL);
    char esc[256];
    fprintf(f, "# soap %s\n", soap_name_escape(what, esc, sizeof esc));
    kv(f, "commit", commit());
    time_t now = time(NULL);
    struct tm tm;
    char date[32] = "unknown";
    if (gmtime_r(&now, &tm))
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    kv(f, "date", date);
    char host[256] = "unknown", hostline[300];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    snprintf(hostline, sizeof hostline, "%s (%ld cores)", host, sysconf(_SC_NPROCESSORS_ONLN));
    kv(f, "host", hostline);
    for (int i = 0; settings && settings[i]; i += 2) {
        kv(f, settings[i], settings[i + 1]);
    }
}
