/* Image to backbone input, in PyTorch's order and float32 arithmetic:
 * ToTensor (x/255), normalize ((x-mean)/std), bilinear resize, zero pad. */
#include "net/preprocess.h"

#include <math.h>
#include <string.h>

#include "resize.h"
#include "util/error.h"

static double resize_scale(int orig_h, int orig_w, int min_size, int max_size) {
    double lo = orig_h < orig_w ? orig_h : orig_w;
    double hi = orig_h < orig_w ? orig_w : orig_h;
    double scale = (double)min_size / lo;
    if (hi * scale > (double)max_size) scale = (double)max_size / hi;
    return scale;
}

void ct_resized_size(int orig_h, int orig_w, int min_size, int max_size, int *h, int *w) {
    double scale = resize_scale(orig_h, orig_w, min_size, max_size);
    *h = (int)floor((double)orig_h * scale);
    *w = (int)floor((double)orig_w * scale);
}

static int round_up(int v, int m) { return m > 1 ? (v + m - 1) / m * m : v; }

ct_status ct_preprocess(const ct_image *img, const float mean[3], const float std[3],
                        int min_size, int max_size, int size_divisible, ct_arena *arena,
                        ct_input *out, ct_error *err) {
    int H = img->height, W = img->width, C = img->channels;
    out->orig_h = H;
    out->orig_w = W;
    ct_resized_size(H, W, min_size, max_size, &out->h, &out->w);
    if (out->h < 1 || out->w < 1)
        return ct_fail(err, CT_E_LIMIT, "a %dx%d image resizes to nothing", W, H);
    out->padded_h = round_up(out->h, size_divisible);
    out->padded_w = round_up(out->w, size_divisible);

    float *padded = ct_arena_floats(arena, (size_t)3 * out->padded_h * out->padded_w);
    ct_arena_mark mark = ct_arena_get_mark(arena);
    float *norm = ct_arena_floats(arena, (size_t)3 * H * W);               /* [3,H,W] */
    float *resized = ct_arena_floats(arena, (size_t)3 * out->h * out->w);  /* [3,h,w] */
    if (!padded || !norm || !resized)
        return ct_fail(err, CT_E_NOMEM, "out of memory for a %dx%d image", W, H);
    for (int c = 0; c < 3; c++) {
        int src_c = C == 1 ? 0 : c;
        float *plane = norm + (size_t)c * H * W;
        for (size_t i = 0; i < (size_t)H * W; i++) {
            float x = (float)img->pixels[i * C + src_c] / 255.0f;
            plane[i] = (x - mean[c]) / std[c];
        }
    }
    /* The resize always runs (an exact copy at scale 1), as in the original. */
    ct_resize_bilinear(norm, 3, H, W, resized, out->h, out->w, 0.0, 0.0);

    memset(padded, 0, (size_t)3 * out->padded_h * out->padded_w * sizeof(float));
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < out->h; y++)
            memcpy(padded + ((size_t)c * out->padded_h + y) * out->padded_w,
                   resized + ((size_t)c * out->h + y) * out->w, (size_t)out->w * sizeof(float));
    ct_arena_release(arena, mark);
    out->tensor = padded;
    return CT_OK;
}
