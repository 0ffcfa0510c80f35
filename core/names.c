/* names.c: names and parsers of the enums generated from the X-macro lists
 * (operator kinds, pool types, unary/binary functions, matmul modes, link
 * kinds, dim kinds, device classes), each table checked against its enum's
 * count; and soap_name_escape, names as they may be printed. */
#include <string.h>

#include "soap_core.h"

#define SOAP_X_NAME(e, s) s,

static const char *const op_kind_names[] = {SOAP_OP_KINDS(SOAP_X_NAME)};
static const char *const pool_names[] = {SOAP_POOL_TYPES(SOAP_X_NAME)};
static const char *const unary_names[] = {SOAP_UNARY_FNS(SOAP_X_NAME)};
static const char *const binary_names[] = {SOAP_BINARY_FNS(SOAP_X_NAME)};
static const char *const matmul_names[] = {SOAP_MATMUL_MODES(SOAP_X_NAME)};
static const char *const link_names[] = {SOAP_LINK_KINDS(SOAP_X_NAME)};
static const char *const device_class_names[] = {SOAP_DEVICE_CLASSES(SOAP_X_NAME)};
static const char *const dim_kind_names[] = {"none", "sample", "attribute", "parameter"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
_Static_assert(COUNT(op_kind_names) == SOAP_OP_KIND_COUNT, "op kind names");
_Static_assert(COUNT(pool_names) == SOAP_POOL_TYPE_COUNT, "pool names");
_Static_assert(COUNT(unary_names) == SOAP_UNARY_FN_COUNT, "unary names");
_Static_assert(COUNT(binary_names) == SOAP_BINARY_FN_COUNT, "binary names");
_Static_assert(COUNT(matmul_names) == SOAP_MATMUL_MODE_COUNT, "matmul names");
_Static_assert(COUNT(link_names) == SOAP_LINK_KIND_COUNT, "link names");
_Static_assert(COUNT(device_class_names) == SOAP_DEVICE_CLASS_COUNT, "device class names");
_Static_assert(COUNT(dim_kind_names) == SOAP_DIM_PARAMETER + 1, "dim kind names");

static const char *name_of(const char *const *tab, int n, int i)
{
    return (i >= 0 && i < n) ? tab[i] : "?";
}

static int parse_in(const char *const *tab, int n, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(tab[i], s) == 0)
            return i;
    return -1;
}

#define NAME_FNS(prefix, type, tab)                                                  \
    const char *prefix##_name(type v) { return name_of(tab, COUNT(tab), (int)v); }   \
    int prefix##_parse(const char *s) { return parse_in(tab, COUNT(tab), s); }

NAME_FNS(soap_op_kind, soap_op_kind, op_kind_names)
NAME_FNS(soap_pool_type, soap_pool_type, pool_names)
NAME_FNS(soap_unary_fn, soap_unary_fn, unary_names)
NAME_FNS(soap_binary_fn, soap_binary_fn, binary_names)
NAME_FNS(soap_matmul_mode, soap_matmul_mode, matmul_names)
NAME_FNS(soap_link_kind, soap_link_kind, link_names)
NAME_FNS(soap_dim_kind, soap_dim_kind, dim_kind_names)
NAME_FNS(soap_device_class, soap_device_class, device_class_names)

/* The escaped form of one byte into unit; returns its length (1, 2 or 4). */
static size_t escape_byte(unsigned char c, char *unit)
{
    static const char hex[] = "0123456789abcdef";
    if (c == '\\' || c == '\n' || c == '\t' || c == '\r') {
        unit[0] = '\\';
        unit[1] = c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
        return 2;
    }
    if (c < 0x20 || c == 0x7f) {
        unit[0] = '\\';
        unit[1] = 'x';
        unit[2] = hex[c >> 4];
        unit[3] = hex[c & 15];
        return 4;
    }
    unit[0] = (char)c;
    return 1;
}

char *soap_name_escape(const char *name, char *buf, size_t len)
{
    SOAP_ASSERT(buf && len > 0);
    if (!name)
        name = "(null)";
    const unsigned char *s = (const unsigned char *)name;
    char unit[4];
    size_t total = 0;
    for (const unsigned char *p = s; *p; p++)
        total += escape_byte(*p, unit);
    /* Whole escapes only: a cut never leaves half of "\x1b". */
    size_t room = total < len || len <= 4 ? len - 1 : len - 4;
    size_t n = 0;
    for (const unsigned char *p = s; *p; p++) {
        size_t k = escape_byte(*p, unit);
        if (n + k > room)
            break;
        memcpy(buf + n, unit, k);
        n += k;
    }
    if (total >= len && len > 4) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}
