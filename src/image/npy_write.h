/* NumPy .npy (format version 1.0) writer for uint8, uint16 and float32
 * arrays: how `ctinfer decode` and the mask/tensor dumps hand data to users. */
#ifndef CT_IMAGE_NPY_WRITE_H
#define CT_IMAGE_NPY_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "ctinfer.h"
#include "image/raster.h"

typedef enum { CT_NPY_U8, CT_NPY_U16, CT_NPY_F32 } ct_npy_dtype;

#define CT_NPY_MAX_RANK 8

/* Encodes a C-order little-endian array of shape[0..rank) (rank 0..8,
 * zero-size dimensions allowed) into a buffer it allocates (free() it). The
 * bytes equal what numpy.save writes for the same array. */
ct_status ct_npy_encode(ct_npy_dtype dtype, const size_t *shape, int rank, const void *data,
                        uint8_t **out, size_t *out_len, ct_error *err);

/* ct_npy_encode written atomically to path. */
ct_status ct_npy_write(const char *path, ct_npy_dtype dtype, const size_t *shape, int rank,
                       const void *data, ct_error *err);

/* Writes a raster: uint8 (depth <= 8) or uint16, shape [H,W] for one channel
 * and [H,W,C] otherwise. */
ct_status ct_npy_write_raster(const char *path, const ct_raster *r, ct_error *err);

#endif
