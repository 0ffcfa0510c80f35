/* fileutil.c: reading JSON documents with positioned errors, writing files
 * through a temporary file and rename (nothing half-written is ever left at
 * the target path), and FNV-1a hashing for fingerprints. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "soap_core.h"

soap_status soap_write_file_atomic(const char *path, const char *text, soap_error *err)
{
    size_t n = strlen(path);
    char *tmp = soap_xmalloc(n + 16);
    snprintf(tmp, n + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        soap_status st = soap_error_set(err, SOAP_ERR_IO, "%s: cannot create a temporary file: %s",
                                        path, strerror(errno));
        free(tmp);
        return st;
    }
    /* mkstemp makes the file private; a result file is for everyone to read. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return soap_error_set(err, SOAP_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    size_t len = strlen(text);
    int ok = fwrite(text, 1, len, f) == len;
    ok = (fflush(f) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return soap_error_set(err, SOAP_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    free(tmp);
    return SOAP_OK;
}

uint64_t soap_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

struct json_t *soap_json_load_file(const char *path, const char *what, soap_error *err)
{
    if (!path) {
        soap_error_set(err, SOAP_ERR_INVALID, "%s file: no path given", what);
        return NULL;
    }
    /* jansson opens a directory and then reports an empty document. */
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        soap_error_set(err, SOAP_ERR_IO, "%s: is a directory, expected a %s file", path, what);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_cannot_open_file)
            soap_error_set(err, SOAP_ERR_IO, "%s: cannot open: %s", path, jerr.text);
        else
            soap_error_set(err, SOAP_ERR_PARSE, "%s:%d:%d: %s", path, jerr.line, jerr.column,
                           jerr.text);
    }
    return root;
}
