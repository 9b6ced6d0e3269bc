/* Image to backbone input, in PyTorch's order and float32 arithmetic:
 * ToTensor (x/255), normalize ((x-mean)/std), bilinear resize, zero pad.
 * At scale 1 the resize is an exact copy and is skipped. */
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

/* (pixel/255 - mean)/std in float32, as PyTorch computes it, for each of
 * the 256 pixel values: rows are then normalized by lookup, two divisions
 * per value instead of per pixel. */
static void normalize_table(float mean, float std, float table[256]) {
    for (int p = 0; p < 256; p++) table[p] = ((float)p / 255.0f - mean) / std;
}

/* One row of channel c through its table. */
static void normalize_row(const uint8_t *pixels, int channels, int c, int n, const float table[256], float *dst) {
    for (int x = 0; x < n; x++) dst[x] = table[pixels[(size_t)x * channels + c]];
}

/* The zero padding of [3,ph,pw] around the image's [h,w] corner (the
 * rest is written below). */
static void zero_padding(float *padded, size_t ph, size_t pw, size_t h, size_t w) {
    for (size_t c = 0; c < 3; c++) {
        float *plane = padded + c * ph * pw;
        for (size_t y = 0; y < h && w < pw; y++) memset(plane + y * pw + w, 0, (pw - w) * sizeof(float));
        memset(plane + h * pw, 0, (ph - h) * pw * sizeof(float));
    }
}

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
    size_t ph = (size_t)out->padded_h, pw = (size_t)out->padded_w;

    float *padded = ct_arena_floats(arena, 3 * ph * pw);   /* [3,ph,pw] */
    if (!padded) return ct_fail(err, CT_E_NOMEM, "out of memory for a %dx%d image", W, H);
    zero_padding(padded, ph, pw, (size_t)out->h, (size_t)out->w);
    out->tensor = padded;
    float table[3][256];
    for (int c = 0; c < 3; c++) normalize_table(mean[c], std[c], table[c]);
    if (out->h == H && out->w == W) {
        /* Scale 1: the original's resize is an exact copy, so normalize in place. */
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < H; y++)
                normalize_row(img->pixels + (size_t)y * W * C, C, C == 1 ? 0 : c, W, table[c],
                              padded + ((size_t)c * ph + y) * pw);
        return CT_OK;
    }
    ct_arena_mark mark = ct_arena_get_mark(arena);
    float *norm = ct_arena_floats(arena, (size_t)3 * H * W);               /* [3,H,W] */
    float *resized = ct_arena_floats(arena, (size_t)3 * out->h * out->w);  /* [3,h,w] */
    if (!norm || !resized)
        return ct_fail(err, CT_E_NOMEM, "out of memory for a %dx%d image", W, H);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < H; y++)
            normalize_row(img->pixels + (size_t)y * W * C, C, C == 1 ? 0 : c, W, table[c],
                          norm + ((size_t)c * H + y) * W);
    ct_resize_bilinear(norm, 3, H, W, resized, out->h, out->w, 0.0, 0.0);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < out->h; y++)
            memcpy(padded + ((size_t)c * ph + y) * pw, resized + ((size_t)c * out->h + y) * out->w,
                   (size_t)out->w * sizeof(float));
    ct_arena_release(arena, mark);
    return CT_OK;
}
