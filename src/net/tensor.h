/* A feature map of batch size 1 and the layer helpers that produce one. */
#ifndef CT_NET_TENSOR_H
#define CT_NET_TENSOR_H

#include <stddef.h>

#include "conv.h"
#include "ctinfer.h"
#include "net/network.h"
#include "net/session.h"

typedef struct {
    int c, h, w;
    float *data;   /* [c,h,w] */
} ct_fmap;

/* The output shape of a layer on x. */
ct_fmap ct_conv_layer_shape(const ct_conv_layer *layer, const ct_fmap *x);

/* The per-thread workspace the network's layers need (ct_gemm_ctx_reserve). */
size_t ct_network_workspace_floats(const ct_network *net);

/* y = relu?(conv(x) + bias + residual) for the images of p (whose kernel,
 * stride and padding are the layer's), by the layer's method. Adds the
 * multiply-adds to the session's FLOP count. */
void ct_conv_layer_apply(ct_session *s, const ct_conv_layer *layer, const ct_conv_params *p, const float *x,
                         const float *residual, int relu, float *y);

/* y = relu?(conv(x) + bias + residual) into y->data (shape from
 * ct_conv_layer_shape; must not overlap x or the residual). residual may be
 * NULL. Adds the multiply-adds to the session's FLOP count. */
void ct_conv_layer_into(ct_session *s, const ct_conv_layer *layer, const ct_fmap *x, const ct_fmap *residual,
                        int relu, const ct_fmap *y);

/* The same with y allocated from the session's arena. */
ct_status ct_conv_layer_run(ct_session *s, const ct_conv_layer *layer, const ct_fmap *x,
                            const ct_fmap *residual, int relu, ct_fmap *y, ct_error *err);

/* Y = relu?(W X + b) for a linear layer applied to `cols` column vectors:
 * X [in, cols] with element (k,j) at x[k*rs + j*cs]; Y [out, cols] with
 * leading dimension ldy. (Row vectors x [cols, in] are X with rs = 1,
 * cs = in.) */
void ct_linear_run(ct_session *s, const ct_linear_layer *layer, const float *x, ptrdiff_t rs, ptrdiff_t cs,
                   int cols, int relu, float *y, ptrdiff_t ldy);

#endif
