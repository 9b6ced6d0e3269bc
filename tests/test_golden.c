/* Golden tests: every fixture model under tests/fixtures/golden/ is converted
 * from its PyTorch checkpoint (or, for the demo_* cases, is the bundled demo
 * model its model.txt names), run on its input image, and each traced stage
 * is compared with the stage PyTorch's reference wrote (tools/reference/
 * make_goldens.py). Tolerances (issues 3 and 4):
 *   features, RPN and head outputs: max|a-b| <= 1e-4 * max|golden|
 *   proposals and boxes: within 1e-2 px; scores within 1e-4; labels exact;
 *   proposals and detections in the same order, except that two neighbouring
 *   rows whose golden scores differ by less than 2e-4 may come out swapped
 *   (interfaces.md); every later stage indexed by those rows is then
 *   compared through the same swap;
 *   mask logits and pasted masks within 1e-3, and no pixel flips at the mask
 *   threshold unless the golden is within 1e-3 of it;
 *   classifier rows and logits within 1e-4 and the same class. */
#include "test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "golden_support.h"
#include "net/session.h"
#include "npy.h"

#define FEATURE_REL_TOL 1e-4
#define BOX_TOL 1e-2
#define SCORE_TOL 1e-4
#define SWAP_SCORE_GAP 2e-4
#define MASK_TOL 1e-3
#define MAX_ROWS 4096

typedef enum { CMP_DENSE, CMP_BOXES, CMP_SCORES, CMP_MASKS } cmp_kind;
typedef enum { ROWS_NONE, ROWS_PROPOSALS, ROWS_DETECTIONS } row_group;

/* How each traced stage is compared; stages not listed are dense features. */
static const struct {
    const char *stage;
    cmp_kind kind;
    row_group rows;
} STAGES[] = {
    {"proposals", CMP_BOXES, ROWS_PROPOSALS},     {"proposal_scores", CMP_DENSE, ROWS_PROPOSALS},
    {"box_class_logits", CMP_DENSE, ROWS_PROPOSALS}, {"box_regression", CMP_DENSE, ROWS_PROPOSALS},
    {"det_boxes", CMP_BOXES, ROWS_DETECTIONS},    {"det_scores", CMP_SCORES, ROWS_DETECTIONS},
    {"mask_logits", CMP_MASKS, ROWS_DETECTIONS},  {"final_boxes", CMP_BOXES, ROWS_DETECTIONS},
    {"pasted_masks", CMP_MASKS, ROWS_DETECTIONS}, {"ranked_rows", CMP_SCORES, ROWS_NONE},
    {"logits", CMP_SCORES, ROWS_NONE},
};

typedef struct {
    const char *dir;
    int stages_checked;
    float mask_thresh;
    int perm[3][MAX_ROWS];   /* per row group: golden row i is our row perm[i] */
    int perm_len[3];
} golden_run;

static double tolerance(cmp_kind kind, double max_ref) {
    switch (kind) {
    case CMP_BOXES: return BOX_TOL;
    case CMP_SCORES: return SCORE_TOL;
    case CMP_MASKS: return MASK_TOL;
    default: return FEATURE_REL_TOL * (max_ref > 0 ? max_ref : 1);
    }
}

/* Our row for golden row i. */
static int our_row(const golden_run *run, row_group g, int i) {
    return g != ROWS_NONE && i < run->perm_len[g] ? run->perm[g][i] : i;
}

static int rows_match(const float *got, const float *want, size_t width, double tol) {
    for (size_t k = 0; k < width; k++)
        if (!(fabs((double)got[k] - (double)want[k]) <= tol)) return 0;
    return 1;
}

/* Establishes the row order of a group at its first stage (proposals,
 * det_boxes): identity, except adjacent rows that match only when swapped
 * and whose golden scores (from `scores_file`) differ by < SWAP_SCORE_GAP. */
static void establish_order(golden_run *run, row_group g, const char *scores_file, const float *got,
                            const npy_array *want, size_t width) {
    int n = want->rank ? (int)want->dims[0] : 0;
    if (n > MAX_ROWS) n = MAX_ROWS;
    npy_array scores = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/%s.npy", run->dir, scores_file);
    int have_scores = npy_read(path, &scores) == 0 && (int)scores.count >= n;
    for (int i = 0; i < n; i++) run->perm[g][i] = i;
    for (int i = 0; i + 1 < n; i++) {
        const float *w0 = want->data + i * width, *w1 = w0 + width;
        const float *g0 = got + i * width, *g1 = g0 + width;
        if (rows_match(g0, w0, width, BOX_TOL)) continue;
        if (have_scores && fabs((double)scores.data[i] - scores.data[i + 1]) < SWAP_SCORE_GAP &&
            rows_match(g1, w0, width, BOX_TOL) && rows_match(g0, w1, width, BOX_TOL)) {
            run->perm[g][i] = i + 1;
            run->perm[g][i + 1] = i;
            i++;
        }
    }
    run->perm_len[g] = n;
    npy_free(&scores);
}

static void compare(golden_run *run, const char *stage, cmp_kind kind, row_group g, const float *got,
                    const npy_array *want) {
    size_t rows = want->rank ? (size_t)want->dims[0] : 1, width = rows ? want->count / rows : 0;
    double max_ref = 0;
    for (size_t i = 0; i < want->count; i++) max_ref = fmax(max_ref, fabs((double)want->data[i]));
    double tol = tolerance(kind, max_ref);
    for (size_t i = 0; i < rows; i++) {
        const float *gr = got + (size_t)our_row(run, g, (int)i) * width, *wr = want->data + i * width;
        for (size_t k = 0; k < width; k++) {
            double d = fabs((double)gr[k] - (double)wr[k]);
            int flip = kind == CMP_MASKS && (gr[k] > run->mask_thresh) != (wr[k] > run->mask_thresh) &&
                       fabs((double)wr[k] - run->mask_thresh) > MASK_TOL;
            if (!(d <= tol) || flip) {
                CHECKF(0, "%s: row %zu element %zu: got %.9g, golden %.9g (tol %.3g, max |golden| %.3g)%s", stage,
                       i, k, (double)gr[k], (double)wr[k], tol, max_ref, flip ? ", flips at the mask threshold" : "");
                return;
            }
        }
    }
}

/* The traced tensor has the golden's shape; pasted masks may be stored for
 * the first detections only, and then compare on that prefix. */
static int same_shape(const char *stage, int rank, const int *dims, const npy_array *want) {
    size_t count = 1;
    for (int i = 0; i < rank; i++) count *= (size_t)dims[i];
    int ok = want->rank == rank;
    for (int i = 1; ok && i < rank; i++) ok = dims[i] == want->dims[i];
    if (ok && rank > 0)
        ok = dims[0] == want->dims[0] || (!strcmp(stage, "pasted_masks") && dims[0] > want->dims[0]);
    if (ok && rank == 0) ok = count == want->count;
    CHECKF(ok, "%s: shape mismatch (rank %d, first dim %d, %zu elements; golden rank %d, first dim %ld, %zu elements)",
           stage, rank, rank ? dims[0] : 0, count, want->rank, want->rank ? want->dims[0] : 0L, want->count);
    return ok;
}

static void on_stage(void *user, const char *stage, const float *data, int rank, const int *dims) {
    golden_run *run = user;
    char path[512];
    snprintf(path, sizeof path, "%s/%s.npy", run->dir, stage);
    struct stat st;
    if (stat(path, &st) != 0) return;   /* this fixture does not store the stage */
    npy_array want;
    if (npy_read(path, &want) != 0) {
        CHECKF(0, "%s: unreadable golden", path);
        return;
    }
    run->stages_checked++;
    cmp_kind kind = CMP_DENSE;
    row_group g = ROWS_NONE;
    for (size_t i = 0; i < sizeof STAGES / sizeof *STAGES; i++)
        if (!strcmp(stage, STAGES[i].stage)) kind = STAGES[i].kind, g = STAGES[i].rows;
    if (same_shape(stage, rank, dims, &want)) {
        if (!strcmp(stage, "proposals")) establish_order(run, g, "proposal_scores", data, &want, 4);
        if (!strcmp(stage, "det_boxes")) establish_order(run, g, "det_scores", data, &want, 4);
        compare(run, stage, kind, g, data, &want);
    }
    npy_free(&want);
}

static void run_variant(const char *name) {
    char dir[256];
    snprintf(dir, sizeof dir, "tests/fixtures/golden/%.200s", name);
    printf("  %s\n", name);
    static golden_run run;
    memset(&run, 0, sizeof run);
    run.dir = dir;
    run.mask_thresh = 0.5f;
    ct_model *model = NULL;
    ct_session *session = NULL;
    ct_result res = {0};
    golden_image img = {0};
    ct_error err = {0};
    if (golden_load_model(dir, &model, &err) != CT_OK) {
        CHECKF(0, "%s: %s", dir, err.message);
        return;
    }
    ct_options opt;
    ct_options_default(model, &opt);
    if (golden_read_settings(dir, &opt) != 0) {
        CHECKF(0, "%s: bad settings.txt", dir);
        goto done;
    }
    run.mask_thresh = (float)opt.mask_thresh;
    if (golden_load_image(dir, &img, &err) != CT_OK) {
        CHECKF(0, "%s: %s", dir, err.message);
        goto done;
    }
    if (ct_session_new(model, &opt, &session, &err) != CT_OK) {
        CHECKF(0, "%s: %s", dir, err.message);
        goto done;
    }
    ct_session_set_trace(session, on_stage, &run);
    ct_status st = ct_run(session, &img.image, &res, &err);
    CHECKF(st == CT_OK, "%s: run failed: %s", dir, err.message);
    CHECKF(run.stages_checked >= 4, "%s: only %d stages had goldens", dir, run.stages_checked);
    CHECKF(golden_check_result(dir, &res, run.perm[ROWS_DETECTIONS], run.perm_len[ROWS_DETECTIONS]) == 0,
           "%s: final outputs differ from the golden", dir);
done:
    ct_result_free(&res);
    ct_session_free(session);
    golden_image_free(&img);
    ct_model_free(model);
}

static void test_golden_variants(void) {
    DIR *d = opendir("tests/fixtures/golden");
    CHECKF(d != NULL, "tests/fixtures/golden is missing");
    if (!d) return;
    char names[64][256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        char pth[400], txt[400];
        snprintf(pth, sizeof pth, "tests/fixtures/golden/%s/model.pth", e->d_name);
        snprintf(txt, sizeof txt, "tests/fixtures/golden/%s/model.txt", e->d_name);
        struct stat st;
        if (e->d_name[0] != '.' && (stat(pth, &st) == 0 || stat(txt, &st) == 0))
            snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    CHECKF(n >= 8, "expected at least 8 golden variants, found %d", n);
    for (int i = 0; i < n; i++) run_variant(names[i]);
}

int main(void) {
    RUN(test_golden_variants);
    return TEST_SUMMARY();
}
