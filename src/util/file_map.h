/* Opening and mapping whole regular files read-only (the model file, the
 * converter's checkpoints, images). Messages do not name the file: callers
 * add it with ct_error_prefix. */
#ifndef CT_UTIL_FILE_MAP_H
#define CT_UTIL_FILE_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "ctinfer.h"

/* Opens path read-only and checks it is a regular file, without ever waiting
 * on a FIFO; *fd (close it) and its *size in bytes. */
ct_status ct_open_regular(const char *path, int *fd, uint64_t *size, ct_error *err);

/* Maps the first size (> 0) bytes of fd read-only; with populate, all pages
 * are read in at once (for files read whole right away). Closes fd. */
ct_status ct_map_fd(int fd, size_t size, int populate, void **map, ct_error *err);

#endif
