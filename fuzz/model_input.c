/* See model_input.h. */
#include "model_input.h"

void fuzz_model_input(const uint8_t *data, size_t size, const ct_image_limits *lim) {
    ct_slice_options opt;
    ct_slice_options_default(&opt);
    opt.limits = *lim;
    ct_slice s;
    ct_error err;
    if (ct_slice_from_memory(data, size, &opt, &s, &err) == CT_OK) ct_slice_free(&s);
}
