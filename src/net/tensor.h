/* A feature map of batch size 1 and the layer helpers that produce one. */
#ifndef CT_NET_TENSOR_H
#define CT_NET_TENSOR_H

#include "ctinfer.h"
#include "net/network.h"
#include "net/session.h"

typedef struct {
    int c, h, w;
    float *data;   /* [c,h,w] */
} ct_fmap;

/* y = relu?(conv(x) + bias + residual) with y allocated from the session's
 * arena (scratch is taken and given back). residual may be NULL. Adds the
 * multiply-adds to the session's FLOP count. */
ct_status ct_conv_layer_run(ct_session *s, const ct_conv_layer *layer, const ct_fmap *x,
                            const ct_fmap *residual, int relu, ct_fmap *y, ct_error *err);

/* y[rows,out] = relu?(x[rows,in] W^T + b) for a linear layer. */
void ct_linear_run(ct_session *s, const ct_linear_layer *layer, const float *x, int rows, int relu,
                   float *y);

#endif
