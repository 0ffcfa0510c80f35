/* test_util.h: small helpers shared by the test suites: the test data folder,
 * temporary files, and writing a string to a file. */
#ifndef SOAP_TEST_UTIL_H
#define SOAP_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Path of a file in tests/data (SOAP_TEST_DATA is set by ctest). */
static inline const char *soap_test_data(const char *name, char *buf, size_t len)
{
    const char *dir = getenv("SOAP_TEST_DATA");
    snprintf(buf, len, "%s/%s", dir ? dir : "tests/data", name);
    return buf;
}

/* A fresh temporary file name (the file exists, empty). */
static inline const char *soap_test_tmpfile(char *buf, size_t len, const char *suffix)
{
    snprintf(buf, len, "/tmp/soap-test-XXXXXX%s", suffix ? suffix : "");
    int fd = mkstemps(buf, suffix ? (int)strlen(suffix) : 0);
    if (fd >= 0)
        close(fd);
    return buf;
}

static inline void soap_test_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

#endif
