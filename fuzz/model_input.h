/* The model-input conversion (ct_slice_from_memory) of any image bytes, for
 * the image fuzz targets. */
#ifndef CT_FUZZ_MODEL_INPUT_H
#define CT_FUZZ_MODEL_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "image/slice.h"

/* Converts data[0, size) to a model input under lim; the result is dropped. */
void fuzz_model_input(const uint8_t *data, size_t size, const ct_image_limits *lim);

#endif
