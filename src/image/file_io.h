/* Whole-file I/O for the image readers and writers: bounded reads, and
 * atomic writes (temporary file in the same directory, then rename). */
#ifndef CT_IMAGE_FILE_IO_H
#define CT_IMAGE_FILE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "ctinfer.h"

/* Reads the whole file at path into a buffer it allocates (free() it).
 * Files larger than max_bytes fail with CT_E_LIMIT before reading. */
ct_status ct_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len,
                       ct_error *err);

/* Writes data to path atomically: the bytes go to a new temporary file next
 * to path, which is renamed over path only once complete, so an interrupted
 * write never leaves a truncated file. A path that exists as anything but a
 * regular file (a directory, a device, a FIFO) is refused. */
ct_status ct_write_file_atomic(const char *path, const void *data, size_t len, ct_error *err);

#endif
