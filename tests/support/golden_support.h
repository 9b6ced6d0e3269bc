/* Fixture plumbing for the golden tests: convert a fixture's checkpoint,
 * load its image and settings, and check the final result against the
 * stored outputs. */
#ifndef CT_TESTS_GOLDEN_SUPPORT_H
#define CT_TESTS_GOLDEN_SUPPORT_H

#include "ctinfer.h"
#include "image/slice.h"

typedef struct {
    ct_slice slice;
    ct_image image;
} golden_image;

/* Converts dir/model.pth with the built ctconvert ($CT_BIN/ctconvert) into
 * $CT_BIN/fixtures/<name>.bin and loads it; or, when dir/model.txt names a
 * model file instead (the bundled demo models), loads that. */
ct_status golden_load_model(const char *dir, ct_model **model, ct_error *err);
ct_status golden_load_image(const char *dir, golden_image *img, ct_error *err);
void golden_image_free(golden_image *img);
/* Applies dir/settings.txt to opt; -1 on an unknown key or bad value. */
int golden_read_settings(const char *dir, ct_options *opt);
/* Compares the public result with the stored final outputs (golden
 * detection i is our detection perm[i] for i < perm_len, else i); prints
 * each difference and returns their count. */
int golden_check_result(const char *dir, const ct_result *res, const int *perm, int perm_len);

#endif
