/* Colours of the output pictures: the Okabe-Ito palette (distinguishable
 * with the common colour-vision deficiencies) and the viridis colour map. */
#ifndef CT_OUTPUT_PALETTE_H
#define CT_OUTPUT_PALETTE_H

#include <stdint.h>

typedef struct {
    uint8_t r, g, b;
} ct_rgb;

#define CT_PALETTE_SIZE 7

/* Okabe-Ito colour i modulo CT_PALETTE_SIZE (black left out): orange, sky
 * blue, bluish green, yellow, blue, vermillion, reddish purple. i >= 0. */
ct_rgb ct_palette(int i);

/* Black or white, whichever reads better on background bg (Rec. 709 luma). */
ct_rgb ct_text_color_on(ct_rgb bg);

/* Viridis (CC0, van der Walt, Smith and Firing) at t in [0,1], linear
 * between 33 samples; t is clamped, NaN gives the t = 0 colour. */
ct_rgb ct_viridis(float t);

#endif
