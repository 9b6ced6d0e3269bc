/* Non-finite weights: finds the first float32 or float16 tensor of a model
 * file that holds a NaN or an infinity, so that loading refuses it instead
 * of propagating NaN through every run. */
#ifndef CT_MODEL_FINITE_H
#define CT_MODEL_FINITE_H

#include <stddef.h>
#include <stdint.h>

#include "ctinfer.h"
#include "model/modelfile.h"

/* Index of the first NaN or infinity in v[0, n), or n when all are finite. */
size_t ct_first_nonfinite_f32(const float *v /* [n] */, size_t n);
/* The same for IEEE binary16 values given as their bit patterns. */
size_t ct_first_nonfinite_f16(const uint16_t *v /* [n] */, size_t n);

/* Scans every tensor of mf; fails with CT_E_FORMAT "tensor NAME holds
 * NaN/Inf (element I is ...)" for the first one holding a non-finite value. */
ct_status ct_modelfile_check_finite(const ct_modelfile *mf, ct_error *err);

#endif
