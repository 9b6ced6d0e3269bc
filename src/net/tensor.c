/* Layer helpers shared by the network stages. */
#include "net/tensor.h"

#include "conv.h"
#include "gemm.h"
#include "util/error.h"
#include "winograd.h"

ct_fmap ct_conv_layer_shape(const ct_conv_layer *layer, const ct_fmap *x) {
    return (ct_fmap){layer->cout, ct_conv_out_size(x->h, layer->kh, layer->stride, layer->pad),
                     ct_conv_out_size(x->w, layer->kw, layer->stride, layer->pad), NULL};
}

static size_t layer_workspace(const ct_conv_layer *l) {
    return l->winograd ? ct_winograd_workspace_floats(l->cin, l->cout) : 0;
}

size_t ct_network_workspace_floats(const ct_network *net) {
    size_t most = layer_workspace(&net->stem);
#define CONSIDER(l) most = layer_workspace(l) > most ? layer_workspace(l) : most
    for (int l = 0; l < net->num_layers; l++)
        for (int b = 0; b < net->num_blocks[l]; b++)
            for (int k = 0; k < net->blocks[l][b].num_convs; k++) CONSIDER(&net->blocks[l][b].conv[k]);
    for (int i = 0; i < net->num_levels; i++) CONSIDER(&net->fpn_layer[i]);
    CONSIDER(&net->rpn_conv);
    for (int i = 0; i < net->num_mask_convs; i++) CONSIDER(&net->mask_conv[i]);
#undef CONSIDER
    size_t deconv = net->deconv_cout > 0 ? ct_deconv_workspace_floats(net->deconv_cout) : 0;
    return deconv > most ? deconv : most;
}

void ct_conv_layer_apply(ct_session *s, const ct_conv_layer *layer, const ct_conv_params *p, const float *x,
                         const float *residual, int relu, float *y) {
    if (layer->winograd) ct_winograd_conv(s->gemm, p, x, layer->packed, layer->bias, residual, relu, y);
    else ct_conv2d(s->gemm, p, x, layer->packed, layer->bias, residual, relu, y);
    int ho = ct_conv_out_size(p->h, p->kh, p->stride, p->pad), wo = ct_conv_out_size(p->w, p->kw, p->stride, p->pad);
    s->flops += 2.0 * p->cout * p->batch * (double)ho * wo * p->cin * p->kh * p->kw;
}

void ct_conv_layer_into(ct_session *s, const ct_conv_layer *layer, const ct_fmap *x, const ct_fmap *residual,
                        int relu, const ct_fmap *y) {
    ct_conv_params p = {x->c, x->h, x->w, layer->cout, layer->kh, layer->kw, layer->stride, layer->pad, 1, 0};
    ct_conv_layer_apply(s, layer, &p, x->data, residual ? residual->data : NULL, relu, y->data);
}

ct_status ct_conv_layer_run(ct_session *s, const ct_conv_layer *layer, const ct_fmap *x,
                            const ct_fmap *residual, int relu, ct_fmap *y, ct_error *err) {
    *y = ct_conv_layer_shape(layer, x);
    y->data = ct_arena_floats(&s->arena, (size_t)y->c * y->h * y->w);
    if (!y->data)
        return ct_fail(err, CT_E_NOMEM, "out of memory for a %dx%dx%d feature map", y->c, y->h, y->w);
    ct_conv_layer_into(s, layer, x, residual, relu, y);
    return CT_OK;
}

void ct_linear_run(ct_session *s, const ct_linear_layer *layer, const float *x, ptrdiff_t rs, ptrdiff_t cs,
                   int cols, int relu, float *y, ptrdiff_t ldy) {
    s->flops += 2.0 * cols * layer->in * (double)layer->out;
    ct_epilogue ep = {.bias_m = layer->bias, .relu = relu};
    ct_gemm_b b = ct_gemm_b_matrix(x, rs, cs, cols);
    ct_gemm_run(s->gemm, layer->out, cols, layer->in, layer->packed, &b, y, ldy, &ep);
}
