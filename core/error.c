/* error.c: soap_error (bad input, with a message naming the place), assertion
 * failures (broken invariants) and allocation that aborts when memory runs out. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soap_core.h"

soap_status soap_error_set(soap_error *err, soap_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

soap_status soap_error_prefix(soap_error *err, const char *fmt, ...)
{
    if (!err)
        return SOAP_ERR_INVALID;
    char prefix[SOAP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Copy with explicit lengths: the result is cut at SOAP_ERR_MSG_MAX. */
    char old[SOAP_ERR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3)
        n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 3);
    size_t room = sizeof err->msg - n - 3;
    size_t m = strlen(old);
    if (m > room)
        m = room;
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = '\0';
    return err->code;
}

void soap_error_clear(soap_error *err)
{
    if (err) {
        err->code = SOAP_OK;
        err->msg[0] = '\0';
    }
}

const char *soap_status_name(soap_status s)
{
    switch (s) {
    case SOAP_OK: return "ok";
    case SOAP_ERR_INVALID: return "invalid";
    case SOAP_ERR_PARSE: return "parse error";
    case SOAP_ERR_IO: return "i/o error";
    case SOAP_ERR_NOT_FOUND: return "not found";
    case SOAP_ERR_MISMATCH: return "mismatch";
    case SOAP_ERR_NOT_BUILT: return "not built";
    }
    return "unknown status";
}

void soap_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "soap: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}

static void *check_alloc(void *p, size_t n)
{
    if (!p && n) {
        fprintf(stderr, "soap: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

void *soap_xmalloc(size_t n) { return check_alloc(malloc(n ? n : 1), n); }
void *soap_xcalloc(size_t c, size_t s) { return check_alloc(calloc(c ? c : 1, s ? s : 1), c * s); }
void *soap_xrealloc(void *p, size_t n) { return check_alloc(realloc(p, n ? n : 1), n); }
char *soap_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(soap_xmalloc(n), s, n);
}
