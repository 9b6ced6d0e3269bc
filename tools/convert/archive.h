/* A checkpoint file's container, whichever format: the interpreted object
 * pickle and access to the raw bytes of each storage it references (zip
 * records or legacy-stream blocks), read lazily from the caller's buffer. */
#ifndef CT_CONVERT_ARCHIVE_H
#define CT_CONVERT_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "legacy.h"
#include "pyobj.h"
#include "zip.h"

#define CT_ARCHIVE_MAX_PREFIX 512u   /* bytes of a zip's top-level folder name */

typedef struct {
    int is_zip;
    ct_py_heap heap;
    ct_zip zip;
    ct_py_bytes prefix;     /* zip: "<folder>/" */
    ct_legacy legacy;
    ct_pyobj *root;         /* the object torch.save received */
} ct_archive;

/* Reads data[0, size) (which must outlive a) as a zip or legacy checkpoint. */
ct_status ct_archive_open(ct_archive *a, const uint8_t *data, size_t size, ct_error *err);
void ct_archive_close(ct_archive *a);
const char *ct_archive_format(const ct_archive *a);
/* The raw bytes saved for storage object s (verifying the zip CRC on first use). */
ct_status ct_archive_storage(ct_archive *a, const ct_pyobj *s, const uint8_t **bytes,
                             uint64_t *nbytes, ct_error *err);

#endif
