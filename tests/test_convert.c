/* ctconvert on the committed fixtures (tools/reference/make_convert_fixtures.py):
 * each converts in-process, the inferred config matches, every tensor of the
 * written file equals the dump bit for bit, and a second conversion gives the
 * same bytes. Also the checkpoint features each fixture is meant to exercise,
 * the command-line overrides, and float16 weights (--half). */
#define _GNU_SOURCE   /* memmem */
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../tools/convert/checkpoint.h"
#include "../tools/convert/infer.h"
#include "../tools/convert/writer.h"
#include "model/modelfile.h"
#include "util/half.h"
#include "support/cli_run.h"
#include "support/convert_support.h"

static const char *const FIXTURES[] = {
    "seg_r18_t1_legacy_cuda", "cls_r18_t1_zip", "seg_r34_t2_bare", "seg_r18_t0_tv013",
    "cls_r34_t0_views", "seg_r18_t2_mixed", "seg_r50_state_dict_legacy", "cls_r18_t2_model_zip"};
#define NUM_FIXTURES (sizeof FIXTURES / sizeof FIXTURES[0])

static const char *pth_path(const char *fixture) {
    static char path[256];
    snprintf(path, sizeof path, "%s/%s.pth", CONVERT_FIXTURES, fixture);
    return path;
}

/* Opens the fixture's checkpoint from its file, checking it succeeds. */
static int open_fixture(const char *fixture, ct_checkpoint *ck) {
    ct_error err = {0};
    ct_status st = ct_checkpoint_open_file(ck, pth_path(fixture), &err);
    CHECKF(st == CT_OK, "%s: %s", fixture, err.message);
    return st == CT_OK;
}

static void check_config(const char *fixture, const ctm_config *c, const convert_expect *e,
                         const ct_convert_notes *notes) {
    int cls = !strcmp(e->task, "classification");
    CHECKF(c->task == (uint32_t)(cls ? CTM_TASK_CLASSIFICATION : CTM_TASK_SEGMENTATION), "%s task", fixture);
    CHECKF(c->backbone_depth == (uint32_t)e->backbone_depth, "%s depth %u", fixture, c->backbone_depth);
    CHECKF(c->truncation == (e->truncation < 0 ? CTM_TRUNCATION_NONE : (uint32_t)e->truncation),
           "%s truncation %u", fixture, c->truncation);
    CHECKF(c->num_classes == (uint32_t)e->num_classes, "%s n_c", fixture);
    CHECKF(c->stem_width == (uint32_t)e->stem_width && c->fpn_channels == (uint32_t)e->fpn_channels &&
           c->representation_size == (uint32_t)e->representation_size &&
           c->mask_head_channels == (uint32_t)e->mask_head_channels, "%s widths", fixture);
    CHECKF(c->roi_batch_size == (uint32_t)e->roi_batch_size && c->s_features == (uint32_t)e->s_features,
           "%s S shape", fixture);
    CHECKF(c->num_anchor_sizes == e->num_anchor_sizes && c->num_aspect_ratios == e->num_aspect_ratios &&
           !memcmp(c->anchor_sizes, e->anchor_sizes, e->num_anchor_sizes * sizeof(float)) &&
           !memcmp(c->aspect_ratios, e->aspect_ratios, e->num_aspect_ratios * sizeof(float)),
           "%s anchors", fixture);
    /* Defaulted anchors are reported in a note; anchors read from the checkpoint are not. */
    CHECKF(notes->count == (e->anchors_from_checkpoint ? 0 : 1), "%s notes %d", fixture, notes->count);
    /* The authors' test-time settings (spec §11). */
    CHECK_NEAR(c->box_score_thresh, cls ? -0.01 : 0.05, 0);
    CHECK_NEAR(c->box_nms_thresh, cls ? 0.75 : 0.5, 0);
    CHECK(c->detections_per_img == (cls ? c->roi_batch_size : 100u));
    CHECK_NEAR(c->rpn_nms_thresh, 0.75, 0);
    CHECK(c->min_size == 512 && c->max_size == 1024 && c->size_divisible == 32);
    CHECK(c->rpn_pre_nms_top_n == 1000 && c->rpn_post_nms_top_n == 1000);
    CHECK(!strcmp(c->class_names[0], "__background__"));
    CHECK(!cls || (c->num_image_classes == 3 && !strcmp(c->image_class_names[2], "COVID-19")));
}

/* Every table entry against the dump: same order, names, shapes and bytes. */
static void check_tensors(const char *fixture, const ct_modelfile *mf, const convert_expect *e) {
    CHECKF(ct_modelfile_count(mf) == e->num_tensors, "%s: %zu tensors, expected %zu", fixture,
           ct_modelfile_count(mf), e->num_tensors);
    CHECKF(ct_modelfile_parameter_count(mf) == (size_t)e->parameters, "%s parameters %zu", fixture,
           ct_modelfile_parameter_count(mf));
    size_t mismatches = 0;
    for (size_t i = 0; i < e->num_tensors && i < ct_modelfile_count(mf); i++) {
        const ctm_tensor_entry *t = ct_modelfile_entry(mf, i);
        const convert_expect_tensor *x = &e->tensors[i];
        int same = !strcmp(t->name, x->name) && t->dtype == CTM_DTYPE_F32 && t->rank == x->rank &&
                   !memcmp(t->dims, x->dims, x->rank * sizeof x->dims[0]) && t->nbytes == x->nbytes &&
                   !memcmp(ct_modelfile_data(mf, t), x->bytes, x->nbytes);
        if (!same && mismatches++ < 3) CHECKF(0, "%s: tensor %zu %s differs from %s", fixture, i, t->name, x->name);
    }
    CHECKF(mismatches == 0, "%s: %zu tensors differ", fixture, mismatches);
}

static void convert_and_compare(const char *fixture) {
    convert_expect e;
    CHECKF(convert_expect_load(fixture, &e), "%s.expect unreadable", fixture);
    ct_checkpoint ck;
    ct_convert_options opt;
    ct_convert_options_init(&opt);
    ctm_config cfg;
    ct_convert_notes notes;
    ct_error err = {0};
    const char *out1 = convert_scratch_path(0, "first.bin"), *out2 = convert_scratch_path(1, "second.bin");
    for (int pass = 0; pass < 2; pass++) {
        if (!open_fixture(fixture, &ck)) break;
        ct_status st = ct_infer_config(&ck, &opt, &cfg, &notes, &err);
        CHECKF(st == CT_OK, "%s: %s", fixture, err.message);
        if (st == CT_OK) {
            if (pass == 0) check_config(fixture, &cfg, &e, &notes);
            st = ct_writer_write(&ck, &cfg, CTM_DTYPE_F32, pass ? out2 : out1, &err);
            CHECKF(st == CT_OK, "%s: %s", fixture, err.message);
        }
        ct_checkpoint_close(&ck);
    }
    ct_modelfile *mf;
    ct_status st = ct_modelfile_open(out1, &mf, &err);
    CHECKF(st == CT_OK, "%s: %s", fixture, err.message);
    if (st == CT_OK) {
        CHECK(!memcmp(ct_modelfile_config(mf), &cfg, sizeof cfg));
        check_tensors(fixture, mf, &e);
        ct_modelfile_close(mf);
    }
    size_t n1, n2;
    uint8_t *b1 = convert_read_file(out1, &n1), *b2 = convert_read_file(out2, &n2);
    CHECKF(b1 && b2 && n1 == n2 && !memcmp(b1, b2, n1), "%s: two conversions differ", fixture);
    free(b1);
    free(b2);
    convert_expect_free(&e);
}

static void test_fixtures_convert_bit_exact(void) {
    for (size_t i = 0; i < NUM_FIXTURES; i++) convert_and_compare(FIXTURES[i]);
}

/* ---- the fixtures carry the features they are meant to test ------------- */

static int any_storage(const ct_checkpoint *ck, const char *location) {
    const ct_py_heap *h = &ck->archive.heap;
    for (size_t i = 0; i < h->num_storages; i++)
        if (ct_py_bytes_eq(h->storages[i]->u.storage.location, location)) return 1;
    return 0;
}

static void test_fixture_features(void) {
    ct_checkpoint ck;
    if (open_fixture("seg_r18_t1_legacy_cuda", &ck)) {
        CHECK(!ck.archive.is_zip && any_storage(&ck, "cuda:0") && !any_storage(&ck, "cpu"));
        CHECK(!strcmp(ck.weights_key, "model_weights"));
        const ct_pyobj *opt = ct_py_dict_get(ck.archive.root, "optimizer_state");
        CHECK(opt && opt->kind == CT_PY_DICT);
        /* Optimizer moments are storages too, but are never read: the model needs fewer. */
        CHECK(ck.archive.heap.num_storages > 2 * ck.num_tensors);
        CHECK(ck.num_counters == 15);
        ct_checkpoint_close(&ck);
    }
    if (open_fixture("cls_r18_t1_zip", &ck)) {
        CHECK(ck.archive.is_zip && any_storage(&ck, "cpu"));
        CHECK(ck.archive.prefix.len == strlen("cls_r18_t1_zip/") &&
              !memcmp(ck.archive.prefix.ptr, "cls_r18_t1_zip/", ck.archive.prefix.len));
        ct_checkpoint_close(&ck);
    }
    if (open_fixture("cls_r34_t0_views", &ck)) {
        int offset = 0, strided = 0;
        for (size_t i = 0; i < ck.num_tensors; i++) {
            const ct_tensor_view *v = &ck.tensors[i].view;
            offset |= v->offset != 0;
            strided |= v->rank == 2 && v->strides[0] == 1 && v->dims[1] > 1;
        }
        CHECK(offset && strided);
        ct_checkpoint_close(&ck);
    }
    if (open_fixture("seg_r18_t2_mixed", &ck)) {
        int f64 = 0, f16 = 0;
        for (size_t i = 0; i < ck.num_tensors; i++) {
            f64 |= ck.tensors[i].view.dtype == CT_DT_F64;
            f16 |= ck.tensors[i].view.dtype == CT_DT_F16;
        }
        CHECK(f64 && f16);
        ct_checkpoint_close(&ck);
    }
    if (open_fixture("seg_r18_t0_tv013", &ck)) {
        size_t renamed = 0;
        for (size_t i = 0; i < ck.num_tensors; i++) renamed += (size_t)ck.tensors[i].renamed;
        CHECK(renamed == 4);   /* inner_blocks.0 and layer_blocks.0, weight and bias */
        ct_checkpoint_close(&ck);
    }
    if (open_fixture("seg_r34_t2_bare", &ck)) {
        CHECK(ck.weights_key == NULL && !strcmp(ck.layout, "bare state_dict"));
        ct_checkpoint_close(&ck);
    }
    if (open_fixture("seg_r50_state_dict_legacy", &ck)) {
        CHECK(!strcmp(ck.weights_key, "state_dict"));
        ct_checkpoint_close(&ck);
    }
}

/* ---- overrides ---------------------------------------------------------- */

static ct_status infer_with(const char *fixture, const ct_convert_options *opt, ctm_config *cfg,
                            ct_error *err) {
    ct_checkpoint ck;
    if (!open_fixture(fixture, &ck)) return CT_E_IO;
    ct_status st = ct_infer_config(&ck, opt, cfg, NULL, err);
    ct_checkpoint_close(&ck);
    return st;
}

static void test_overrides(void) {
    ct_convert_options opt;
    ct_convert_options_init(&opt);
    opt.score_thresh = 0.75;
    opt.nms_thresh = 0.3;
    opt.rpn_nms_thresh = 0.7;
    opt.mask_thresh = 0.0;
    opt.detections = 128;
    opt.num_class_names = 2;
    strcpy(opt.class_names[0], "bg");
    strcpy(opt.class_names[1], "opacity");
    ctm_config cfg;
    ct_error err = {0};
    CHECKF(infer_with("seg_r18_t1_legacy_cuda", &opt, &cfg, &err) == CT_OK, "%s", err.message);
    CHECK(cfg.box_score_thresh == 0.75 && cfg.box_nms_thresh == 0.3 && cfg.rpn_nms_thresh == 0.7);
    CHECK(cfg.mask_thresh == 0.0 && cfg.detections_per_img == 128);
    CHECK(!strcmp(cfg.class_names[1], "opacity") && cfg.class_names[2][0] == '\0');

    opt.num_class_names = 3;   /* the model has 2 */
    CHECK(infer_with("seg_r18_t1_legacy_cuda", &opt, &cfg, &err) == CT_E_ARG);
    CHECK(strstr(err.message, "class names") != NULL);

    ct_convert_options_init(&opt);
    opt.detections = 7;        /* a classifier ranks exactly roi_batch_size rows */
    CHECK(infer_with("cls_r18_t1_zip", &opt, &cfg, &err) == CT_E_ARG);

    /* Forcing the wrong task names the first tensor that does not fit. */
    ct_convert_options_init(&opt);
    opt.task = CTM_TASK_SEGMENTATION;
    ct_checkpoint ck;
    if (open_fixture("cls_r18_t1_zip", &ck)) {
        CHECK(ct_infer_config(&ck, &opt, &cfg, NULL, &err) != CT_OK);
        CHECKF(strstr(err.message, "mask_head.mask_fcn1") != NULL, "%s", err.message);
        ct_checkpoint_close(&ck);
    }
    /* Anchors that disagree with the RPN head are refused with a hint. */
    ct_convert_options_init(&opt);
    opt.num_anchor_sizes = 3;
    opt.anchor_sizes[0] = 8, opt.anchor_sizes[1] = 16, opt.anchor_sizes[2] = 32;
    CHECK(infer_with("seg_r34_t2_bare", &opt, &cfg, &err) == CT_E_FORMAT);
    CHECKF(strstr(err.message, "--anchor-sizes") != NULL, "%s", err.message);
    /* ... and accepted when they agree (3 sizes x 10 ratios = 30). */
    opt.num_aspect_ratios = 10;
    for (int i = 0; i < 10; i++) opt.aspect_ratios[i] = 0.5f + 0.25f * (float)i;
    CHECKF(infer_with("seg_r34_t2_bare", &opt, &cfg, &err) == CT_OK, "%s", err.message);
    CHECK(cfg.num_anchor_sizes == 3 && cfg.anchor_sizes[2] == 32 && cfg.anchor_sizes[3] == 0);
    /* A non-finite threshold never reaches a file. */
    ct_convert_options_init(&opt);
    opt.score_thresh = INFINITY;
    CHECK(infer_with("seg_r34_t2_bare", &opt, &cfg, &err) == CT_E_FORMAT);
}

/* Converting from a buffer gives what converting the file gives. */
static void test_memory_matches_file(void) {
    for (size_t i = 0; i < NUM_FIXTURES; i++) {
        size_t size;
        uint8_t *data = convert_read_file(pth_path(FIXTURES[i]), &size);
        ct_error err = {0};
        CHECKF(data && convert_memory(data, size, &err) == CT_OK, "%s: %s", FIXTURES[i], err.message);
        free(data);
    }
}

/* ---- the ctconvert command line ---------------------------------------- */

/* Runs "ctconvert ARGS" (stdout and stderr together); returns its exit status. */
static int run_cli(const char *args, char *out, size_t size) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/ctconvert %s 2>&1", cli_bin_dir(), args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* ---- float16 weights (ctconvert --half) ---------------------------------- */

/* Converts fixture into path with float16 weights; 1 on success. */
static int convert_half(const char *fixture, const char *path, ct_error *err) {
    ct_checkpoint ck;
    ct_convert_options opt;
    ct_convert_options_init(&opt);
    ctm_config cfg;
    if (!open_fixture(fixture, &ck)) return 0;
    ct_status st = ct_infer_config(&ck, &opt, &cfg, NULL, err);
    if (st == CT_OK) st = ct_writer_write(&ck, &cfg, CTM_DTYPE_F16, path, err);
    ct_checkpoint_close(&ck);
    return st == CT_OK;
}

/* Every weight of rank >= 2 is the float16 nearest to the dump's float32
 * value; every other tensor is float32 and unchanged; the file loads. */
static void test_half_weights(void) {
    const char *out = convert_scratch_path(0, "half.bin");
    for (size_t f = 0; f < NUM_FIXTURES; f++) {
        convert_expect e;
        ct_error err = {0};
        CHECKF(convert_expect_load(FIXTURES[f], &e), "%s.expect unreadable", FIXTURES[f]);
        CHECKF(convert_half(FIXTURES[f], out, &err), "%s: %s", FIXTURES[f], err.message);
        ct_modelfile *mf;
        if (ct_modelfile_open(out, &mf, &err) != CT_OK) {
            CHECKF(0, "%s: %s", FIXTURES[f], err.message);
            convert_expect_free(&e);
            continue;
        }
        size_t wrong = 0, halves = 0;
        for (size_t i = 0; i < e.num_tensors && i < ct_modelfile_count(mf); i++) {
            const ctm_tensor_entry *t = ct_modelfile_entry(mf, i);
            const convert_expect_tensor *x = &e.tensors[i];
            const uint8_t *data = ct_modelfile_data(mf, t);
            if (x->rank < 2) {
                wrong += t->dtype != CTM_DTYPE_F32 || t->nbytes != x->nbytes || memcmp(data, x->bytes, x->nbytes);
                continue;
            }
            halves++;
            wrong += t->dtype != CTM_DTYPE_F16 || t->nbytes != x->nbytes / 2;
            for (size_t k = 0; k < x->nbytes / 4 && t->nbytes == x->nbytes / 2; k++) {
                float v;
                uint16_t h;
                memcpy(&v, x->bytes + 4 * k, 4);
                memcpy(&h, data + 2 * k, 2);
                wrong += h != ct_float_to_half1(v);
            }
        }
        CHECKF(wrong == 0 && halves > 0, "%s: %zu wrong (%zu float16 tensors)", FIXTURES[f], wrong, halves);
        ct_modelfile_close(mf);
        ct_model *model;
        CHECKF(ct_model_load(out, &model, &err) == CT_OK, "%s: %s", FIXTURES[f], err.message);
        if (model) ct_model_free(model);
        convert_expect_free(&e);
    }
}

/* A weight beyond float16's range is refused by name, and nothing is written. */
static void test_half_out_of_range(void) {
    convert_expect e;
    CHECK(convert_expect_load("seg_r18_t1_legacy_cuda", &e));
    size_t size;
    uint8_t *data = convert_read_file(pth_path("seg_r18_t1_legacy_cuda"), &size);
    const convert_expect_tensor *conv1 = &e.tensors[0];   /* backbone.body.conv1.weight */
    uint8_t *at = data ? memmem(data, size, conv1->bytes, 16) : NULL;   /* its first 4 values */
    CHECK(at != NULL && !strcmp(conv1->name, "backbone.body.conv1.weight"));
    if (at) {
        const float big = 70000.0f;
        memcpy(at + 8, &big, 4);   /* element 2 */
        const char *pth = convert_scratch_path(1, "big.pth"), *out = convert_scratch_path(0, "big.bin");
        FILE *f = fopen(pth, "wb");
        CHECK(f && fwrite(data, 1, size, f) == size && fclose(f) == 0);
        static char text[4096];
        char args[1024];
        snprintf(args, sizeof args, "--half %s %s", pth, out);
        CHECKF(run_cli(args, text, sizeof text) == 1 &&
               strstr(text, "tensor backbone.body.conv1.weight element 2 (70000) is beyond float16's range"),
               "%s", text);
        CHECK(access(out, F_OK) != 0);
        snprintf(args, sizeof args, "%s %s", pth, out);   /* float32 keeps it */
        CHECKF(run_cli(args, text, sizeof text) == 0, "%s", text);
    }
    free(data);
    convert_expect_free(&e);
}

static void test_cli(void) {
    static char out[65536];
    char args[1024];
    CHECK(run_cli("", out, sizeof out) == 2 && strstr(out, "usage: ctconvert"));
    CHECK(run_cli("--help", out, sizeof out) == 0 && strstr(out, "never\nexecuted"));
    CHECK(run_cli("--version", out, sizeof out) == 0 && strstr(out, "ctconvert " CTINFER_VERSION));
    CHECK(run_cli("--bogus a b", out, sizeof out) == 2 && strstr(out, "unknown option --bogus"));
    CHECK(run_cli("--score-thresh nan a b", out, sizeof out) == 2 && strstr(out, "--score-thresh"));
    CHECK(run_cli("--detections", out, sizeof out) == 2 && strstr(out, "needs a value"));
    CHECK(run_cli("only_one.pth", out, sizeof out) == 2);
    CHECK(run_cli("/nonexistent/x.pth out.bin", out, sizeof out) == 1 && lines(out) == 1 &&
          strstr(out, "/nonexistent/x.pth: cannot open"));
    /* A conversion, its model file verified and summarized like the checkpoint. */
    const char *bin = convert_scratch_path(2, "cli.bin");
    snprintf(args, sizeof args, "--score-thresh=0.25 %s %s", pth_path("seg_r18_t1_legacy_cuda"), bin);
    CHECKF(run_cli(args, out, sizeof out) == 0 && strstr(out, "wrote"), "%s", out);
    snprintf(args, sizeof args, "--verify %s", bin);
    CHECKF(run_cli(args, out, sizeof out) == 0 && strstr(out, ": ok (99 tensors, 18510 parameters)"), "%s", out);
    snprintf(args, sizeof args, "--info %s", bin);
    CHECK(run_cli(args, out, sizeof out) == 0 && strstr(out, "score > 0.25") &&
          strstr(out, "parameters      18510 (BatchNorm running statistics not counted)"));
    snprintf(args, sizeof args, "--info %s", pth_path("seg_r18_t1_legacy_cuda"));
    CHECK(run_cli(args, out, sizeof out) == 0 && strstr(out, "legacy stream") &&
          strstr(out, "anchor_generator") && strstr(out, "backbone.body.layer3.1.bn2.running_var") &&
          strstr(out, "parameters      18510 (BatchNorm running statistics not counted)") &&
          strstr(out, "sizes 2 4 8 16 32 x aspect ratios (h/w) 0.1 0.25 0.5 1 1.5 2"));
    /* Failures are one line naming the file: a model file is no checkpoint, nor a checkpoint a model. */
    snprintf(args, sizeof args, "%s %s.again", bin, bin);
    CHECKF(run_cli(args, out, sizeof out) == 1 && lines(out) == 1 && strstr(out, "already a ctinfer model"), "%s", out);
    snprintf(args, sizeof args, "--verify %s", pth_path("cls_r18_t1_zip"));
    CHECKF(run_cli(args, out, sizeof out) == 1 && lines(out) == 1 && strstr(out, "bad magic"), "%s", out);
    snprintf(args, sizeof args, "--task classification %s %s", pth_path("seg_r18_t1_legacy_cuda"), bin);
    CHECKF(run_cli(args, out, sizeof out) == 1 && lines(out) == 1 && strstr(out, "s2new.fc_scores.weight"), "%s", out);
}

int main(void) {
    RUN(test_fixtures_convert_bit_exact);
    RUN(test_fixture_features);
    RUN(test_overrides);
    RUN(test_memory_matches_file);
    RUN(test_cli);
    RUN(test_half_weights);
    RUN(test_half_out_of_range);
    return TEST_SUMMARY();
}
