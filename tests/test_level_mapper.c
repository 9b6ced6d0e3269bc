/* The multi-level RoI pooling at the LevelMapper's boundaries (spec §12):
 * boxes whose sqrt(area)/224 lies just below a power of two, where
 * torchvision 0.4 (eps inside the log2, what the authors ran) and >= 0.5 (eps
 * outside) pick different FPN levels. The boxes are exact inputs here: boxes
 * made by the network carry more float32 noise than the window is wide
 * (tools/reference/README.md). Fixture: the levelmap_*.npy arrays of
 * tests/fixtures/golden/seg_r50_nc3, pooled 7x7 on its own FPN levels. */
#include "test.h"

#include <stdio.h>
#include <string.h>

#include "golden_support.h"
#include "model/model.h"
#include "net/preprocess.h"
#include "net/roi_heads.h"
#include "npy.h"
#include "util/error.h"

#define CASE_DIR "tests/fixtures/golden/seg_r50_nc3"
#define FEATURE_REL_TOL 1e-4
#define CONTRAST 0.05   /* the two candidate levels' features differ by this much of their max */
#define POOL 7

typedef struct {
    npy_array boxes, levels, levels_outside, pooled, pooled_outside;
    npy_array fpn[CT_MAX_LEVELS];
} level_fixture;

static int load(const char *name, npy_array *a) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s.npy", CASE_DIR, name);
    return npy_read(path, a) == 0;
}

static int load_fixture(level_fixture *f) {
    int ok = load("levelmap_boxes", &f->boxes) && load("levelmap_levels", &f->levels) &&
             load("levelmap_levels_outside", &f->levels_outside) && load("levelmap_pooled", &f->pooled) &&
             load("levelmap_pooled_outside", &f->pooled_outside);
    for (int l = 0; ok && l < 4; l++) {
        char name[16];
        snprintf(name, sizeof name, "fpn_%d", l);
        ok = load(name, &f->fpn[l]) && f->fpn[l].rank == 3;
    }
    return ok;
}

static void free_fixture(level_fixture *f) {
    npy_free(&f->boxes);
    npy_free(&f->levels);
    npy_free(&f->levels_outside);
    npy_free(&f->pooled);
    npy_free(&f->pooled_outside);
    for (int l = 0; l < 4; l++) npy_free(&f->fpn[l]);
}

static double max_abs(const float *x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)x[i]));
    return m;
}

static double max_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

/* The engine's pooling of the fixture's boxes on the fixture's FPN levels:
 * out [K, C, 7, 7]. The image size the scales are inferred from comes from
 * the case's image and settings. */
static ct_status engine_pool(const level_fixture *f, int K, float *out, ct_error *err) {
    ct_model *model = NULL;
    ct_session *session = NULL;
    golden_image img = {0};
    ct_options opt;
    ct_status st = golden_load_model(CASE_DIR, &model, err);
    if (st != CT_OK) return st;
    ct_options_default(model, &opt);
    opt.threads = 1;
    if (golden_read_settings(CASE_DIR, &opt) != 0) st = ct_fail(err, CT_E_FORMAT, "bad settings.txt");
    if (st == CT_OK) st = golden_load_image(CASE_DIR, &img, err);
    if (st == CT_OK) st = ct_session_new(model, &opt, &session, err);
    if (st == CT_OK && model->net.num_levels != 4)
        st = ct_fail(err, CT_E_FORMAT, "the model has %d FPN levels, not 4", model->net.num_levels);
    if (st == CT_OK) {
        ct_input in = {.orig_h = img.image.height, .orig_w = img.image.width};
        ct_resized_size(in.orig_h, in.orig_w, opt.min_size, opt.max_size, &in.h, &in.w);
        ct_fmap levels[CT_MAX_LEVELS], hwc[CT_MAX_LEVELS];
        for (int l = 0; l < 4; l++) {
            const npy_array *a = &f->fpn[l];
            levels[l] = (ct_fmap){(int)a->dims[0], (int)a->dims[1], (int)a->dims[2], a->data};
        }
        st = ct_roi_features(session, levels, hwc, err);
        if (st == CT_OK) ct_roi_pool(session, &in, hwc, f->boxes.data, K, POOL, out);
    }
    ct_session_free(session);
    golden_image_free(&img);
    ct_model_free(model);
    return st;
}

/* The fixture can tell the two LevelMappers apart: some boxes map to
 * different levels under them, with clearly different features. */
static int discriminating_boxes(const level_fixture *f, int K, size_t per_box) {
    int n = 0;
    for (int k = 0; k < K; k++) {
        if (f->levels.data[k] == f->levels_outside.data[k]) continue;
        const float *p = f->pooled.data + k * per_box, *q = f->pooled_outside.data + k * per_box;
        CHECKF(max_diff(p, q, per_box) > CONTRAST * max_abs(p, per_box),
               "box %d: its two candidate levels give nearly the same features", k);
        n++;
    }
    return n;
}

static void test_level_mapper_boundaries(void) {
    level_fixture f;
    memset(&f, 0, sizeof f);
    if (!load_fixture(&f)) {
        CHECKF(0, "%s: levelmap_*.npy or fpn_*.npy missing", CASE_DIR);
        free_fixture(&f);
        return;
    }
    int K = f.boxes.rank == 2 && f.boxes.dims[1] == 4 ? (int)f.boxes.dims[0] : 0;
    size_t per_box = (size_t)f.fpn[0].dims[0] * POOL * POOL;
    CHECKF(K > 0 && f.pooled.count == (size_t)K * per_box && f.pooled_outside.count == f.pooled.count &&
               f.levels.count == (size_t)K && f.levels_outside.count == (size_t)K,
           "levelmap arrays have inconsistent shapes");
    if (test_checks_failed_) {
        free_fixture(&f);
        return;
    }
    CHECKF(discriminating_boxes(&f, K, per_box) >= 2, "fewer than two boxes tell the LevelMappers apart");

    float *out = calloc((size_t)K * per_box, sizeof *out);
    ct_error err = {0};
    ct_status st = out ? engine_pool(&f, K, out, &err) : CT_E_NOMEM;
    CHECKF(st == CT_OK, "%s: %s", CASE_DIR, err.message);
    double tol = FEATURE_REL_TOL * max_abs(f.pooled.data, f.pooled.count);   /* as test_golden.c */
    for (int k = 0; st == CT_OK && k < K; k++) {
        const float *got = out + k * per_box, *want = f.pooled.data + k * per_box;
        const float *other = f.pooled_outside.data + k * per_box;
        const float *b = f.boxes.data + 4 * k;
        int outside = f.levels.data[k] != f.levels_outside.data[k] && max_diff(got, other, per_box) <= tol;
        CHECKF(max_diff(got, want, per_box) <= tol,
               "box %d [%.9g %.9g %.9g %.9g]: pooled features differ by %.3g (tol %.3g) from level %d's%s", k,
               (double)b[0], (double)b[1], (double)b[2], (double)b[3], max_diff(got, want, per_box), tol,
               (int)f.levels.data[k] + 2,
               outside ? "; they match the eps-outside-the-log2 level (torchvision >= 0.5)" : "");
    }
    free(out);
    free_fixture(&f);
}

int main(void) {
    RUN(test_level_mapper_boundaries);
    return TEST_SUMMARY();
}
