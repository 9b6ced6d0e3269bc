/* PyTorch's legacy (pre-1.6) torch.save stream: magic, protocol and sys_info
 * pickles, the object pickle, the sorted storage-key list, then each storage
 * as an int64 element count and raw little-endian bytes (spec §14.2). */
#ifndef CT_CONVERT_LEGACY_H
#define CT_CONVERT_LEGACY_H

#include <stddef.h>
#include <stdint.h>

#include "pyobj.h"
#include "util/error.h"

typedef struct {
    ct_py_bytes key;
    const uint8_t *data;   /* inside the input buffer */
    uint64_t nbytes;
} ct_legacy_storage;

typedef struct {
    ct_pyobj *root;                 /* the saved object */
    ct_legacy_storage *storages;    /* sorted by key */
    size_t num_storages;
} ct_legacy;

/* Nonzero when data starts with the legacy magic-number pickle. */
int ct_legacy_detect(const uint8_t *data, size_t size);
/* Parses the whole stream; objects go to heap, strings point into data. */
ct_status ct_legacy_open(ct_legacy *lg, ct_py_heap *heap, const uint8_t *data, size_t size,
                         ct_error *err);
void ct_legacy_close(ct_legacy *lg);
/* The storage saved under key, or NULL. */
const ct_legacy_storage *ct_legacy_find(const ct_legacy *lg, ct_py_bytes key);

#endif
