/* .npy encoding: magic, version 1.0, a Python-dict header padded with
 * spaces to a multiple of 64 bytes, then the raw little-endian data. */
#include "image/npy_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/file_io.h"
#include "util/error.h"

#define NPY_ALIGN 64
#define HEADER_TEXT_MAX (64 + 22 * CT_NPY_MAX_RANK)   /* enough for the dict */

static const char *dtype_descr(ct_npy_dtype dtype) {
    switch (dtype) {
    case CT_NPY_U8: return "|u1";
    case CT_NPY_U16: return "<u2";
    default: return "<f4";
    }
}

static size_t dtype_size(ct_npy_dtype dtype) {
    return dtype == CT_NPY_U8 ? 1 : dtype == CT_NPY_U16 ? 2 : 4;
}

/* The header dict as numpy writes it, e.g. "{'descr': '<u2', 'fortran_order':
 * False, 'shape': (2, 3), }". Returns its length. */
static size_t header_dict(ct_npy_dtype dtype, const size_t *shape, int rank, char *text) {
    int n = snprintf(text, HEADER_TEXT_MAX, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     dtype_descr(dtype));
    for (int i = 0; i < rank; i++)
        n += snprintf(text + n, HEADER_TEXT_MAX - (size_t)n, i ? ", %zu" : "%zu", shape[i]);
    n += snprintf(text + n, HEADER_TEXT_MAX - (size_t)n, rank == 1 ? ",), }" : "), }");
    return (size_t)n;
}

/* Copies count elements of `size` bytes, storing each little-endian. */
static void put_le(uint8_t *dst, const void *src, size_t count, size_t size) {
    const uint8_t *s = src;
    for (size_t i = 0; i < count; i++) {
        uint32_t v;
        if (size == 1) {
            v = s[i];
        } else if (size == 2) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            v = h;
        } else {
            memcpy(&v, s + 4 * i, 4);
        }
        for (size_t b = 0; b < size; b++) dst[i * size + b] = (uint8_t)(v >> (8 * b));
    }
}

ct_status ct_npy_encode(ct_npy_dtype dtype, const size_t *shape, int rank, const void *data,
                        uint8_t **out, size_t *out_len, ct_error *err) {
    if (rank < 0 || rank > CT_NPY_MAX_RANK)
        return ct_fail(err, CT_E_ARG, "npy: rank %d (0..%d)", rank, CT_NPY_MAX_RANK);
    size_t count = 1, size = dtype_size(dtype);
    for (int i = 0; i < rank; i++) {
        if (shape[i] && count > SIZE_MAX / shape[i])
            return ct_fail(err, CT_E_ARG, "npy: array size overflows");
        count *= shape[i];
    }
    if (count > (SIZE_MAX - 4096) / size) return ct_fail(err, CT_E_ARG, "npy: array size overflows");
    char text[HEADER_TEXT_MAX];
    size_t dict = header_dict(dtype, shape, rank, text);
    size_t header = (10 + dict + 1 + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;  /* incl. '\n' */
    uint8_t *buf = malloc(header + count * size);
    if (!buf) return ct_fail(err, CT_E_NOMEM, "out of memory for a %zu-byte .npy", header + count * size);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)(header - 10);
    buf[9] = (uint8_t)((header - 10) >> 8);
    memcpy(buf + 10, text, dict);
    memset(buf + 10 + dict, ' ', header - 11 - dict);
    buf[header - 1] = '\n';
    put_le(buf + header, data, count, size);
    *out = buf;
    *out_len = header + count * size;
    return CT_OK;
}

ct_status ct_npy_write(const char *path, ct_npy_dtype dtype, const size_t *shape, int rank,
                       const void *data, ct_error *err) {
    uint8_t *buf;
    size_t len;
    ct_status st = ct_npy_encode(dtype, shape, rank, data, &buf, &len, err);
    if (st != CT_OK) return st;
    st = ct_write_file_atomic(path, buf, len, err);
    free(buf);
    return st;
}

ct_status ct_npy_write_raster(const char *path, const ct_raster *r, ct_error *err) {
    size_t shape[3] = {(size_t)r->height, (size_t)r->width, (size_t)r->channels};
    int rank = r->channels == 1 ? 2 : 3;
    if (r->u16) return ct_npy_write(path, CT_NPY_U16, shape, rank, r->u16, err);
    return ct_npy_write(path, CT_NPY_U8, shape, rank, r->u8, err);
}
