/* Facts of the PNG format shared by the decoder and the encoder: signature,
 * color types and the filter predictors. */
#ifndef CT_IMAGE_PNG_COMMON_H
#define CT_IMAGE_PNG_COMMON_H

#include <stdint.h>
#include <stdlib.h>

static const uint8_t ct_png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

enum { CT_PNG_GRAY = 0, CT_PNG_RGB = 2, CT_PNG_PALETTE = 3, CT_PNG_GRAY_ALPHA = 4, CT_PNG_RGBA = 6 };

/* Prediction of filter type f (0 none, 1 sub, 2 up, 3 average, 4 Paeth) from
 * the bytes a (left), b (above) and c (above left). */
static inline uint8_t ct_png_predict(int f, uint8_t a, uint8_t b, uint8_t c) {
    switch (f) {
    case 0: return 0;
    case 1: return a;
    case 2: return b;
    case 3: return (uint8_t)((a + b) >> 1);
    default: {
        int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
        if (pa <= pb && pa <= pc) return a;
        return pb <= pc ? b : c;
    }
    }
}

#endif
