/* RGB canvas drawing primitives (see canvas.h). */
#include "output/canvas.h"

#include <stdlib.h>
#include <string.h>

#include "image/png_encode.h"
#include "util/error.h"

#define CANVAS_MAX_PIXELS (1ull << 30)

ct_status ct_canvas_new(ct_canvas *c, int width, int height, ct_rgb fill, ct_error *err) {
    memset(c, 0, sizeof *c);
    if (width <= 0 || height <= 0)
        return ct_fail(err, CT_E_ARG, "picture size %d x %d is not positive", width, height);
    if ((uint64_t)width * (uint64_t)height > CANVAS_MAX_PIXELS)
        return ct_fail(err, CT_E_LIMIT, "picture size %d x %d is over the limit of 2^30 pixels", width, height);
    size_t n = (size_t)width * (size_t)height;
    c->rgb = malloc(n * 3);
    if (!c->rgb) return ct_fail(err, CT_E_NOMEM, "out of memory for a %d x %d picture", width, height);
    c->width = width;
    c->height = height;
    for (size_t i = 0; i < n; i++) {
        c->rgb[3 * i] = fill.r;
        c->rgb[3 * i + 1] = fill.g;
        c->rgb[3 * i + 2] = fill.b;
    }
    return CT_OK;
}

void ct_canvas_free(ct_canvas *c) {
    free(c->rgb);
    memset(c, 0, sizeof *c);
}

void ct_canvas_paste(ct_canvas *c, const uint8_t *pixels, int width, int height, int channels) {
    int w = width < c->width ? width : c->width, h = height < c->height ? height : c->height;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *p = pixels + ((size_t)y * (size_t)width + (size_t)x) * (size_t)channels;
            ct_canvas_set(c, x, y, channels >= 3 ? (ct_rgb){p[0], p[1], p[2]} : (ct_rgb){p[0], p[0], p[0]});
        }
}

static int inside(const ct_canvas *c, int x, int y) { return x >= 0 && y >= 0 && x < c->width && y < c->height; }

static uint8_t *at(const ct_canvas *c, int x, int y) {
    return c->rgb + ((size_t)y * (size_t)c->width + (size_t)x) * 3;
}

ct_rgb ct_canvas_get(const ct_canvas *c, int x, int y) {
    const uint8_t *p = at(c, x, y);
    return (ct_rgb){p[0], p[1], p[2]};
}

void ct_canvas_set(ct_canvas *c, int x, int y, ct_rgb color) {
    if (!inside(c, x, y)) return;
    uint8_t *p = at(c, x, y);
    p[0] = color.r;
    p[1] = color.g;
    p[2] = color.b;
}

uint8_t ct_blend_channel(uint8_t in, uint8_t color, int alpha) {
    return (uint8_t)((in * (256 - alpha) + color * alpha + 128) >> 8);
}

void ct_canvas_blend(ct_canvas *c, int x, int y, ct_rgb color, int alpha) {
    if (!inside(c, x, y)) return;
    uint8_t *p = at(c, x, y);
    p[0] = ct_blend_channel(p[0], color.r, alpha);
    p[1] = ct_blend_channel(p[1], color.g, alpha);
    p[2] = ct_blend_channel(p[2], color.b, alpha);
}

static int clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void ct_canvas_fill(ct_canvas *c, int x0, int y0, int x1, int y1, ct_rgb color) {
    x0 = clamp(x0, 0, c->width);
    x1 = clamp(x1, 0, c->width);
    y0 = clamp(y0, 0, c->height);
    y1 = clamp(y1, 0, c->height);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) ct_canvas_set(c, x, y, color);
}

void ct_canvas_outline(ct_canvas *c, int x0, int y0, int x1, int y1, int thickness, ct_rgb color) {
    ct_canvas_fill(c, x0, y0, x1, y0 + thickness, color);
    ct_canvas_fill(c, x0, y1 - thickness, x1, y1, color);
    ct_canvas_fill(c, x0, y0, x0 + thickness, y1, color);
    ct_canvas_fill(c, x1 - thickness, y0, x1, y1, color);
}

ct_status ct_canvas_write_png(const ct_canvas *c, const char *path, ct_error *err) {
    return ct_png_write(path, c->rgb, c->width, c->height, 3, err);
}
