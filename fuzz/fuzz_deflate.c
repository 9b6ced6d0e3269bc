/* libFuzzer target: the deflate encoder in both modes; inflating its output
 * must give back the input exactly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/deflate.h"
#include "image/inflate.h"

static void round_trip(const uint8_t *data, size_t size, ct_deflate_mode mode, uint8_t *out) {
    uint8_t *z = NULL;
    size_t zlen = 0, n = 0;
    ct_error err;
    if (ct_zlib_compress(data, size, mode, &z, &zlen, &err) != CT_OK) return;
    if (ct_inflate_zlib(z, zlen, out, size, &n, &err) != CT_OK || n != size || memcmp(out, data, size) != 0)
        abort();
    free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *out = malloc(size ? size : 1);
    round_trip(data, size, CT_DEFLATE_FIXED, out);
    round_trip(data, size, CT_DEFLATE_STORED, out);
    free(out);
    return 0;
}
