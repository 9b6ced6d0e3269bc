/* One ct_model shared by 8 threads: each thread makes its own session (half
 * of them with a 2-thread pool of their own) and runs fixture slices through
 * a segmentation and a classifier model in its own order, round after round;
 * every result must be bit-identical to a single-threaded run of the same
 * slice. `make tsan` runs this test under ThreadSanitizer. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_support.h"
#include "test.h"

#define WORKERS 8
#define ROUNDS 3
#define NUM_MODELS 2
#define NUM_IMAGES 3

static const char *const MODEL_DIRS[NUM_MODELS] = {"tests/fixtures/golden/seg_r18_t1",
                                                   "tests/fixtures/golden/cls_replicate"};
static const char *const IMAGE_DIRS[NUM_IMAGES] = {"tests/fixtures/golden/seg_r18_t1", "tests/fixtures/golden/seg_one",
                                                   "tests/fixtures/golden/cls_r18_t1"};

static ct_model *models[NUM_MODELS];
static ct_options settings[NUM_MODELS];   /* each fixture's run settings */
static golden_image images[NUM_IMAGES];
static ct_result reference[NUM_MODELS][NUM_IMAGES];   /* single-threaded */

static atomic_int mismatches, failures, runs;

/* n bytes at a and b are equal (either may be NULL when n is 0). */
static int same_bytes(const void *a, const void *b, size_t n) { return n == 0 || memcmp(a, b, n) == 0; }

/* 0 when a and b are bit-identical. */
static int compare(const ct_result *a, const ct_result *b) {
    if (a->num_detections != b->num_detections || a->num_rois != b->num_rois ||
        a->num_survivors != b->num_survivors || a->class_index != b->class_index ||
        a->mask_height != b->mask_height || a->mask_width != b->mask_width)
        return 1;
    size_t masks = (size_t)a->num_detections * (size_t)a->mask_height * (size_t)a->mask_width;
    return !same_bytes(a->detections, b->detections, (size_t)a->num_detections * sizeof *a->detections) ||
           !same_bytes(a->rois, b->rois, (size_t)a->num_rois * sizeof *a->rois) ||
           !same_bytes(a->masks, b->masks, masks * sizeof *a->masks) ||
           !same_bytes(a->logits, b->logits, sizeof a->logits) ||
           !same_bytes(a->probabilities, b->probabilities, sizeof a->probabilities);
}

static int load(void) {
    ct_error err;
    for (int m = 0; m < NUM_MODELS; m++) {
        if (golden_load_model(MODEL_DIRS[m], &models[m], &err) != CT_OK) return printf("    %s\n", err.message), 0;
        ct_options_default(models[m], &settings[m]);
        if (golden_read_settings(MODEL_DIRS[m], &settings[m]) != 0) return printf("    settings of %s\n", MODEL_DIRS[m]), 0;
    }
    for (int i = 0; i < NUM_IMAGES; i++)
        if (golden_load_image(IMAGE_DIRS[i], &images[i], &err) != CT_OK) return printf("    %s\n", err.message), 0;
    return 1;
}

static int run_reference(void) {
    for (int m = 0; m < NUM_MODELS; m++) {
        ct_options opt = settings[m];
        opt.threads = 1;
        ct_session *s;
        ct_error err;
        if (ct_session_new(models[m], &opt, &s, &err) != CT_OK) return printf("    %s\n", err.message), 0;
        for (int i = 0; i < NUM_IMAGES; i++)
            if (ct_run(s, &images[i].image, &reference[m][i], &err) != CT_OK) {
                ct_session_free(s);
                return printf("    %s\n", err.message), 0;
            }
        ct_session_free(s);
    }
    return 1;
}

static pthread_barrier_t start;

/* Worker w: its own sessions; pairs visited in an order that depends on w. */
static void *worker(void *arg) {
    int w = (int)(intptr_t)arg;
    ct_session *sessions[NUM_MODELS] = {0};
    ct_error err;
    for (int m = 0; m < NUM_MODELS; m++) {
        ct_options opt = settings[m];
        opt.threads = 1 + w % 2;
        if (ct_session_new(models[m], &opt, &sessions[m], &err) != CT_OK) atomic_fetch_add(&failures, 1);
    }
    pthread_barrier_wait(&start);
    for (int k = 0; k < ROUNDS * NUM_MODELS * NUM_IMAGES; k++) {
        int pair = (k * 5 + w * 7) % (NUM_MODELS * NUM_IMAGES), m = pair / NUM_IMAGES, i = pair % NUM_IMAGES;
        ct_result res;
        if (!sessions[m] || ct_run(sessions[m], &images[i].image, &res, &err) != CT_OK) {
            atomic_fetch_add(&failures, 1);
            continue;
        }
        atomic_fetch_add(&runs, 1);
        if (compare(&res, &reference[m][i])) atomic_fetch_add(&mismatches, 1);
        ct_result_free(&res);
    }
    for (int m = 0; m < NUM_MODELS; m++) ct_session_free(sessions[m]);
    return NULL;
}

static void test_shared_model_eight_threads(void) {
    CHECK(reference[0][0].num_detections > 0 && reference[1][0].num_rois > 0);   /* the runs have content */
    pthread_t threads[WORKERS];
    CHECK(pthread_barrier_init(&start, NULL, WORKERS) == 0);
    for (int w = 0; w < WORKERS; w++) CHECK(pthread_create(&threads[w], NULL, worker, (void *)(intptr_t)w) == 0);
    for (int w = 0; w < WORKERS; w++) pthread_join(threads[w], NULL);
    pthread_barrier_destroy(&start);
    CHECKF(atomic_load(&failures) == 0, "%d sessions or runs failed", atomic_load(&failures));
    CHECKF(atomic_load(&mismatches) == 0, "%d of %d runs differ from the single-threaded run",
           atomic_load(&mismatches), atomic_load(&runs));
    CHECK(atomic_load(&runs) == WORKERS * ROUNDS * NUM_MODELS * NUM_IMAGES);
    printf("    %d runs on %d threads, all bit-identical to the single-threaded run\n", atomic_load(&runs), WORKERS);
}

int main(void) {
    if (!load() || !run_reference()) {
        printf("FAIL setup: cannot load the fixture models and images\nRESULT 0 1\n");
        return 1;
    }
    RUN(test_shared_model_eight_threads);
    for (int m = 0; m < NUM_MODELS; m++) {
        for (int i = 0; i < NUM_IMAGES; i++) ct_result_free(&reference[m][i]);
        ct_model_free(models[m]);
    }
    for (int i = 0; i < NUM_IMAGES; i++) golden_image_free(&images[i]);
    return TEST_SUMMARY();
}
