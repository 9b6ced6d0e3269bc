/* libFuzzer target: inflate of arbitrary zlib and raw deflate streams. */
#include <stdint.h>
#include <stdlib.h>

#include "image/inflate.h"

#define MAX_OUT (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t out[MAX_OUT];
    size_t n = 0;
    ct_error err;
    ct_inflate_zlib(data, size, out, MAX_OUT, &n, &err);
    uint8_t *raw = NULL;
    if (ct_inflate_raw_alloc(data, size, MAX_OUT, &raw, &n, NULL, &err) == CT_OK) free(raw);
    return 0;
}
