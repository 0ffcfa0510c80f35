/* alexnet.c: AlexNet (Krizhevsky, Sutskever, Hinton, NIPS 2012), the
 * single-tower variant of torchvision (from Krizhevsky's "One weird trick",
 * 2014), on 224x224 ImageNet images.
 *
 * conv 64 11x11/4 pad 2 (55x55) -> maxpool 3/2 (27) -> conv 192 5x5 pad 2 ->
 * maxpool 3/2 (13) -> conv 384, 256, 256 3x3 pad 1 -> maxpool 3/2 (6) ->
 * flatten (256*6*6 = 9216) -> linear 4096 -> linear 4096 -> linear 1000 ->
 * softmax_ce; relu after every conv and the first two linears. Dropout is
 * left out (no op; it does not change shapes or parameters).
 * Published figures (torchvision): 61,100,840 parameters; 0.71 GFLOPS
 * (i.e. about 0.714e9 multiply-adds) per sample.
 */
#include "models_internal.h"

/* conv (with bias) + relu; returns the relu. */
static int conv_relu(soap_graph *g, const char *name, int in, int64_t c, int k, int s, int pad)
{
    char nm[SOAP_NAME_MAX];
    int x = soap_add_conv2d(g, name, in, c, k, k, s, s, pad, pad, 1);
    return soap_add_unary(g, soap_model_name(nm, "%s.relu", name), x, SOAP_UNARY_RELU);
}

soap_graph *soap_model_build_alexnet(const soap_model_options *opt)
{
    const int64_t n = soap_model_batch(opt);
    soap_graph *g = soap_graph_new("alexnet", n);
    const int64_t image[4] = {n, 3, 224, 224};
    int x = soap_add_input(g, "data", 4, image, NULL, 0);
    x = conv_relu(g, "conv1", x, 64, 11, 4, 2);
    x = soap_add_pool2d(g, "pool1", x, SOAP_POOL_MAX, 3, 3, 2, 2, 0, 0);
    x = conv_relu(g, "conv2", x, 192, 5, 1, 2);
    x = soap_add_pool2d(g, "pool2", x, SOAP_POOL_MAX, 3, 3, 2, 2, 0, 0);
    x = conv_relu(g, "conv3", x, 384, 3, 1, 1);
    x = conv_relu(g, "conv4", x, 256, 3, 1, 1);
    x = conv_relu(g, "conv5", x, 256, 3, 1, 1);
    x = soap_add_pool2d(g, "pool5", x, SOAP_POOL_MAX, 3, 3, 2, 2, 0, 0);
    x = soap_add_flatten(g, "flatten", x);
    x = soap_add_linear(g, "fc6", x, 4096, 1, -1);
    x = soap_add_unary(g, "fc6.relu", x, SOAP_UNARY_RELU);
    x = soap_add_linear(g, "fc7", x, 4096, 1, -1);
    x = soap_add_unary(g, "fc7.relu", x, SOAP_UNARY_RELU);
    x = soap_add_linear(g, "fc8", x, 1000, 1, -1);
    soap_add_softmax_ce(g, "loss", x);
    return g;
}
