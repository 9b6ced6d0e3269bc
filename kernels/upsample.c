/* Nearest-neighbour upsampling added into a destination, the FPN's top-down
 * step, with PyTorch's 'nearest' index rule for a given output size. */
#include "conv.h"

#include <math.h>

/* Source index of output index d: floor(d * (in/out as float)), at most in-1.
 * PyTorch special-cases out == in and out == 2*in; this formula gives the
 * same indices there. */
static int nearest_index(int d, int in, int out) {
    float scale = (float)in / (float)out;
    int s = (int)floorf((float)d * scale);
    return s < in - 1 ? s : in - 1;
}

void ct_upsample_nearest_add(const float *src, int c, int hs, int ws, float *dst, int hd, int wd) {
    if (hs <= 0 || ws <= 0) return;
    for (int ch = 0; ch < c; ch++) {
        const float *sc = src + (size_t)ch * hs * ws;   /* [hs,ws] */
        float *dc = dst + (size_t)ch * hd * wd;         /* [hd,wd] */
        for (int y = 0; y < hd; y++) {
            const float *srow = sc + (size_t)nearest_index(y, hs, hd) * ws;
            float *drow = dc + (size_t)y * wd;
            for (int x = 0; x < wd; x++) drow[x] += srow[nearest_index(x, ws, wd)];
        }
    }
}
