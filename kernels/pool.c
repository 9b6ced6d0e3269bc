/* Max pooling as PyTorch's MaxPool2d (floor mode, no dilation): the window is
 * cut to the image, which is what -inf padding means, and a NaN wins. */
#include "conv.h"

#include <math.h>

void ct_maxpool2d(const float *x, int c, int h, int w, int k, int stride, int pad, float *y) {
    int ho = ct_conv_out_size(h, k, stride, pad), wo = ct_conv_out_size(w, k, stride, pad);
    for (int ch = 0; ch < c; ch++) {
        const float *xc = x + (size_t)ch * h * w;   /* [h,w] */
        float *yc = y + (size_t)ch * ho * wo;        /* [ho,wo] */
        for (int oy = 0; oy < ho; oy++) {
            int y0 = oy * stride - pad, y1 = y0 + k < h ? y0 + k : h;
            if (y0 < 0) y0 = 0;
            for (int ox = 0; ox < wo; ox++) {
                int x0 = ox * stride - pad, x1 = x0 + k < w ? x0 + k : w;
                if (x0 < 0) x0 = 0;
                float m = -INFINITY;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++) {
                        float v = xc[(size_t)iy * w + ix];
                        if (v > m || isnan(v)) m = v;
                    }
                yc[(size_t)oy * wo + ox] = m;
            }
        }
    }
}
