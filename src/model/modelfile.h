/* The read side of the model file (models/FORMAT.md): maps a file written by
 * ctconvert read-only and validates all of it — header, checksums, config,
 * every table entry and the exact tensor set of the declared architecture —
 * before handing out tensors, which stay in the mapping. */
#ifndef CT_MODEL_MODELFILE_H
#define CT_MODEL_MODELFILE_H

#include <stddef.h>
#include <stdint.h>

#include "ctinfer.h"
#include "model/format.h"

typedef struct ct_modelfile ct_modelfile;

/* Maps and validates path. On failure *out is NULL and err names the problem
 * (the message starts with the path). */
ct_status ct_modelfile_open(const char *path, ct_modelfile **out, ct_error *err);
/* The same checks on a file already in memory: data[0, size), CTM_ALIGN-byte
 * aligned, must outlive the handle (tensors point into it). */
ct_status ct_modelfile_open_memory(const void *data, size_t size, ct_modelfile **out, ct_error *err);
void ct_modelfile_close(ct_modelfile *mf);

const ctm_config *ct_modelfile_config(const ct_modelfile *mf);
size_t ct_modelfile_count(const ct_modelfile *mf);
/* Table entry i (0 <= i < count), in file order; the entries are contiguous,
 * so ct_modelfile_entry(mf, 0) is the whole table (for ct_summary_print). */
const ctm_tensor_entry *ct_modelfile_entry(const ct_modelfile *mf, size_t i);
/* The entry named name, or NULL. */
const ctm_tensor_entry *ct_modelfile_find(const ct_modelfile *mf, const char *name);
/* The entry's bytes inside the mapping (64-byte aligned; float32 or float16). */
const void *ct_modelfile_data(const ct_modelfile *mf, const ctm_tensor_entry *e);
size_t ct_modelfile_numel(const ctm_tensor_entry *e);
/* Parameters, not counting BatchNorm running statistics. */
size_t ct_modelfile_parameter_count(const ct_modelfile *mf);
/* The same count over any table (names NUL-terminated). */
size_t ct_modelfile_count_parameters(const ctm_tensor_entry *entries, size_t count);

/* Sanity of a config's non-architecture fields (finite thresholds, sizes,
 * anchors, names); shared with ctconvert so it never writes a file this
 * reader refuses. */
ct_status ct_modelfile_check_config(const ctm_config *cfg, ct_error *err);

#endif
