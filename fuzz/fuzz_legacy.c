/* libFuzzer target: the legacy torch.save stream reader (tools/convert/legacy.c)
 * on any bytes, and on the bytes behind the legacy magic number so that
 * mutations need not rediscover it. Every storage it locates must lie inside
 * the buffer and be found again by its key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "legacy.h"

#define HEAP_LIMIT (64u << 20)   /* the converter's base heap size */

static const uint8_t MAGIC[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};

static void read_stream(const uint8_t *data, size_t size) {
    ct_py_heap heap;
    ct_py_heap_init(&heap, HEAP_LIMIT);
    ct_legacy lg;
    ct_error err;
    err.message[0] = '\0';
    if (ct_legacy_open(&lg, &heap, data, size, &err) == CT_OK) {
        for (size_t i = 0; i < lg.num_storages; i++) {
            const ct_legacy_storage *s = &lg.storages[i];
            size_t at = (size_t)(s->data - data);
            if (s->data < data || at > size || s->nbytes > size - at) abort();
            if (ct_legacy_find(&lg, s->key) != s) abort();
        }
        ct_legacy_close(&lg);
    } else if (!err.message[0]) {
        abort();
    }
    ct_py_heap_free(&heap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    read_stream(data, size);
    if (ct_legacy_detect(data, size)) return 0;
    uint8_t *with_magic = malloc(sizeof MAGIC + size);
    memcpy(with_magic, MAGIC, sizeof MAGIC);
    memcpy(with_magic + sizeof MAGIC, data, size);
    read_stream(with_magic, sizeof MAGIC + size);
    free(with_magic);
    return 0;
}
