/* The reference twin of ct_conv2d: the direct seven-loop convolution (batch
 * of one), taps summed in (c, ky, kx) order, then bias, residual, ReLU. */
#include "conv.h"

void ct_conv2d_naive(const ct_conv_params *p, const float *x, const float *weight,
                     const float *bias, const float *residual, int relu, float *y) {
    int ho = ct_conv_out_size(p->h, p->kh, p->stride, p->pad);
    int wo = ct_conv_out_size(p->w, p->kw, p->stride, p->pad);
    for (int o = 0; o < p->cout; o++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                float v = 0.0f;
                for (int c = 0; c < p->cin; c++)
                    for (int ky = 0; ky < p->kh; ky++)
                        for (int kx = 0; kx < p->kw; kx++) {
                            int iy = oy * p->stride - p->pad + ky, ix = ox * p->stride - p->pad + kx;
                            if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) continue;
                            v += x[((size_t)c * p->h + iy) * p->w + ix] *
                                 weight[(((size_t)o * p->cin + c) * p->kh + ky) * p->kw + kx];
                        }
                size_t at = ((size_t)o * ho + oy) * wo + ox;
                if (bias) v += bias[o];
                if (residual) v += residual[at];
                if (relu && v < 0.0f) v = 0.0f;
                y[at] = v;
            }
}
