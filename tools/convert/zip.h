/* Read-only ZIP archive access over a buffer: the central directory (zip64
 * records tolerated), stored entries only, each record's CRC-32 checked the
 * first time it is read. This is the container of torch >= 1.6 checkpoints. */
#ifndef CT_CONVERT_ZIP_H
#define CT_CONVERT_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct {
    const char *name;        /* inside the buffer, not NUL-terminated */
    size_t name_len;
    uint64_t local_offset;   /* of the local file header */
    uint64_t size;           /* uncompressed = compressed (stored) */
    uint64_t compressed_size;
    uint32_t crc32;
    uint16_t method, flags;
    int crc_checked;
} ct_zip_entry;

typedef struct {
    const uint8_t *data;
    size_t size;
    ct_zip_entry *entries;   /* sorted by name */
    size_t num_entries;
} ct_zip;

/* Nonzero when data starts like a ZIP archive (a local file header). */
int ct_zip_detect(const uint8_t *data, size_t size);
/* Reads the central directory of data[0, size); data must outlive z. */
ct_status ct_zip_open(ct_zip *z, const uint8_t *data, size_t size, ct_error *err);
void ct_zip_close(ct_zip *z);
/* The entry named exactly name[0, len), or NULL. */
ct_zip_entry *ct_zip_find(const ct_zip *z, const char *name, size_t len);
/* The bytes of entry e (stored, CRC verified once); fails naming the entry. */
ct_status ct_zip_read(const ct_zip *z, ct_zip_entry *e, const uint8_t **bytes, ct_error *err);

#endif
