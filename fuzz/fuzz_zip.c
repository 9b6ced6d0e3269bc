/* libFuzzer target: the ZIP reader (tools/convert/zip.c) on any bytes, as
 * given and with every record's CRC repaired. Every record it lists must be
 * found by name, and a record it reads must lie inside the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repair.h"
#include "zip.h"

static void read_all(const uint8_t *data, size_t size) {
    ct_zip z;
    ct_error err;
    err.message[0] = '\0';
    if (ct_zip_open(&z, data, size, &err) != CT_OK) {
        if (!err.message[0]) abort();
        return;
    }
    for (size_t i = 0; i < z.num_entries; i++) {
        ct_zip_entry *e = &z.entries[i];
        ct_zip_entry *found = ct_zip_find(&z, e->name, e->name_len);
        if (!found || found->name_len != e->name_len || memcmp(found->name, e->name, e->name_len)) abort();
        const uint8_t *bytes;
        err.message[0] = '\0';
        if (ct_zip_read(&z, e, &bytes, &err) == CT_OK) {
            if (bytes < data || (size_t)(bytes - data) > size || e->size > size - (size_t)(bytes - data)) abort();
        } else if (!err.message[0]) {
            abort();
        }
    }
    ct_zip_close(&z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    read_all(data, size);
    uint8_t *repaired = malloc(size ? size : 1);
    memcpy(repaired, data, size);
    fuzz_repair_zip(repaired, size);
    read_all(repaired, size);
    free(repaired);
    return 0;
}
