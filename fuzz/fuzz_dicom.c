/* libFuzzer target: DICOM decoding (every frame a file declares, up to 4)
 * and the model-input conversion. */
#include <stdint.h>
#include <stdlib.h>

#include "image/dicom.h"
#include "image/slice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ct_image_limits lim = {1u << 20, 1u << 24};     /* keep each run small and fast */
    ct_dicom_image img;
    ct_error err;
    int frames = 1;
    for (int f = 0; f < frames && f < 4; f++) {
        if (ct_dicom_decode(data, size, &lim, f, &img, &err) != CT_OK) break;
        frames = img.info.frames;
        ct_dicom_free(&img);
    }
    ct_slice_options opt;
    ct_slice_options_default(&opt);
    opt.limits = lim;
    ct_slice s;
    if (ct_slice_from_memory(data, size, &opt, &s, &err) == CT_OK) ct_slice_free(&s);
    return 0;
}
