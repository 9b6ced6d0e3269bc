/* Tensors of a checkpoint: validation of a _rebuild_tensor_v2 record (storage,
 * offset, sizes, strides) and its materialization as contiguous float32,
 * widening float16 and rounding float64. */
#ifndef CT_CONVERT_TENSOR_H
#define CT_CONVERT_TENSOR_H

#include <stdint.h>

#include "archive.h"
#include "model/format.h"

typedef struct {
    const ct_pyobj *storage;        /* CT_PY_STORAGE */
    ct_py_dtype dtype;
    uint32_t rank;                  /* 0..CTM_MAX_RANK */
    uint32_t dims[CTM_MAX_RANK];
    uint64_t strides[CTM_MAX_RANK]; /* in elements */
    uint64_t offset;                /* in elements */
    uint64_t numel;
} ct_tensor_view;

/* Checks the record's types and ranges (not yet the storage bytes). */
ct_status ct_tensor_view_parse(const ct_pyobj *t, ct_tensor_view *v, ct_error *err);
int ct_tensor_is_float(const ct_tensor_view *v);
/* Writes the v->numel elements, row-major, as float32 to dst. Fails when the
 * view reaches outside its storage or the storage outside its record. */
ct_status ct_tensor_view_read(ct_archive *a, const ct_tensor_view *v, float *dst /* [numel] */,
                             ct_error *err);

#endif
