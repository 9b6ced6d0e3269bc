/* The whole pipeline gives bit-identical results on 1, 2 and 3 threads and
 * on a second run in the same session (every traced stage and the public
 * result), for one-level and four-level models, segmentation and
 * classifier; and a second run of the same image size allocates nothing:
 * the session's arena stays one chunk of the size the first run needed. */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "golden_support.h"
#include "net/session.h"

#define MAX_STAGES 64

typedef struct {
    int count;
    char name[MAX_STAGES][32];
    size_t size[MAX_STAGES];
    float *data[MAX_STAGES];
} stage_log;

static void record(void *user, const char *stage, const float *data, int rank, const int *dims) {
    stage_log *log = user;
    if (log->count == MAX_STAGES) return;
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
    int k = log->count++;
    snprintf(log->name[k], sizeof log->name[k], "%s", stage);
    log->size[k] = n;
    log->data[k] = malloc((n ? n : 1) * sizeof(float));
    if (log->data[k]) memcpy(log->data[k], data, n * sizeof(float));
}

static void log_free(stage_log *log) {
    for (int k = 0; k < log->count; k++) free(log->data[k]);
    log->count = 0;
}

/* Differences between two runs' stages and results; prints the first. */
static int compare_runs(const stage_log *a, const ct_result *ra, const stage_log *b, const ct_result *rb) {
    if (a->count != b->count) return printf("    %d vs %d stages\n", a->count, b->count), 1;
    for (int k = 0; k < a->count; k++)
        if (strcmp(a->name[k], b->name[k]) || a->size[k] != b->size[k] || !a->data[k] || !b->data[k] ||
            memcmp(a->data[k], b->data[k], a->size[k] * sizeof(float)))
            return printf("    stage %s differs\n", a->name[k]), 1;
    if (ra->num_detections != rb->num_detections || ra->num_rois != rb->num_rois ||
        (ra->num_detections &&
         memcmp(ra->detections, rb->detections, (size_t)ra->num_detections * sizeof *ra->detections)) ||
        (ra->num_rois && memcmp(ra->rois, rb->rois, (size_t)ra->num_rois * sizeof *ra->rois)) ||
        memcmp(ra->logits, rb->logits, sizeof ra->logits))
        return printf("    results differ\n"), 1;
    size_t masks = (size_t)ra->num_detections * ra->mask_height * ra->mask_width;
    if (masks && memcmp(ra->masks, rb->masks, masks * sizeof(float))) return printf("    masks differ\n"), 1;
    return 0;
}

static int run_traced(ct_session *s, const ct_image *img, stage_log *log, ct_result *res) {
    ct_error err;
    ct_session_set_trace(s, record, log);
    ct_status st = ct_run(s, img, res, &err);
    if (st != CT_OK) printf("    run failed: %s\n", err.message);
    return st == CT_OK;
}

static void check_variant(const char *name) {
    char dir[256];
    snprintf(dir, sizeof dir, "tests/fixtures/golden/%s", name);
    ct_model *model = NULL;
    golden_image img = {0};
    ct_error err;
    if (golden_load_model(dir, &model, &err) != CT_OK || golden_load_image(dir, &img, &err) != CT_OK) {
        CHECKF(0, "%s: %s", name, err.message);
        ct_model_free(model);
        return;
    }
    static stage_log first, other;
    ct_result res1 = {0};
    for (int threads = 1; threads <= 3; threads++) {
        ct_options opt;
        ct_options_default(model, &opt);
        CHECKF(golden_read_settings(dir, &opt) == 0, "%s: settings", name);
        opt.threads = threads;
        ct_session *s;
        if (ct_session_new(model, &opt, &s, &err) != CT_OK) {
            CHECKF(0, "%s: %s", name, err.message);
            break;
        }
        for (int again = 0; again < 2; again++) {
            ct_result res = {0};
            int first_run = threads == 1 && again == 0;
            CHECKF(run_traced(s, &img.image, first_run ? &first : &other, first_run ? &res1 : &res), "%s", name);
            if (!first_run) {
                CHECKF(compare_runs(&first, &res1, &other, &res) == 0, "%s: %d threads, run %d differs from the first",
                       name, threads, again + 1);
                log_free(&other);
            }
            ct_result_free(&res);
        }
        /* The second run fit in the arena the first one left: one chunk, no growth. */
        CHECKF(s->arena.num_chunks == 1 && s->arena.high_water <= s->arena.size[0],
               "%s: arena has %d chunks after two runs", name, s->arena.num_chunks);
        ct_session_free(s);
    }
    ct_result_free(&res1);
    log_free(&first);
    golden_image_free(&img);
    ct_model_free(model);
}

static void test_threads_bit_identical(void) {
    const char *variants[] = {"seg_r18_t1", "seg_r34_t2", "seg_r50", "cls_r18_t1", "cls_replicate"};
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) check_variant(variants[i]);
}

int main(void) {
    RUN(test_threads_bit_identical);
    return TEST_SUMMARY();
}
