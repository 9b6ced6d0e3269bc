/* libFuzzer target: DICOM decoding (every frame a file declares, up to 4)
 * and the model-input conversion. */
#include <stdint.h>
#include <stdlib.h>

#include "image/dicom.h"
#include "model_input.h"

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
    fuzz_model_input(data, size, &lim);
    return 0;
}
