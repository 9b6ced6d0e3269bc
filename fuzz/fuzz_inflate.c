/* libFuzzer target: inflate of arbitrary zlib and raw deflate streams, and
 * the deflate encoder's round trip (which must reproduce the input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/deflate.h"
#include "image/inflate.h"

#define MAX_OUT (1u << 20)

static void round_trip(const uint8_t *data, size_t size, ct_deflate_mode mode, uint8_t *out) {
    uint8_t *z = NULL;
    size_t zlen = 0, n = 0;
    ct_error err;
    if (ct_zlib_compress(data, size, mode, &z, &zlen, &err) != CT_OK) return;
    if (ct_inflate_zlib(z, zlen, out, MAX_OUT, &n, &err) != CT_OK || n != size || memcmp(out, data, size) != 0)
        abort();
    free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t out[MAX_OUT];
    size_t n = 0;
    ct_error err;
    ct_inflate_zlib(data, size, out, MAX_OUT, &n, &err);
    uint8_t *raw = NULL;
    if (ct_inflate_raw_alloc(data, size, MAX_OUT, &raw, &n, NULL, &err) == CT_OK) free(raw);
    if (size <= MAX_OUT / 2) {
        round_trip(data, size, CT_DEFLATE_FIXED, out);
        round_trip(data, size, CT_DEFLATE_STORED, out);
    }
    return 0;
}
