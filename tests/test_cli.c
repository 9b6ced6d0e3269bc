/* End-to-end tests of the ctinfer and ctconvert programs ($CT_BIN, default
 * build/) on small converted fixture models: exit codes and one-line
 * messages, --json against the golden detections, --masks, decode, the
 * pictures, batch runs with --jsonl/--out-dir/--resume, SIGINT, the
 * progress bar, and failing output paths. */
#define _XOPEN_SOURCE 700   /* posix_openpt & co. for the progress-bar test */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_json.h"
#include "cli_run.h"
#include "image/file_io.h"
#include "image/png_decode.h"
#include "npy.h"
#include "output/palette.h"
#include "test.h"

#define SEG "tests/fixtures/golden/seg_r18_t1"
#define CLS "tests/fixtures/golden/cls_r18_t1"
#define SMALL "--min-size", "64", "--max-size", "128"   /* the fixtures' run settings */

static char *scratch;
static char ctinfer[1024], ctconvert[1024], seg_model[1024], cls_model[1024];
static int models_ok;
static int img_w, img_h;       /* of SEG/image.png */
static int golden_d;           /* detections of the SEG golden */
static int golden_rows;        /* ranked rows of the CLS golden */

/* Declares char var[] holding scratch/name. */
#define TMP(var, name)  \
    char var[1024];     \
    snprintf(var, sizeof var, "%s/%s", scratch, name)

/* scratch/name in a rotating set of buffers, for short-lived uses. */
static const char *tmp(const char *name) { return cli_scratch_path(scratch, name); }

/* Exit status, and a message that is one line starting "ctinfer: " and naming `part`. */
static void check_failure(const cli_result *r, int status, const char *part) {
    CHECKF(r->status == status, "status %d, want %d (stderr: %s)", r->status, status, r->err);
    CHECKF(r->out_len == 0, "stdout not empty: %s", r->out);
    CHECKF(!strncmp(r->err, "ctinfer: ", 9), "stderr: %s", r->err);
    char *nl = strchr(r->err, '\n');
    CHECKF(nl && (status == 2 ? !strncmp(nl + 1, "usage:", 6) : nl[1] == '\0'), "not one line: %s", r->err);
    char first[1024];
    snprintf(first, sizeof first, "%.*s", nl ? (int)(nl - r->err) : 0, r->err);
    if (part) CHECKF(strstr(first, part) != NULL, "'%s' not in %s", part, r->err);
}

static int decode_png(const char *path, ct_raster *out) {
    uint8_t *data;
    size_t len;
    if (ct_read_file(path, 1 << 26, &data, &len, NULL) != CT_OK) return -1;
    ct_status st = ct_png_decode(data, len, NULL, out, NULL);
    free(data);
    return st == CT_OK ? 0 : -1;
}

/* The facts of the golden fixtures the tests compare with. */
static int read_goldens(void) {
    ct_raster image;
    npy_array scores, rows;
    if (decode_png(SEG "/image.png", &image) != 0) return 0;
    img_w = image.width;
    img_h = image.height;
    ct_raster_free(&image);
    if (npy_read(SEG "/det_scores.npy", &scores) != 0) return 0;
    golden_d = (int)scores.count;
    npy_free(&scores);
    if (npy_read(CLS "/ranked_rows.npy", &rows) != 0) return 0;
    golden_rows = (int)rows.dims[0];
    npy_free(&rows);
    return golden_d > 0 && golden_rows > 0;
}

static void setup(void) {
    cli_program_path(ctinfer, sizeof ctinfer, "ctinfer");
    cli_program_path(ctconvert, sizeof ctconvert, "ctconvert");
    scratch = cli_make_scratch();
    snprintf(seg_model, sizeof seg_model, "%s/seg.bin", scratch);
    snprintf(cls_model, sizeof cls_model, "%s/cls.bin", scratch);
    cli_result r;
    CLI(r, ctconvert, SEG "/model.pth", seg_model);
    int ok = r.status == 0;
    cli_result_free(&r);
    CLI(r, ctconvert, CLS "/model.pth", cls_model);
    models_ok = ok && r.status == 0 && read_goldens();
    cli_result_free(&r);
}

/* ---- messages and exit codes ------------------------------------------ */

static void test_help_and_version(void) {
    cli_result r;
    CLI(r, ctinfer, "--help");
    CHECK(r.status == 0 && strstr(r.out, "usage: ctinfer MODEL.bin IMAGE") && strstr(r.out, "--jsonl"));
    CHECK(strstr(r.out, "--overlay") && strstr(r.out, "--scoremap") && r.err_len == 0);
    cli_result_free(&r);
    CLI(r, ctinfer, "--version");
    CHECK(r.status == 0 && !strncmp(r.out, "ctinfer 0.", 10) && cli_count_lines(r.out) == 1);
    cli_result_free(&r);
    CLI(r, ctinfer, seg_model, "x.png", "-h");
    CHECK(r.status == 0 && strstr(r.out, "usage:"));
    cli_result_free(&r);
}

static void test_usage_errors(void) {
    struct {
        const char *args[6];
        const char *part;
    } cases[] = {
        {{"--bogus"}, "unknown option '--bogus'"},
        {{seg_model, SEG "/image.png", "--score-thresh", "abc"}, "--score-thresh"},
        {{seg_model, SEG "/image.png", "--nms-thresh", "1.5"}, "--nms-thresh"},
        {{seg_model, SEG "/image.png", "--detections", "2.5"}, "integer"},
        {{seg_model, SEG "/image.png", "--window", "0,40"}, "--window"},
        {{seg_model, SEG "/image.png", "--mask"}, "--mask needs a value"},
        {{seg_model}, "missing IMAGE"},
        {{seg_model, SEG "/image.png", SEG "/image.png"}, "--jsonl"},
        {{seg_model, SEG "/image.png", "--resume"}, "--resume needs --jsonl"},
        {{seg_model, SEG "/image.png", "--jsonl", "o.jsonl", "--overlay", "o.png"}, "--overlay"},
        {{seg_model, SEG "/image.png", "--jsonl", "o.jsonl", "--json"}, "--json"},
        {{seg_model, SEG "/image.png", "--outputs", "overlay"}, "--out-dir"},
        {{seg_model, SEG "/image.png", "--out-dir", "d", "--outputs", "overlay,bogus"}, "bogus"},
        {{"decode", SEG "/image.png"}, "decode takes IMAGE OUT.npy"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *argv[8] = {ctinfer};
        for (int k = 0; k < 6 && cases[i].args[k]; k++) argv[k + 1] = cases[i].args[k];
        cli_result r;
        CHECK(cli_run(scratch, argv, &r) == 0);
        check_failure(&r, 2, cases[i].part);
        cli_result_free(&r);
    }
    cli_result r;   /* settings the model refuses are usage errors too */
    CLI(r, ctinfer, cls_model, CLS "/image.png", SMALL, "--detections", "5");
    CHECK(r.status == 1 || r.status == 2);
    CHECK(strstr(r.err, "128") != NULL && cli_count_lines(r.err) >= 1);
    cli_result_free(&r);
}

static void test_file_errors(void) {
    cli_result r;
    CLI(r, ctinfer, tmp("missing.bin"), SEG "/image.png");
    check_failure(&r, 1, "missing.bin");
    cli_result_free(&r);
    CLI(r, ctinfer, seg_model, tmp("missing.png"));
    check_failure(&r, 1, "missing.png");
    cli_result_free(&r);
    CLI(r, ctinfer, seg_model, SEG);
    check_failure(&r, 1, SEG);
    CHECK(strstr(r.err, "directory") != NULL);
    cli_result_free(&r);
    CLI(r, ctinfer, SEG, SEG "/image.png");
    check_failure(&r, 1, SEG);
    cli_result_free(&r);
    CLI(r, ctinfer, SEG "/image.png", SEG "/image.png");
    check_failure(&r, 1, SEG "/image.png");
    CHECK(strstr(r.err, "model") != NULL);
    cli_result_free(&r);
    CLI(r, ctinfer, SEG "/model.pth", SEG "/image.png");   /* a checkpoint, not converted */
    check_failure(&r, 1, "model.pth");
    cli_result_free(&r);
    CLI(r, ctinfer, seg_model, SEG "/info.txt");
    check_failure(&r, 1, "info.txt");
    cli_result_free(&r);
    const char *kinds[][2] = {{"--masks", "m.npy"}, {"--mask", "m.png"}, {"--scoremap", "s.png"}};
    for (int k = 0; k < 3; k++) {
        CLI(r, ctinfer, cls_model, CLS "/image.png", SMALL, kinds[k][0], tmp(kinds[k][1]));
        check_failure(&r, 1, "segmentation model");
        CHECK(strstr(r.err, kinds[k][0]) && strstr(r.err, "cls.bin") && !cli_exists(tmp(kinds[k][1])));
        cli_result_free(&r);
    }
    if (geteuid() == 0) {
        printf("    (running as root: the unreadable-file case is skipped)\n");
        return;
    }
    TMP(locked, "locked.png");
    size_t len;
    char *png = cli_read_text(SEG "/image.png", &len);
    CHECK(png && cli_write_bytes(locked, png, len) == 0 && chmod(locked, 0) == 0);
    free(png);
    CLI(r, ctinfer, seg_model, locked);
    check_failure(&r, 1, "locked.png");
    cli_result_free(&r);
}

/* ---- results ------------------------------------------------------------ */

static void test_json_matches_golden(void) {
    cli_result r;
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--json");
    CHECK(r.status == 0 && r.err_len == 0);
    CHECK(json_valid(r.out, r.out_len));
    char size[64];
    snprintf(size, sizeof size, "\"width\": %d, \"height\": %d", img_w, img_h);
    CHECK(strstr(r.out, "\"task\": \"segmentation\"") && strstr(r.out, size));
    npy_array scores, boxes;
    CHECK(npy_read(SEG "/det_scores.npy", &scores) == 0 && npy_read(SEG "/final_boxes.npy", &boxes) == 0);
    double got[256], x1[256];
    int n = json_numbers_after(r.out, "\"score\": ", got, 256);
    CHECKF(n == (int)scores.count && n > 0, "%d detections, golden %zu", n, scores.count);
    CHECK(json_numbers_after(r.out, "\"box\": [", x1, 256) == n);
    for (int i = 0; i < n && i < (int)scores.count; i++) {
        CHECK_NEAR(got[i], scores.data[i], 1e-4);
        CHECK_NEAR(x1[i], boxes.data[4 * i], 1e-2);
    }
    npy_free(&scores);
    npy_free(&boxes);
    cli_result_free(&r);

    CLI(r, ctinfer, cls_model, CLS "/image.png", SMALL, "--json");
    CHECK(r.status == 0 && json_valid(r.out, r.out_len));
    double p[3], deltas[256];
    CHECK(json_numbers_after(r.out, "\"probabilities\": [", p, 1) == 1);
    CHECK(json_numbers_after(r.out, "\"deltas\": [", deltas, 256) == golden_rows);
    npy_array logits;
    double l0;
    CHECK(npy_read(CLS "/logits.npy", &logits) == 0 && json_numbers_after(r.out, "\"logits\": [", &l0, 1) == 1);
    CHECK(logits.count == 3 && fabs(l0 - logits.data[0]) < 1e-4);
    npy_free(&logits);
    cli_result_free(&r);
}

static void test_masks_npy(void) {
    cli_result r;
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--masks", tmp("masks.npy"));
    CHECK(r.status == 0);
    cli_result_free(&r);
    npy_array got, want;
    CHECK(npy_read(tmp("masks.npy"), &got) == 0 && npy_read(SEG "/pasted_masks.npy", &want) == 0);
    CHECK(got.rank == 3 && got.dims[0] == golden_d && got.dims[1] == img_h && got.dims[2] == img_w);
    CHECK(want.count <= got.count);
    double worst = 0;
    for (size_t i = 0; i < want.count && i < got.count; i++)
        if (fabs(got.data[i] - want.data[i]) > worst) worst = fabs(got.data[i] - want.data[i]);
    CHECKF(worst <= 1e-3, "pasted logits differ by %g", worst);
    npy_free(&got);
    npy_free(&want);
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--score-thresh", "0.99", "--masks", tmp("none.npy"));
    CHECK(r.status == 0 && strstr(r.out, "0 detections"));
    cli_result_free(&r);
    CHECK(npy_read(tmp("none.npy"), &got) == 0);
    CHECK(got.rank == 3 && got.dims[0] == 0 && got.dims[1] == img_h && got.dims[2] == img_w);
    npy_free(&got);
}

/* The .npy header of path has this descr and shape, and the file the matching size. */
static void check_npy(const char *path, const char *descr, const char *shape, size_t count, size_t item) {
    size_t len;
    char *data = cli_read_text(path, &len);
    CHECKF(data != NULL, "%s not written", path);
    if (!data) return;
    CHECK(len > 10 && !memcmp(data, "\x93NUMPY", 6));
    size_t header = 10 + ((unsigned char)data[8] | (size_t)(unsigned char)data[9] << 8);
    char want[128];
    snprintf(want, sizeof want, "'descr': '%s'", descr);
    CHECKF(strstr(data + 10, want), "%s: no %s in %.80s", path, want, data + 10);
    snprintf(want, sizeof want, "'shape': %s", shape);
    CHECKF(strstr(data + 10, want), "%s: no %s in %.80s", path, want, data + 10);
    CHECKF(len == header + count * item, "%s: %zu bytes, want %zu", path, len, header + count * item);
    free(data);
}

static void test_decode(void) {
    char seg_shape[32];
    snprintf(seg_shape, sizeof seg_shape, "(%d, %d)", img_h, img_w);
    struct {
        const char *image, *descr, *shape;
        size_t count, item;
    } cases[] = {
        {SEG "/image.png", "|u1", seg_shape, (size_t)img_w * img_h, 1},
        {"tests/fixtures/pngsuite/basn2c08.png", "|u1", "(32, 32, 3)", 32 * 32 * 3, 1},
        {"tests/fixtures/ct/ct1_u16_hu_plus1024.png", "<u2", "(512, 512)", 512 * 512, 2},
        {"tests/fixtures/ct/ct1_crop128_CT_small.dcm", "<f4", "(128, 128)", 128 * 128, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cli_result r;
        CLI(r, ctinfer, "decode", cases[i].image, tmp("decoded.npy"));
        CHECKF(r.status == 0, "decode %s: %s", cases[i].image, r.err);
        cli_result_free(&r);
        check_npy(tmp("decoded.npy"), cases[i].descr, cases[i].shape, cases[i].count, cases[i].item);
    }
    cli_result r;
    CLI(r, ctinfer, "decode", SEG "/info.txt", tmp("bad.npy"));
    check_failure(&r, 1, "info.txt");
    CHECK(!cli_exists(tmp("bad.npy")));
    cli_result_free(&r);
}

/* ---- pictures ----------------------------------------------------------- */

/* Up to max boxes: the four numbers after each "box": [ in text. */
static int json_boxes(const char *text, float (*boxes)[4], int max) {
    int n = 0;
    for (const char *p = strstr(text, "\"box\": ["); p && n < max; p = strstr(p + 1, "\"box\": [")) {
        char *q = (char *)p + 8;
        for (int k = 0; k < 4; k++, q += strspn(q, ", ")) boxes[n][k] = strtof(q, &q);
        n++;
    }
    return n;
}

/* Where a score label ("0.xx", scale 1) or a box outline (1 px) may be drawn for box b (documented layout). */
static int decorated(const float b[4], int x, int y) {
    int x0 = (int)floorf(b[0]), y0 = (int)floorf(b[1]), x1 = (int)ceilf(b[2]), y1 = (int)ceilf(b[3]);
    int lw = 4 * 6 - 1 + 2, lh = 7 + 2;
    int lx = x0 < img_w - lw ? x0 : img_w - lw;
    int in_label = x >= lx && x < lx + lw && ((y >= y0 - lh && y < y0 + lh) || (y >= y1 && y < y1 + lh));
    int on_outline = x >= x0 && x <= x1 && y >= y0 && y <= y1 &&
                     (x <= x0 + 1 || x >= x1 - 2 || y <= y0 + 1 || y >= y1 - 2);
    return in_label || on_outline;
}

static int any_decorated(float (*boxes)[4], int n, int x, int y) {
    for (int i = 0; i < n; i++)
        if (decorated(boxes[i], x, y)) return 1;
    return 0;
}

static void test_segmentation_pictures(void) {
    cli_result r;
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--json", "--overlay", tmp("o.png"), "--mask",
        tmp("m.png"), "--scoremap", tmp("s.png"), "--masks", tmp("ms.npy"));
    CHECK(r.status == 0);
    float boxes[128][4];
    int nbox = json_boxes(r.out, boxes, 128);
    CHECK(nbox == golden_d);
    cli_result_free(&r);
    ct_raster base, overlay, mask, scoremap;
    npy_array masks;
    CHECK(decode_png(SEG "/image.png", &base) == 0 && base.channels == 1);
    CHECK(decode_png(tmp("o.png"), &overlay) == 0 && decode_png(tmp("m.png"), &mask) == 0 &&
          decode_png(tmp("s.png"), &scoremap) == 0 && npy_read(tmp("ms.npy"), &masks) == 0);
    CHECK(overlay.width == img_w && overlay.height == img_h && overlay.channels == 3 && overlay.bit_depth == 8);
    CHECK(mask.width == img_w && mask.height == img_h && mask.channels == 1);
    CHECK(scoremap.width == img_w && scoremap.height == img_h && scoremap.channels == 3);
    size_t plane = (size_t)img_w * img_h;
    if (!overlay.u8 || !mask.u8 || !scoremap.u8 || !base.u8 || masks.count != (size_t)nbox * plane) return;
    int tinted = 0, untouched = 0, in_mask = 0;
    for (size_t i = 0; i < plane; i++) {
        int x = (int)(i % img_w), y = (int)(i / img_w), any = 0;
        float best = -1;
        for (int d = 0; d < nbox; d++) {
            float v = masks.data[d * plane + i];
            any |= v > 0.5f;
            if (v != 0.0f && 1.0f / (1.0f + expf(-v)) > best) best = 1.0f / (1.0f + expf(-v));
        }
        in_mask += any;
        CHECKF(mask.u8[i] == (any ? 255 : 0), "mask.png at %d,%d", x, y);
        ct_rgb want = best < 0 ? (ct_rgb){0, 0, 0} : ct_viridis(best);
        const uint8_t *s = scoremap.u8 + 3 * i, *o = overlay.u8 + 3 * i;
        CHECKF(s[0] == want.r && s[1] == want.g && s[2] == want.b, "scoremap at %d,%d", x, y);
        if (any_decorated(boxes, nbox, x, y)) continue;
        if (any) {
            CHECKF(!(o[0] == o[1] && o[1] == o[2]), "mask pixel %d,%d not tinted", x, y);
            tinted++;
        } else {
            CHECKF(o[0] == base.u8[i] && o[1] == base.u8[i] && o[2] == base.u8[i], "pixel %d,%d changed", x, y);
            untouched++;
        }
    }
    CHECKF(in_mask > 100 && tinted > 20 && untouched > 100, "%d mask pixels, %d tinted, %d untouched checked",
           in_mask, tinted, untouched);
    ct_raster_free(&base);
    ct_raster_free(&overlay);
    ct_raster_free(&mask);
    ct_raster_free(&scoremap);
    npy_free(&masks);
    CHECK(!cli_dir_has(scratch, ".tmp."));
}

static void test_out_dir_and_input_dump(void) {
    TMP(dir, "single_out");
    cli_result r;
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--out-dir", dir, "--outputs", "scoremap,masks,input");
    CHECKF(r.status == 0, "%s", r.err);
    cli_result_free(&r);
    CHECK(cli_exists(tmp("single_out/image.scoremap.png")) && cli_exists(tmp("single_out/image.masks.npy")));
    CHECK(!cli_exists(tmp("single_out/image.overlay.png")) && !cli_exists(tmp("single_out/image.mask.png")));
    npy_array got, want;
    CHECK(npy_read(tmp("single_out/image.input.npy"), &got) == 0 && npy_read(SEG "/input.npy", &want) == 0);
    CHECK(got.rank == 3 && want.rank == 3 && got.dims[0] == 3);
    for (int k = 0; k < 3 && k < want.rank; k++) CHECK(got.dims[k] == want.dims[k]);
    double worst = 0;
    for (size_t i = 0; i < got.count && got.count == want.count; i++)
        if (fabs(got.data[i] - want.data[i]) > worst) worst = fabs(got.data[i] - want.data[i]);
    CHECKF(worst <= 1e-6, "input tensor differs by %g", worst);
    npy_free(&got);
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--dump-input", tmp("dumped.npy"));
    CHECK(r.status == 0 && npy_read(tmp("dumped.npy"), &got) == 0 && got.count == want.count);
    npy_free(&got);
    npy_free(&want);
    cli_result_free(&r);
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--out-dir", dir, "--overlay", tmp("x.png"));
    check_failure(&r, 2, "--out-dir");
    cli_result_free(&r);
}

static void test_classifier_overlay(void) {
    cli_result r;
    CLI(r, ctinfer, cls_model, CLS "/image.png", SMALL, "--json", "--overlay", tmp("co.png"));
    CHECK(r.status == 0);
    static float boxes[1024][4];
    static double index[1024];
    int n = json_boxes(r.out, boxes, 1024);
    CHECK(n == golden_rows && json_numbers_after(r.out, "\"detection\": ", index, 1024) == n);
    float best[5][4];
    int distinct = 0;
    for (int i = 0; i < n && distinct < 5; i++)
        if (i == 0 || index[i] != index[i - 1]) memcpy(best[distinct++], boxes[i], sizeof best[0]);
    cli_result_free(&r);
    ct_raster base, overlay;
    CHECK(decode_png(CLS "/image.png", &base) == 0 && decode_png(tmp("co.png"), &overlay) == 0);
    CHECK(overlay.width >= base.width && overlay.height > base.height + 20 && overlay.channels == 3);
    if (!overlay.u8 || !base.u8) return;
    int untouched = 0;
    for (int y = 0; y < base.height; y++)
        for (int x = 0; x < base.width; x++) {
            if (any_decorated(best, distinct, x, y)) continue;
            const uint8_t *o = overlay.u8 + 3 * ((size_t)y * overlay.width + x);
            uint8_t v = base.u8[y * base.width + x];
            CHECKF(o[0] == v && o[1] == v && o[2] == v, "slice pixel %d,%d changed", x, y);
            untouched++;
        }
    CHECK(untouched > 1000);
    int coloured = 0;   /* the probability bars below the slice */
    for (int y = base.height; y < overlay.height; y++)
        for (int x = 0; x < overlay.width; x++) {
            const uint8_t *o = overlay.u8 + 3 * ((size_t)y * overlay.width + x);
            coloured += !(o[0] == o[1] && o[1] == o[2]);
        }
    CHECK(coloured > 50);
    ct_raster_free(&base);
    ct_raster_free(&overlay);
}

static void test_unwritable_outputs(void) {
    TMP(afile, "afile");
    CHECK(cli_write_bytes(afile, "x", 1) == 0);
    mkdir(tmp("adir"), 0755);
    struct {
        const char *option, *path;
    } cases[] = {
        {"--overlay", tmp("no_such_dir/o.png")},
        {"--mask", tmp("afile/m.png")},
        {"--scoremap", tmp("adir")},
        {"--masks", tmp("no_such_dir/m.npy")},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cli_result r;
        CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--mask", tmp("good.png"), cases[i].option,
            cases[i].path);
        check_failure(&r, 1, cases[i].path);
        cli_result_free(&r);
        CHECKF(!cli_exists(tmp("good.png")), "%s: another output was written before failing", cases[i].option);
    }
    CHECK(!cli_exists(tmp("no_such_dir")) && !cli_dir_has(scratch, ".tmp.") && !cli_dir_has(tmp("adir"), "png"));
    cli_result r;
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--jsonl", tmp("no_such_dir/r.jsonl"));
    check_failure(&r, 1, "r.jsonl");
    CHECK(!cli_exists(tmp("no_such_dir")));
    cli_result_free(&r);
}

/* ---- batch -------------------------------------------------------------- */

static void copy_file(const char *from, const char *to, size_t max_len) {
    size_t len;
    char *data = cli_read_text(from, &len);
    CHECK(data && cli_write_bytes(to, data, len < max_len ? len : max_len) == 0);
    free(data);
}

/* Line k (0-based) of text, copied into buf. */
static const char *line_of(const char *text, int k, char *buf, size_t size) {
    for (; k > 0 && text; k--) text = (text = strchr(text, '\n')) ? text + 1 : NULL;
    if (!text) return "";
    size_t n = strcspn(text, "\n");
    if (n >= size) n = size - 1;
    memcpy(buf, text, n);
    buf[n] = '\0';
    return buf;
}

static int line_ok(const char *line) { return strstr(line, "\"error\": null}") != NULL; }

static void test_batch(void) {
    TMP(in, "in");
    TMP(out, "out");
    TMP(jsonl, "run.jsonl");
    TMP(missing, "missing.png");
    mkdir(in, 0755);
    copy_file(SEG "/image.png", tmp("in/a.png"), SIZE_MAX);
    copy_file("tests/fixtures/golden/seg_one/image.png", tmp("in/b.png"), SIZE_MAX);
    copy_file(SEG "/image.png", tmp("in/c.png"), 300);   /* truncated */
    copy_file(SEG "/info.txt", tmp("in/notes.txt"), SIZE_MAX);
    cli_result r;
    CLI(r, ctinfer, seg_model, in, missing, SMALL, "--jsonl", jsonl, "--out-dir", out);
    CHECK(r.status == 1 && r.out_len == 0);
    CHECKF(strstr(r.err, "2 ok, 2 failed") && strstr(r.err, "skipped 1 file"), "summary: %s", r.err);
    CHECK(strstr(r.err, "c.png") && strstr(r.err, "missing.png") && !strchr(r.err, '\r'));
    cli_result_free(&r);
    size_t len;
    char *text = cli_read_text(jsonl, &len), line[1 << 16];
    CHECK(text && cli_count_lines(text) == 4 && len > 0 && text[len - 1] == '\n');
    const char *order[4] = {"in/a.png\"", "in/b.png\"", "in/c.png\"", "missing.png\""};
    for (int k = 0; k < 4 && text; k++) {
        line_of(text, k, line, sizeof line);
        CHECKF(json_valid(line, strlen(line)), "line %d is not JSON", k);
        CHECKF(strstr(line, order[k]) != NULL, "line %d is not %s", k, order[k]);
        CHECKF(line_ok(line) == (k < 2), "line %d: %.200s", k, line);
    }
    if (text) CHECK(strstr(line_of(text, 3, line, sizeof line), "\"error\": \"") != NULL);
    /* a line holds the same result as --json */
    CLI(r, ctinfer, seg_model, tmp("in/a.png"), SMALL, "--json");
    double want[128], got[128];
    int n = json_numbers_after(r.out, "\"score\": ", want, 128);
    int m = text ? json_numbers_after(line_of(text, 0, line, sizeof line), "\"score\": ", got, 128) : -1;
    CHECK(n == golden_d && m == n);
    for (int i = 0; i < n && i < m; i++) CHECK(got[i] == want[i]);
    cli_result_free(&r);
    CHECK(cli_exists(tmp("out/a.overlay.png")) && cli_exists(tmp("out/a.mask.png")));
    CHECK(cli_exists(tmp("out/b.overlay.png")) && !cli_dir_has(out, "c.") && !cli_dir_has(out, ".tmp."));

    /* --resume: the failed inputs are retried, the others skipped */
    copy_file("tests/fixtures/golden/seg_none/image.png", tmp("in/c.png"), SIZE_MAX);
    unlink(tmp("out/a.overlay.png"));
    char before[2][1 << 16];
    if (text) {
        line_of(text, 0, before[0], sizeof before[0]);
        line_of(text, 1, before[1], sizeof before[1]);
    }
    free(text);
    CLI(r, ctinfer, seg_model, in, missing, SMALL, "--jsonl", jsonl, "--out-dir", out, "--resume");
    CHECKF(r.status == 1 && strstr(r.err, "1 ok, 1 failed, 2 already done"), "resume: %s", r.err);
    cli_result_free(&r);
    text = cli_read_text(jsonl, &len);
    CHECK(text && cli_count_lines(text) == 4);
    if (text) {
        CHECK(!strcmp(line_of(text, 0, line, sizeof line), before[0]));
        CHECK(!strcmp(line_of(text, 1, line, sizeof line), before[1]));
        CHECK(line_ok(line_of(text, 2, line, sizeof line)) && strstr(line, "in/c.png\""));
        CHECK(!line_ok(line_of(text, 3, line, sizeof line)) && strstr(line, "missing.png\""));
    }
    free(text);
    CHECK(!cli_exists(tmp("out/a.overlay.png")) && cli_exists(tmp("out/c.overlay.png")));

    /* all done: nothing runs, the error line goes, the file stays whole */
    CLI(r, ctinfer, seg_model, in, SMALL, "--jsonl", jsonl, "--out-dir", out, "--resume");
    CHECKF(r.status == 0 && strstr(r.err, "0 ok, 0 failed, 3 already done"), "resume: %s", r.err);
    cli_result_free(&r);
    text = cli_read_text(jsonl, &len);
    CHECK(text && cli_count_lines(text) == 3 && !strstr(text, "missing.png") && !cli_dir_has(scratch, ".tmp."));
    free(text);
}

static void test_batch_resume_files(void) {
    TMP(jsonl, "torn.jsonl");
    cli_result r;
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--jsonl", jsonl);
    CHECK(r.status == 0 && strstr(r.err, "1 ok, 0 failed"));
    cli_result_free(&r);
    size_t len;
    char *text = cli_read_text(jsonl, &len);
    CHECK(text != NULL);
    if (!text) return;
    /* a line cut short by a crash is dropped, and its input run again */
    char *torn = malloc(len + 64);
    memcpy(torn, text, len);
    memcpy(torn + len, "{\"image\": {\"path\": \"tests/fixtures/golden/seg_one/ima", 54);
    CHECK(cli_write_bytes(jsonl, torn, len + 54) == 0);
    free(torn);
    CLI(r, ctinfer, seg_model, SEG "/image.png", "tests/fixtures/golden/seg_one/image.png", SMALL, "--jsonl", jsonl,
        "--resume");
    CHECKF(r.status == 0 && strstr(r.err, "1 ok, 0 failed, 1 already done"), "%s", r.err);
    cli_result_free(&r);
    char *after = cli_read_text(jsonl, &len);
    CHECK(after && cli_count_lines(after) == 2 && !strncmp(after, text, strlen(text)) && after[len - 1] == '\n');
    free(after);
    free(text);
    /* a file that is not ours is never rewritten */
    TMP(foreign, "foreign.jsonl");
    CHECK(cli_write_bytes(foreign, "{\"a\": 1}\n", 9) == 0);
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--jsonl", foreign, "--resume");
    check_failure(&r, 1, "foreign.jsonl");
    cli_result_free(&r);
    text = cli_read_text(foreign, &len);
    CHECK(text && !strcmp(text, "{\"a\": 1}\n"));
    free(text);
}

static void test_batch_refusals(void) {
    TMP(jsonl, "refused.jsonl");
    mkdir(tmp("d1"), 0755);
    mkdir(tmp("d2"), 0755);
    mkdir(tmp("empty"), 0755);
    copy_file(SEG "/image.png", tmp("d1/x.png"), SIZE_MAX);
    copy_file(SEG "/image.png", tmp("d2/x.png"), SIZE_MAX);
    cli_result r;
    CLI(r, ctinfer, seg_model, tmp("d1"), tmp("d2"), SMALL, "--jsonl", jsonl, "--out-dir", tmp("o2"));
    check_failure(&r, 1, "d2/x.png");
    cli_result_free(&r);
    CLI(r, ctinfer, cls_model, tmp("d1"), SMALL, "--jsonl", jsonl, "--out-dir", tmp("o2"), "--outputs", "overlay,mask");
    check_failure(&r, 1, "--outputs mask needs a segmentation model");
    cli_result_free(&r);
    CLI(r, ctinfer, seg_model, tmp("empty"), SMALL, "--jsonl", jsonl);
    check_failure(&r, 1, "no PNG or DICOM");
    cli_result_free(&r);
    CHECK(!cli_exists(jsonl));
    /* a classifier batch with its default outputs */
    CLI(r, ctinfer, cls_model, tmp("d1"), SMALL, "--jsonl", jsonl, "--out-dir", tmp("o3"));
    CHECK(r.status == 0 && cli_exists(tmp("o3/x.overlay.png")) && !cli_exists(tmp("o3/x.mask.png")));
    cli_result_free(&r);
    size_t len;
    char *text = cli_read_text(jsonl, &len);
    CHECK(text && cli_count_lines(text) == 1 && json_valid(text, len) && strstr(text, "\"classification\""));
    free(text);
}

/* Waits up to 20 s for path to hold at least one complete line. */
static int wait_for_line(const char *path) {
    for (int i = 0; i < 20000; i++) {
        char *text = cli_read_text(path, NULL);
        int ok = text && strchr(text, '\n');
        free(text);
        if (ok) return 1;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return 0;
}

static void test_batch_interrupted(void) {
    enum { N = 4000 };
    static const char *argv[N + 16];
    int a = 0;
    TMP(jsonl, "int.jsonl");
    argv[a++] = ctinfer;
    argv[a++] = seg_model;
    for (int i = 0; i < N; i++) argv[a++] = SEG "/image.png";
    const char *tail[] = {SMALL, "--threads", "1", "--jsonl", jsonl};
    for (size_t k = 0; k < sizeof tail / sizeof *tail; k++) argv[a++] = tail[k];
    argv[a] = NULL;
    pid_t pid = cli_spawn(argv, NULL, tmp("int.err"));
    CHECK(pid > 0 && wait_for_line(jsonl));
    kill(pid, SIGINT);
    CHECK(cli_wait(pid) == 130);
    size_t len;
    char *text = cli_read_text(jsonl, &len), *err = cli_read_text(tmp("int.err"), NULL);
    CHECKF(err && strstr(err, "interrupted by SIGINT") && strstr(err, "--resume"), "stderr: %s", err);
    size_t lines = text ? cli_count_lines(text) : 0;
    CHECKF(lines >= 1 && lines < N && len > 0 && text[len - 1] == '\n', "%zu lines", lines);
    char line[1 << 14];
    for (size_t k = 0; k < lines; k++)
        CHECKF(line_ok(line_of(text, (int)k, line, sizeof line)) && json_valid(line, strlen(line)), "line %zu", k);
    free(text);
    free(err);
}

static void test_progress_on_terminal(void) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
    if (master < 0) return;
    const char *tty = ptsname(master);
    const char *argv[] = {ctinfer, seg_model, SEG "/image.png", SEG "/image.png", SEG "/image.png", SMALL,
                          "--jsonl", tmp("tty.jsonl"), NULL};
    pid_t pid = cli_spawn(argv, NULL, tty);
    CHECK(pid > 0 && cli_wait(pid) == 0);
    char buf[8192];
    size_t n = 0;
    fcntl(master, F_SETFL, O_NONBLOCK);
    for (ssize_t got; n < sizeof buf - 1 && (got = read(master, buf + n, sizeof buf - 1 - n)) > 0;) n += (size_t)got;
    buf[n] = '\0';
    close(master);
    CHECKF(strstr(buf, "3/3") && strstr(buf, "ETA") && strstr(buf, "/s") && strchr(buf, '\r'), "terminal got: %s", buf);
    CHECK(strstr(buf, "3 ok, 0 failed") != NULL);
}

int main(void) {
    setup();
    if (!scratch || !models_ok) {
        printf("FAIL setup: cannot convert the fixture models with %s\n", ctconvert);
        printf("RESULT 0 1\n");
        return 1;
    }
    RUN(test_help_and_version);
    RUN(test_usage_errors);
    RUN(test_file_errors);
    RUN(test_json_matches_golden);
    RUN(test_masks_npy);
    RUN(test_decode);
    RUN(test_segmentation_pictures);
    RUN(test_out_dir_and_input_dump);
    RUN(test_classifier_overlay);
    RUN(test_unwritable_outputs);
    RUN(test_batch);
    RUN(test_batch_resume_files);
    RUN(test_batch_refusals);
    RUN(test_batch_interrupted);
    RUN(test_progress_on_terminal);
    cli_remove_tree(scratch);
    free(scratch);
    return TEST_SUMMARY();
}
