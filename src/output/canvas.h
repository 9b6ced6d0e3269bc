/* An RGB picture to draw on: filled and outlined rectangles, blending, every
 * operation clipped to the picture. */
#ifndef CT_OUTPUT_CANVAS_H
#define CT_OUTPUT_CANVAS_H

#include <stdint.h>

#include "ctinfer.h"
#include "output/palette.h"

typedef struct {
    int width, height;
    uint8_t *rgb;          /* [height, width, 3] */
} ct_canvas;

/* Allocates a width x height canvas filled with `fill` (free with
 * ct_canvas_free). CT_E_ARG on a size <= 0, CT_E_LIMIT past 2^30 pixels. */
ct_status ct_canvas_new(ct_canvas *c, int width, int height, ct_rgb fill, ct_error *err);
void ct_canvas_free(ct_canvas *c);

/* Copies an 8-bit gray (channels 1, as three equal channels) or RGB
 * (channels 3) picture [height, width, channels] to the canvas at (0, 0). */
void ct_canvas_paste(ct_canvas *c, const uint8_t *pixels, int width, int height, int channels);

ct_rgb ct_canvas_get(const ct_canvas *c, int x, int y);   /* (x, y) inside the canvas */
void ct_canvas_set(ct_canvas *c, int x, int y, ct_rgb color);

/* out = (in * (256 - alpha) + color * alpha + 128) >> 8 per channel, alpha in [0, 256]. */
uint8_t ct_blend_channel(uint8_t in, uint8_t color, int alpha);
void ct_canvas_blend(ct_canvas *c, int x, int y, ct_rgb color, int alpha);

/* Fills [x0, x1) x [y0, y1). */
void ct_canvas_fill(ct_canvas *c, int x0, int y0, int x1, int y1, ct_rgb color);

/* The outline of [x0, x1) x [y0, y1), `thickness` pixels wide inside it. */
void ct_canvas_outline(ct_canvas *c, int x0, int y0, int x1, int y1, int thickness, ct_rgb color);

/* The canvas as an RGB PNG, written atomically. */
ct_status ct_canvas_write_png(const ct_canvas *c, const char *path, ct_error *err);

#endif
