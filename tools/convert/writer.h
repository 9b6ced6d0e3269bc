/* Writes the model file (models/FORMAT.md) from a checkpoint and its config:
 * tensors in the architecture's state_dict order, as float32, every padding
 * and reserved byte zero, so the same input always gives the same bytes. */
#ifndef CT_CONVERT_WRITER_H
#define CT_CONVERT_WRITER_H

#include "checkpoint.h"
#include "model/format.h"

/* Table entries (offsets included) of the file ck + cfg would give, in file
 * order; *entries is malloc'd. Fails naming the first tensor that does not
 * fit cfg's architecture. */
ct_status ct_writer_entries(const ct_checkpoint *ck, const ctm_config *cfg,
                            ctm_tensor_entry **entries, size_t **source, size_t *count,
                            ct_error *err);

/* Writes path (through a temporary file renamed into place). */
ct_status ct_writer_write(ct_checkpoint *ck, const ctm_config *cfg, const char *path, ct_error *err);

#endif
