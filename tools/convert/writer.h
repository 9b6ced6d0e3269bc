/* Writes the model file (models/FORMAT.md) from a checkpoint and its config:
 * tensors in the architecture's state_dict order, as float32 (or, on request,
 * the weight matrices and kernels as float16), every padding and reserved
 * byte zero, so the same input always gives the same bytes. */
#ifndef CT_CONVERT_WRITER_H
#define CT_CONVERT_WRITER_H

#include "checkpoint.h"
#include "model/format.h"

/* How the tensors are stored: CTM_DTYPE_F32 for all, or CTM_DTYPE_F16 for
 * those of rank >= 2 (convolution and linear weights: nearly all the bytes),
 * rounded to nearest; biases and BatchNorm vectors stay float32. */
typedef uint32_t ct_weight_dtype;

/* Table entries (offsets included) of the file ck + cfg would give, in file
 * order; *entries is malloc'd. Fails naming the first tensor that does not
 * fit cfg's architecture. */
ct_status ct_writer_entries(const ct_checkpoint *ck, const ctm_config *cfg, ct_weight_dtype weights,
                            ctm_tensor_entry **entries, size_t **source, size_t *count,
                            ct_error *err);

/* Writes path (through a temporary file renamed into place). A float16 file
 * is refused, naming the tensor, if a weight is beyond float16's range. */
ct_status ct_writer_write(ct_checkpoint *ck, const ctm_config *cfg, ct_weight_dtype weights,
                          const char *path, ct_error *err);

#endif
