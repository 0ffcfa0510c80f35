/* Tests of soap_name_escape (suite "escape"): control characters and
 * backslashes escaped, everything else kept, cuts with "..." that never split
 * an escape, and a buffer of any size. */
#include <check.h>
#include <string.h>

#include "soap_core.h"

typedef struct escape_case {
    const char *in;
    size_t len;
    const char *want;
} escape_case;

static const escape_case escape_table[] = {
    {"conv1", 64, "conv1"},
    {"", 64, ""},
    {"a\nb", 64, "a\\nb"},
    {"tab\there", 64, "tab\\there"},
    {"cr\r", 64, "cr\\r"},
    {"back\\slash", 64, "back\\\\slash"},
    {"\x1b[2J", 64, "\\x1b[2J"},
    {"del\x7f", 64, "del\\x7f"},
    {"\x01\x1f", 64, "\\x01\\x1f"},
    {"caf\xc3\xa9 \"q\" 'a'", 64, "caf\xc3\xa9 \"q\" 'a'"}, /* UTF-8 and quotes kept */
    /* Exactly fits (5 characters + NUL), then one short: cut with "...". */
    {"abcde", 6, "abcde"},
    {"abcdef", 6, "ab..."},
    /* A cut never leaves half of an escape. */
    {"ab\x1b" "cdefgh", 9, "ab..."},
    {"abc\x1b" "defgh", 12, "abc\\x1bd..."},
    {"abcdef", 4, "abc"},
    {"abcdef", 1, ""},
};

START_TEST(test_escape)
{
    const escape_case *c = &escape_table[_i];
    char buf[128];
    memset(buf, 'Z', sizeof buf);
    char *r = soap_name_escape(c->in, buf, c->len);
    ck_assert_ptr_eq(r, buf);
    ck_assert_msg(strcmp(buf, c->want) == 0, "case %d: got \"%s\", want \"%s\"", _i, buf,
                  c->want);
    ck_assert_uint_lt(strlen(buf), c->len);
    ck_assert_int_eq(buf[c->len], 'Z'); /* nothing written past len */
}
END_TEST

START_TEST(test_escape_null_and_long)
{
    char buf[32];
    ck_assert_str_eq(soap_name_escape(NULL, buf, sizeof buf), "(null)");
    /* A name of control characters only: four bytes each when escaped. */
    char in[200];
    memset(in, '\x1b', sizeof in - 1);
    in[sizeof in - 1] = '\0';
    soap_name_escape(in, buf, sizeof buf);
    ck_assert_uint_eq(strlen(buf), 7 * 4 + 3); /* 7 escapes fit before "..." */
    ck_assert(strcmp(buf + strlen(buf) - 3, "...") == 0);
    for (const char *p = buf; *p; p++)
        ck_assert((unsigned char)*p >= 0x20);
}
END_TEST

Suite *soap_suite_escape(void)
{
    Suite *s = suite_create("escape");
    TCase *tc = tcase_create("escape");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_escape, 0, (int)(sizeof escape_table / sizeof escape_table[0]));
    tcase_add_test(tc, test_escape_null_and_long);
    suite_add_tcase(s, tc);
    return s;
}
