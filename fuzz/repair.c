/* Checksum repair for the fuzz targets (see repair.h). */
#include "repair.h"

#include <string.h>

#include "model/format.h"
#include "util/crc32.h"
#include "zip.h"

static uint32_t rd_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void fuzz_repair_png(uint8_t *png, size_t len) {
    size_t pos = 8;
    while (pos + 12 <= len) {
        uint32_t n = rd_be32(png + pos);
        if (n > len - pos - 12) return;
        uint32_t crc = ct_crc32(0, png + pos + 4, (size_t)n + 4);
        for (int i = 0; i < 4; i++) png[pos + 8 + n + (size_t)i] = (uint8_t)(crc >> (24 - 8 * i));
        pos += 12 + (size_t)n;
    }
}

/* The ZIP reader locates each record; its central directory entry (46 bytes
 * before its name) receives the CRC of the bytes the local header points at. */
void fuzz_repair_zip(uint8_t *zip, size_t len) {
    ct_zip z;
    if (ct_zip_open(&z, zip, len, NULL) != CT_OK) return;
    for (size_t i = 0; i < z.num_entries; i++) {
        const ct_zip_entry *e = &z.entries[i];
        uint64_t at = e->local_offset;
        if (at > len || len - at < 30) continue;
        uint64_t start = at + 30 + (zip[at + 26] | zip[at + 27] << 8) + (zip[at + 28] | zip[at + 29] << 8);
        if (start > len || len - start < e->size) continue;
        size_t central = (size_t)((const uint8_t *)e->name - zip) - 46;
        wr_le32(zip + central + 16, ct_crc32(0, zip + start, (size_t)e->size));
    }
    ct_zip_close(&z);
}

void fuzz_repair_model(uint8_t *model, size_t len) {
    if (len < CTM_HEADER_SIZE) return;
    wr_le32(model + 72, ct_crc32(0, model + CTM_HEADER_SIZE, len - CTM_HEADER_SIZE));
    wr_le32(model + 76, ct_crc32(0, model, 76));
}
