/* strategy_list.c: strategy lists ("data,owt,random:3,file.json") and their
 * one seed rule (soap_strategies.h): the random entries of a list are
 * numbered 0, 1, ... in list order and the j-th is the built-in random
 * strategy with options {seed, index = j}. simulate, search --init and
 * validate --strategies all expand their lists here, so a seed names the
 * same random strategies in every command.
 */
#include <stdlib.h>
#include <string.h>

#include "strategies_internal.h"

/* Parses the K of "random:K": 1..SOAP_STRATEGY_LIST_MAX, digits only. */
static soap_status parse_count(const char *entry, const char *text, int *out,
                               soap_error *err)
{
    long v = 0;
    int ok = text[0] != '\0';
    for (const char *p = text; *p && ok; p++) {
        ok = *p >= '0' && *p <= '9';
        if (ok && v <= SOAP_STRATEGY_LIST_MAX)
            v = v * 10 + (*p - '0');
    }
    if (!ok || v < 1 || v > SOAP_STRATEGY_LIST_MAX)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "strategy list entry '%s': expected random:K with K from 1 to %d",
                              entry, SOAP_STRATEGY_LIST_MAX);
    *out = (int)v;
    return SOAP_OK;
}

static void list_push(soap_strategy_list *l, soap_strategy *s, const char *name)
{
    SOAP_ASSERT(l->n < SOAP_STRATEGY_LIST_MAX);
    l->s[l->n] = s;
    l->name[l->n] = soap_xstrdup(name);
    l->n++;
}

/* One entry of the list: a built-in, a file, "random" or "random:K". */
static soap_status expand_entry(const char *entry, const soap_graph *g, const soap_machine *m,
                                unsigned long seed, unsigned long *nrandom,
                                soap_strategy_list *out, soap_error *err)
{
    int count = 1, is_random = strcmp(entry, "random") == 0;
    if (strncmp(entry, "random:", 7) == 0) {
        if (parse_count(entry, entry + 7, &count, err) != SOAP_OK)
            return err->code;
        is_random = 1;
    }
    for (int j = 0; j < count; j++) {
        if (out->n == SOAP_STRATEGY_LIST_MAX)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "strategy list: more than %d strategies",
                                  SOAP_STRATEGY_LIST_MAX);
        soap_strategy_options opt = {.seed = seed, .index = is_random ? *nrandom : 0};
        soap_strategy *s = soap_strategy_load(is_random ? "random" : entry, g, m, &opt, err);
        if (!s)
            return err->code;
        char name[64];
        if (is_random) {
            (*nrandom)++;
            snprintf(name, sizeof name, "random#%lu", *nrandom);
        }
        list_push(out, s, is_random ? name : entry);
    }
    return SOAP_OK;
}

soap_status soap_strategy_list_expand(const char *list, const soap_graph *g,
                                      const soap_machine *m, unsigned long seed,
                                      soap_strategy_list *out, soap_error *err)
{
    SOAP_ASSERT(out != NULL);
    memset(out, 0, sizeof *out);
    if (!list || !g || !m)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "strategy list: expected a list, a graph and a machine");
    out->s = soap_xcalloc(SOAP_STRATEGY_LIST_MAX, sizeof *out->s);
    out->name = soap_xcalloc(SOAP_STRATEGY_LIST_MAX, sizeof *out->name);
    /* Split by hand rather than with strtok, so that empty entries
     * ("data,,owt", a trailing comma) are errors, not skipped. */
    char *buf = soap_xstrdup(list);
    unsigned long nrandom = 0;
    soap_status st = SOAP_OK;
    for (char *p = buf; st == SOAP_OK;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (*p == '\0')
            st = soap_error_set(err, SOAP_ERR_INVALID,
                                "strategy list '%s': empty entry; expected a comma-separated "
                                "list of built-in strategies (data, model, owt, expert, "
                                "random, random:K) and strategy files",
                                list);
        else
            st = expand_entry(p, g, m, seed, &nrandom, out, err);
        if (!comma)
            break;
        p = comma + 1;
    }
    free(buf);
    if (st != SOAP_OK)
        soap_strategy_list_free(out);
    return st;
}

void soap_strategy_list_free(soap_strategy_list *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->n; i++) {
        soap_strategy_free(l->s[i]);
        free(l->name[i]);
    }
    free(l->s);
    free(l->name);
    memset(l, 0, sizeof *l);
}
