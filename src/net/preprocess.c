/* Image to backbone input, in PyTorch's order and float32 arithmetic:
 * ToTensor (x/255), normalize ((x-mean)/std), bilinear resize, zero pad.
 * At scale 1 the resize is an exact copy and is skipped. Rows are written
 * in bands on the pool, padding included (nothing is cleared beforehand). */
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

/* Rows of a [3,ph,pw] tensor, each the image's row (normalized from the
 * pixels through the tables, or copied from a [3,h,w] float image) and zero
 * beyond it: padding columns right of x = w, padding rows below y = h. */
typedef struct {
    const ct_image *img;              /* its pixels (w x h), when from is NULL */
    const float *table;               /* [3][256] */
    const float *from;                /* [3,h,w] rows to copy, or NULL */
    int h, w, ph, pw;
    float *dst;                       /* [3,ph,pw] */
} rows_job;

enum { BAND_ROWS = 16 };   /* rows per task: a 512-row tensor is 32 tasks */

static void fill_row(const rows_job *j, int c, int y, float *dst) {
    if (y >= j->h) {
        memset(dst, 0, (size_t)j->pw * sizeof *dst);
        return;
    }
    if (j->from) {
        memcpy(dst, j->from + ((size_t)c * j->h + y) * j->w, (size_t)j->w * sizeof *dst);
    } else {
        int C = j->img->channels;
        const uint8_t *pixels = j->img->pixels + (size_t)y * j->w * C + (C == 1 ? 0 : c);
        for (int x = 0; x < j->w; x++) dst[x] = j->table[c * 256 + pixels[(size_t)x * C]];
    }
    memset(dst + j->w, 0, (size_t)(j->pw - j->w) * sizeof *dst);
}

static void fill_band(void *arg, int band, int thread) {
    (void)thread;
    const rows_job *j = arg;
    for (int c = 0; c < 3; c++)
        for (int y = band * BAND_ROWS, y1 = ct_block_end(band, BAND_ROWS, j->ph); y < y1; y++)
            fill_row(j, c, y, j->dst + ((size_t)c * j->ph + y) * j->pw);
}

static void fill_rows(ct_pool *pool, rows_job *j) { ct_pool_run(pool, ct_blocks(j->ph, BAND_ROWS), fill_band, j); }

ct_status ct_preprocess(const ct_image *img, const float mean[3], const float std[3],
                        int min_size, int max_size, int size_divisible, ct_arena *arena, ct_pool *pool,
                        ct_input *out, ct_error *err) {
    int H = img->height, W = img->width;
    out->orig_h = H;
    out->orig_w = W;
    ct_resized_size(H, W, min_size, max_size, &out->h, &out->w);
    if (out->h < 1 || out->w < 1)
        return ct_fail(err, CT_E_LIMIT, "a %dx%d image resizes to nothing", W, H);
    out->padded_h = round_up(out->h, size_divisible);
    out->padded_w = round_up(out->w, size_divisible);
    int ph = out->padded_h, pw = out->padded_w;

    float *padded = ct_arena_floats(arena, (size_t)3 * ph * pw);   /* [3,ph,pw] */
    if (!padded) return ct_fail(err, CT_E_NOMEM, "out of memory for a %dx%d image", W, H);
    out->tensor = padded;
    float table[3 * 256];
    for (int c = 0; c < 3; c++) normalize_table(mean[c], std[c], table + 256 * c);
    if (out->h == H && out->w == W) {
        /* Scale 1: the original's resize is an exact copy: normalize straight into place. */
        fill_rows(pool, &(rows_job){img, table, NULL, H, W, ph, pw, padded});
        return CT_OK;
    }
    ct_arena_mark mark = ct_arena_get_mark(arena);
    float *norm = ct_arena_floats(arena, (size_t)3 * H * W);               /* [3,H,W] */
    float *resized = ct_arena_floats(arena, (size_t)3 * out->h * out->w);  /* [3,h,w] */
    if (!norm || !resized)
        return ct_fail(err, CT_E_NOMEM, "out of memory for a %dx%d image", W, H);
    fill_rows(pool, &(rows_job){img, table, NULL, H, W, H, W, norm});
    ct_resize_bilinear(norm, 3, H, W, resized, out->h, out->w, 0.0, 0.0);
    fill_rows(pool, &(rows_job){img, table, resized, out->h, out->w, ph, pw, padded});
    ct_arena_release(arena, mark);
    return CT_OK;
}
