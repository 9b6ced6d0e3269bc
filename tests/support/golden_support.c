/* Fixture plumbing for tests/test_golden.c (see golden_support.h). */
#include "golden_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_run.h"
#include "npy.h"
#include "util/error.h"

/* The model file named by dir/model.txt (a repository path), if there is one. */
static int model_named(const char *dir, char *path, size_t size) {
    char txt[512];
    snprintf(txt, sizeof txt, "%s/model.txt", dir);
    FILE *f = fopen(txt, "r");
    if (!f) return 0;
    int ok = fgets(path, (int)size, f) != NULL;
    fclose(f);
    path[strcspn(path, "\n")] = '\0';
    return ok && path[0];
}

ct_status golden_load_model(const char *dir, ct_model **model, ct_error *err) {
    char bin[512];
    if (model_named(dir, bin, sizeof bin)) return ct_model_load(bin, model, err);
    const char *name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    char out_dir[256], cmd[1400];
    snprintf(out_dir, sizeof out_dir, "%s/fixtures", cli_bin_dir());
    mkdir(out_dir, 0755);
    snprintf(bin, sizeof bin, "%s/%s.bin", out_dir, name);
    snprintf(cmd, sizeof cmd, "%s/ctconvert '%s/model.pth' '%s' > /dev/null", cli_bin_dir(), dir, bin);
    if (system(cmd) != 0) return ct_fail(err, CT_E_FORMAT, "ctconvert failed: %s", cmd);
    return ct_model_load(bin, model, err);
}

ct_status golden_load_image(const char *dir, golden_image *img, ct_error *err) {
    char path[512];
    snprintf(path, sizeof path, "%s/image.png", dir);
    ct_slice_options so;
    ct_slice_options_default(&so);
    ct_status st = ct_load_slice(path, &so, &img->slice, err);
    if (st != CT_OK) return st;
    img->image = (ct_image){img->slice.width, img->slice.height, img->slice.channels, img->slice.pixels};
    return CT_OK;
}

void golden_image_free(golden_image *img) { ct_slice_free(&img->slice); }

int golden_read_settings(const char *dir, ct_options *o) {
    char path[512], line[256], key[64];
    snprintf(path, sizeof path, "%s/settings.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        double v;
        if (line[0] == '#' || line[0] == '\n') continue;
        if (sscanf(line, "%63s %lf", key, &v) != 2) rc = -1;
        else if (!strcmp(key, "min_size")) o->min_size = (int)v;
        else if (!strcmp(key, "max_size")) o->max_size = (int)v;
        else if (!strcmp(key, "score_thresh")) o->score_thresh = v;
        else if (!strcmp(key, "nms_thresh")) o->nms_thresh = v;
        else if (!strcmp(key, "detections")) o->detections = (int)v;
        else if (!strcmp(key, "rpn_pre")) o->rpn_pre_nms_top_n = (int)v;
        else if (!strcmp(key, "rpn_post")) o->rpn_post_nms_top_n = (int)v;
        else if (!strcmp(key, "rpn_nms")) o->rpn_nms_thresh = v;
        else if (!strcmp(key, "mask_thresh")) o->mask_thresh = v;
        else if (!strcmp(key, "seed")) o->seed = (uint32_t)v;
        else rc = -1;
    }
    fclose(f);
    return rc;
}

/* Loads dir/name.npy if present: 1 loaded, 0 absent, -1 unreadable. */
static int load_optional(const char *dir, const char *name, npy_array *a) {
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    if (stat(path, &st) != 0) return 0;
    return npy_read(path, a) == 0 ? 1 : -1;
}

static int fail(const char *dir, const char *what, size_t i, double got, double want) {
    printf("    %s: %s[%zu] = %.9g, golden %.9g\n", dir, what, i, got, want);
    return 1;
}

static int check_segmentation(const char *dir, const ct_result *res, const int *perm, int perm_len) {
    npy_array labels, scores, boxes;
    int failed = 0;
    if (load_optional(dir, "det_labels", &labels) != 1) return fail(dir, "det_labels.npy missing", 0, 0, 0);
    if ((size_t)res->num_detections != labels.count || labels.count > 4096)
        failed += fail(dir, "detection count", 0, res->num_detections, (double)labels.count);
    else {
        const ct_detection *det[4096];
        for (size_t i = 0; i < labels.count && i < 4096; i++)
            det[i] = &res->detections[(int)i < perm_len ? perm[i] : (int)i];
        for (size_t i = 0; i < labels.count; i++)
            if (det[i]->label != (int)labels.data[i]) failed += fail(dir, "label", i, det[i]->label, labels.data[i]);
        if (load_optional(dir, "det_scores", &scores) == 1) {
            for (size_t i = 0; i < scores.count; i++)
                if (!(fabs(det[i]->score - scores.data[i]) <= 1e-4))
                    failed += fail(dir, "score", i, det[i]->score, scores.data[i]);
            npy_free(&scores);
        }
        if (load_optional(dir, "final_boxes", &boxes) == 1) {
            for (size_t i = 0; i < boxes.count; i++)
                if (!(fabs(det[i / 4]->box[i % 4] - boxes.data[i]) <= 1e-2))
                    failed += fail(dir, "final box coordinate", i, det[i / 4]->box[i % 4], boxes.data[i]);
            npy_free(&boxes);
        }
    }
    npy_free(&labels);
    return failed;
}

static int check_classification(const char *dir, const ct_result *res) {
    npy_array logits, keep;
    int failed = 0;
    if (load_optional(dir, "logits", &logits) != 1 || logits.count != 3)
        return fail(dir, "logits.npy missing", 0, 0, 0);
    int want_class = 0;
    for (int c = 0; c < 3; c++) {
        if (!(fabs(res->logits[c] - logits.data[c]) <= 1e-4)) failed += fail(dir, "logit", (size_t)c, res->logits[c], logits.data[c]);
        if (logits.data[c] > logits.data[want_class]) want_class = c;
    }
    if (res->class_index != want_class) failed += fail(dir, "class", 0, res->class_index, want_class);
    npy_free(&logits);
    if (load_optional(dir, "keep_index", &keep) == 1) {
        if (keep.count != (size_t)res->num_rois) failed += fail(dir, "ranked row count", 0, res->num_rois, (double)keep.count);
        else
            for (size_t i = 0; i < keep.count; i++)
                if (res->rois[i].index != (int)keep.data[i])
                    failed += fail(dir, "replicated index", i, res->rois[i].index, keep.data[i]);
        npy_free(&keep);
    }
    return failed;
}

int golden_check_result(const char *dir, const ct_result *res, const int *perm, int perm_len) {
    return res->num_rois ? check_classification(dir, res) : check_segmentation(dir, res, perm, perm_len);
}
