/* The reference twin of ct_conv2d: the direct seven-loop convolution, image
 * by image, taps summed in (c, ky, kx) order, then bias, residual, ReLU. */
#include "conv.h"

/* One image: channel c of it at x[c*in_stride] ([h,w]); output channel o at
 * y[o*out_stride] ([ho,wo]). */
static void conv_image(const ct_conv_params *p, int ho, int wo, const float *x, size_t in_stride,
                       const float *weight, const float *bias, const float *residual, int relu, float *y,
                       size_t out_stride) {
    for (int o = 0; o < p->cout; o++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                float v = 0.0f;
                for (int c = 0; c < p->cin; c++)
                    for (int ky = 0; ky < p->kh; ky++)
                        for (int kx = 0; kx < p->kw; kx++) {
                            int iy = oy * p->stride - p->pad + ky, ix = ox * p->stride - p->pad + kx;
                            if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) continue;
                            v += x[c * in_stride + (size_t)iy * p->w + ix] *
                                 weight[(((size_t)o * p->cin + c) * p->kh + ky) * p->kw + kx];
                        }
                size_t at = o * out_stride + (size_t)oy * wo + ox;
                if (bias) v += bias[o];
                if (residual) v += residual[at];
                if (relu && v < 0.0f) v = 0.0f;
                y[at] = v;
            }
}

void ct_conv2d_naive(const ct_conv_params *p, const float *x, const float *weight,
                     const float *bias, const float *residual, int relu, float *y) {
    int ho = ct_conv_out_size(p->h, p->kh, p->stride, p->pad);
    int wo = ct_conv_out_size(p->w, p->kw, p->stride, p->pad);
    size_t plane = (size_t)p->h * p->w, image_out = (size_t)ho * wo;
    size_t image_in = p->channel_major ? plane : plane * p->cin;       /* between images of x */
    size_t in_stride = p->channel_major ? plane * p->batch : plane;    /* between channels of x */
    size_t out_stride = (size_t)p->batch * image_out;                  /* y [cout, batch, ho, wo] */
    for (int b = 0; b < p->batch; b++)
        conv_image(p, ho, wo, x + b * image_in, in_stride, weight, bias, residual ? residual + b * image_out : NULL,
                   relu, y + b * image_out, out_stride);
}
