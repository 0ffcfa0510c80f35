/* registry.c: the table of built-in strategies (soap_strategy_registry), the
 * lookup by name, and soap_strategy_load, which takes a built-in name or a
 * strategy file (JSON).
 */
#include <string.h>
#include <sys/stat.h>

#include "strategies_internal.h"

/* In the order `soap strategies` lists them: the baselines first. */
static const soap_strategy_ops *const registry[] = {
    &soap_strategy_data, &soap_strategy_model, &soap_strategy_owt, &soap_strategy_expert,
    &soap_strategy_random, NULL,
};

const soap_strategy_ops *const *soap_strategy_registry(void)
{
    return registry;
}

const soap_strategy_ops *soap_strategy_find(const char *name)
{
    if (!name)
        return NULL;
    for (const soap_strategy_ops *const *r = registry; *r; r++)
        if (strcmp((*r)->name, name) == 0)
            return *r;
    return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

soap_strategy *soap_strategy_load(const char *name_or_path, const soap_graph *g,
                                  const soap_machine *m,
                                  const soap_strategy_options *opt, soap_error *err)
{
    if (!name_or_path || !name_or_path[0] || !g || !m) {
        soap_error_set(err, SOAP_ERR_INVALID,
                       "strategy: expected a built-in name or a file, a graph and a machine");
        return NULL;
    }
    const soap_strategy_ops *ops = soap_strategy_find(name_or_path);
    if (ops) {
        soap_strategy_options defaults = {.seed = 0};
        soap_strategy *s = soap_strategy_new(g, m);
        soap_status st = ops->build(g, m, opt ? opt : &defaults, s, err);
        /* A built-in is code, but it meets graphs and machines from files;
         * check what it made rather than trust it. */
        if (st == SOAP_OK)
            st = soap_strategy_check(s, g, m, err);
        if (st != SOAP_OK) {
            soap_error_prefix(err, "strategy '%s' for model '%s' on machine '%s'", ops->name,
                              g->name, m->name);
            soap_strategy_free(s);
            return NULL;
        }
        return s;
    }
    /* A path: an existing file, or a .json name (so that a missing file gets
     * the reader's "cannot open" rather than "unknown strategy"). */
    struct stat sb;
    if (stat(name_or_path, &sb) == 0 || ends_with(name_or_path, ".json"))
        return soap_strategy_read_json(name_or_path, g, m, err);
    char list[256] = "";
    size_t used = 0;
    for (const soap_strategy_ops *const *r = registry; *r; r++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", (*r)->name);
        SOAP_ASSERT(w > 0 && (size_t)w < sizeof list - used);
        used += (size_t)w;
    }
    soap_error_set(err, SOAP_ERR_NOT_FOUND,
                   "unknown strategy '%s' (built-in strategies: %s; or a strategy file, *.json)",
                   name_or_path, list);
    return NULL;
}
