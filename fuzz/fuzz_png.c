/* libFuzzer target: PNG decoding and the model-input conversion; a decoded
 * 8-bit gray/RGB/RGBA image must survive the encoder round trip. The input
 * is also decoded with every chunk CRC repaired, so that mutations reach
 * the stages behind the CRC check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/png_decode.h"
#include "image/png_encode.h"
#include "model_input.h"
#include "repair.h"

static void check_round_trip(const ct_raster *r) {
    if (r->bit_depth != 8 || r->channels == 2) return;
    uint8_t *png = NULL;
    size_t len = 0;
    ct_error err;
    ct_raster back;
    if (ct_png_encode(r->u8, r->width, r->height, r->channels, CT_DEFLATE_FIXED, &png, &len, &err) != CT_OK) abort();
    size_t bytes = (size_t)r->width * (size_t)r->height * (size_t)r->channels;
    if (ct_png_decode(png, len, NULL, &back, &err) != CT_OK || memcmp(back.u8, r->u8, bytes) != 0) abort();
    ct_raster_free(&back);
    free(png);
}

static void decode(const uint8_t *data, size_t size, const ct_image_limits *lim) {
    ct_raster r;
    ct_error err;
    if (ct_png_decode(data, size, lim, &r, &err) == CT_OK) {
        check_round_trip(&r);
        ct_raster_free(&r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ct_image_limits lim = {1u << 20, 1u << 24};     /* keep each run small and fast */
    decode(data, size, &lim);
    uint8_t *repaired = malloc(size ? size : 1);
    memcpy(repaired, data, size);
    fuzz_repair_png(repaired, size);
    decode(repaired, size, &lim);
    free(repaired);
    fuzz_model_input(data, size, &lim);
    return 0;
}
