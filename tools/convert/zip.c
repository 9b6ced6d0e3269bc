/* ZIP central directory and stored-record reader (see zip.h). */
#include "zip.h"

#include <stdlib.h>
#include <string.h>

#include "util/crc32.h"

#define SIG_LOCAL   0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD    0x06054b50u
#define SIG_EOCD64  0x06064b50u
#define SIG_LOC64   0x07064b50u
#define EOCD_SIZE   22u
#define LOC64_SIZE  20u
#define EOCD64_SIZE 56u
#define CENTRAL_SIZE 46u
#define LOCAL_SIZE  30u
#define MAX_COMMENT 65535u

static uint64_t rd(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

int ct_zip_detect(const uint8_t *data, size_t size) {
    return size >= 4 && rd(data, 4) == SIG_LOCAL;
}

/* The end-of-central-directory record: the last signature that fits with its comment. */
static ct_status find_eocd(const ct_zip *z, size_t *at, ct_error *err) {
    if (z->size < EOCD_SIZE) return ct_fail(err, CT_E_FORMAT, "zip: too short for an archive");
    size_t lowest = z->size - EOCD_SIZE > MAX_COMMENT ? z->size - EOCD_SIZE - MAX_COMMENT : 0;
    for (size_t i = z->size - EOCD_SIZE + 1; i-- > lowest;) {
        const uint8_t *p = z->data + i;
        if (rd(p, 4) == SIG_EOCD && i + EOCD_SIZE + rd(p + 20, 2) == z->size) {
            *at = i;
            return CT_OK;
        }
    }
    return ct_fail(err, CT_E_FORMAT, "zip: no end-of-central-directory record (truncated?)");
}

typedef struct {
    uint64_t count, cd_size, cd_offset;
} directory;

/* zip64: the locator right before the EOCD points at the 64-bit record. */
static ct_status read_eocd64(const ct_zip *z, size_t eocd, directory *d, ct_error *err) {
    if (eocd < LOC64_SIZE || rd(z->data + eocd - LOC64_SIZE, 4) != SIG_LOC64)
        return ct_fail(err, CT_E_FORMAT, "zip: zip64 fields without a zip64 locator");
    uint64_t at = rd(z->data + eocd - LOC64_SIZE + 8, 8);
    if (at > eocd - LOC64_SIZE || eocd - LOC64_SIZE - at < EOCD64_SIZE ||
        rd(z->data + at, 4) != SIG_EOCD64)
        return ct_fail(err, CT_E_FORMAT, "zip: bad zip64 end-of-central-directory record");
    const uint8_t *p = z->data + at;
    d->count = rd(p + 32, 8);
    d->cd_size = rd(p + 40, 8);
    d->cd_offset = rd(p + 48, 8);
    return CT_OK;
}

static ct_status read_directory(const ct_zip *z, directory *d, ct_error *err) {
    size_t eocd = 0;
    ct_status st = find_eocd(z, &eocd, err);
    if (st != CT_OK) return st;
    const uint8_t *p = z->data + eocd;
    d->count = rd(p + 10, 2);
    d->cd_size = rd(p + 12, 4);
    d->cd_offset = rd(p + 16, 4);
    if (d->count == 0xFFFF || d->cd_size == 0xFFFFFFFFu || d->cd_offset == 0xFFFFFFFFu) {
        st = read_eocd64(z, eocd, d, err);
        if (st != CT_OK) return st;
    }
    if (d->cd_offset > eocd || d->cd_size > eocd - d->cd_offset)
        return ct_fail(err, CT_E_FORMAT, "zip: central directory lies outside the file");
    if (d->count > d->cd_size / CENTRAL_SIZE)
        return ct_fail(err, CT_E_FORMAT, "zip: central directory too small for %llu entries",
                       (unsigned long long)d->count);
    return CT_OK;
}

/* Applies a zip64 extended-information extra field to the fields saturated at 0xFFFFFFFF. */
static ct_status apply_zip64_extra(ct_zip_entry *e, const uint8_t *x, size_t len, ct_error *err) {
    while (len >= 4) {
        size_t id = (size_t)rd(x, 2), n = (size_t)rd(x + 2, 2);
        if (n > len - 4) break;
        if (id == 1) {
            const uint8_t *v = x + 4, *end = x + 4 + n;
            uint64_t *fields[3] = {&e->size, &e->compressed_size, &e->local_offset};
            for (int i = 0; i < 3; i++) {
                if (*fields[i] != 0xFFFFFFFFu) continue;
                if (end - v < 8) return ct_fail(err, CT_E_FORMAT, "zip: short zip64 extra field");
                *fields[i] = rd(v, 8);
                v += 8;
            }
        }
        x += 4 + n;
        len -= 4 + n;
    }
    return CT_OK;
}

static ct_status read_central(const uint8_t *p, size_t room, ct_zip_entry *e, size_t *used,
                              ct_error *err) {
    if (room < CENTRAL_SIZE || rd(p, 4) != SIG_CENTRAL)
        return ct_fail(err, CT_E_FORMAT, "zip: bad central directory entry");
    size_t name_len = (size_t)rd(p + 28, 2), extra_len = (size_t)rd(p + 30, 2);
    size_t comment_len = (size_t)rd(p + 32, 2);
    if (CENTRAL_SIZE + name_len + extra_len + comment_len > room)
        return ct_fail(err, CT_E_FORMAT, "zip: central directory entry runs past its end");
    e->flags = (uint16_t)rd(p + 8, 2);
    e->method = (uint16_t)rd(p + 10, 2);
    e->crc32 = (uint32_t)rd(p + 16, 4);
    e->compressed_size = rd(p + 20, 4);
    e->size = rd(p + 24, 4);
    e->local_offset = rd(p + 42, 4);
    e->name = (const char *)p + CENTRAL_SIZE;
    e->name_len = name_len;
    e->crc_checked = 0;
    *used = CENTRAL_SIZE + name_len + extra_len + comment_len;
    return apply_zip64_extra(e, p + CENTRAL_SIZE + name_len, extra_len, err);
}

static int entry_cmp(const void *a, const void *b) {
    const ct_zip_entry *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

ct_status ct_zip_open(ct_zip *z, const uint8_t *data, size_t size, ct_error *err) {
    memset(z, 0, sizeof *z);
    z->data = data;
    z->size = size;
    directory d;
    ct_status st = read_directory(z, &d, err);
    if (st != CT_OK) return st;
    z->entries = calloc(d.count ? (size_t)d.count : 1, sizeof *z->entries);
    if (!z->entries) return ct_fail(err, CT_E_NOMEM, "zip: out of memory for %llu entries",
                                    (unsigned long long)d.count);
    const uint8_t *p = data + d.cd_offset;
    size_t room = (size_t)d.cd_size;
    for (uint64_t i = 0; i < d.count; i++) {
        size_t used = 0;
        st = read_central(p, room, &z->entries[i], &used, err);
        if (st != CT_OK) {
            ct_zip_close(z);
            return st;
        }
        p += used;
        room -= used;
    }
    z->num_entries = (size_t)d.count;
    qsort(z->entries, z->num_entries, sizeof *z->entries, entry_cmp);
    return CT_OK;
}

void ct_zip_close(ct_zip *z) {
    free(z->entries);
    z->entries = NULL;
    z->num_entries = 0;
}

ct_zip_entry *ct_zip_find(const ct_zip *z, const char *name, size_t len) {
    ct_zip_entry key = {.name = name, .name_len = len};
    return bsearch(&key, z->entries, z->num_entries, sizeof key, entry_cmp);
}

ct_status ct_zip_read(const ct_zip *z, ct_zip_entry *e, const uint8_t **bytes, ct_error *err) {
    int n = e->name_len > 120 ? 120 : (int)e->name_len;
    if (e->method != 0 || e->compressed_size != e->size)
        return ct_fail(err, CT_E_UNSUPPORTED, "zip: record %.*s is compressed (method %u)", n,
                       e->name, e->method);
    if (e->flags & 1)
        return ct_fail(err, CT_E_UNSUPPORTED, "zip: record %.*s is encrypted", n, e->name);
    uint64_t at = e->local_offset;
    if (at > z->size || z->size - at < LOCAL_SIZE || rd(z->data + at, 4) != SIG_LOCAL)
        return ct_fail(err, CT_E_FORMAT, "zip: record %.*s has no local header", n, e->name);
    const uint8_t *h = z->data + at;
    uint64_t name_len = rd(h + 26, 2), extra_len = rd(h + 28, 2);
    uint64_t start = at + LOCAL_SIZE + name_len + extra_len;
    if (name_len != e->name_len || start > z->size ||
        memcmp(h + LOCAL_SIZE, e->name, e->name_len) != 0)
        return ct_fail(err, CT_E_FORMAT, "zip: local header of %.*s does not match the directory",
                       n, e->name);
    if (z->size - start < e->size)
        return ct_fail(err, CT_E_FORMAT, "zip: record %.*s runs past the end of the file", n, e->name);
    if (!e->crc_checked) {
        if (ct_crc32(0, z->data + start, (size_t)e->size) != e->crc32)
            return ct_fail(err, CT_E_FORMAT, "zip: CRC mismatch in record %.*s", n, e->name);
        e->crc_checked = 1;
    }
    *bytes = z->data + start;
    return CT_OK;
}
