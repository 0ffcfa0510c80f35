/* registry.c: the table of built-in models (soap_models), the lookup by name
 * and soap_model_load, which takes a built-in name or a model file (JSON).
 */
#include <string.h>
#include <sys/stat.h>

#include "models_internal.h"

/* In alphabetical order, as `soap models` lists them. */
static const soap_model_info models[] = {
    {"alexnet", "AlexNet, torchvision's single tower on 224x224 ImageNet (61.1M parameters)",
     soap_model_build_alexnet},
    {"inception_v3", "Inception-v3 on 299x299 ImageNet, no auxiliary head (23.8M parameters)",
     soap_model_build_inception_v3},
    {"lenet", "LeNet on 28x28 MNIST images (431k parameters; tiny, for exhaustive search)",
     soap_model_build_lenet},
    {"nmt", "LSTM translation: 4+4 layers of 1024, attention, vocabulary 32k; T steps",
     soap_model_build_nmt},
    {"resnet101", "ResNet-101 on 224x224 ImageNet (44.5M parameters)",
     soap_model_build_resnet101},
    {"resnet152", "ResNet-152 on 224x224 ImageNet (60.2M parameters)",
     soap_model_build_resnet152},
    {"resnet50", "ResNet-50 on 224x224 ImageNet (25.6M parameters)",
     soap_model_build_resnet50},
    {"rnnlm", "RNN language model: 2 LSTM layers of 1024, vocabulary 10k; T steps",
     soap_model_build_rnnlm},
    {"rnntc", "RNN text classifier: embedding, 4 LSTM layers of 1024, 2 classes; T steps",
     soap_model_build_rnntc},
    {"transformer", "BERT-base-like encoder: L layers of 768, 12 heads, sequence S",
     soap_model_build_transformer},
    {"vgg16", "VGG-16 (configuration D) on 224x224 ImageNet (138.4M parameters)",
     soap_model_build_vgg16},
    {NULL, NULL, NULL},
};

const soap_model_info *soap_models(void)
{
    return models;
}

const soap_model_info *soap_model_find(const char *name)
{
    if (!name)
        return NULL;
    for (const soap_model_info *m = models; m->name; m++)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

soap_graph *soap_model_load(const char *name_or_path, const soap_model_options *opt,
                            soap_error *err)
{
    if (!name_or_path || !name_or_path[0]) {
        soap_error_set(err, SOAP_ERR_INVALID, "model: expected a built-in name or a file");
        return NULL;
    }
    const soap_model_info *m = soap_model_find(name_or_path);
    if (m) {
        /* Options <= 0 mean the defaults (the builders apply them). */
        return m->build(opt);
    }
    /* A path: an existing file, or a .json name (so that a missing file
     * gets the reader's "cannot open" rather than "unknown model"). */
    struct stat st;
    if (stat(name_or_path, &st) == 0 || ends_with(name_or_path, ".json"))
        return soap_graph_read_json(name_or_path, err);
    char list[256] = "";
    size_t used = 0;
    for (const soap_model_info *k = models; k->name; k++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", k->name);
        SOAP_ASSERT(w > 0 && (size_t)w < sizeof list - used);
        used += (size_t)w;
    }
    soap_error_set(err, SOAP_ERR_NOT_FOUND,
                   "unknown model '%s' (built-in models: %s; or a model file, *.json)",
                   name_or_path, list);
    return NULL;
}
