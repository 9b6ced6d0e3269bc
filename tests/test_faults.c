/* The fault matrix: damaged and hostile model files, images and checkpoints,
 * awkward image sizes, results with nothing in them, bad settings, outputs
 * that cannot be written (missing or read-only places, devices, a full disk)
 * and signals during a batch, driven through the built ctinfer and ctconvert
 * ($CT_BIN, default build/) and, for the exhaustive loops, the library. Every
 * case must end in a specific one-line message and a non-zero exit (or the
 * documented graceful result): never a signal, never a hang, never a partial
 * or stray output file. The case count is printed at the end. */
#define _GNU_SOURCE   /* memmem, mount */
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../tools/convert/checkpoint.h"
#include "cli_run.h"
#include "convert_support.h"
#include "ctinfer.h"
#include "image/png_decode.h"
#include "image/png_encode.h"
#include "image/slice.h"
#include "model/finite.h"
#include "model/format.h"
#include "test.h"
#include "util/crc32.h"

#define SEG "tests/fixtures/golden/seg_r18_t1"
#define CLS "tests/fixtures/golden/cls_r18_t1"
#define DCM "tests/fixtures/ct/ct1_crop128_CT_small.dcm"
#define LEGACY_CKPT CONVERT_FIXTURES "/seg_r18_t1_legacy_cuda.pth"
#define ZIP_CKPT CONVERT_FIXTURES "/cls_r18_t1_zip.pth"
#define TINY_MODEL "fuzz/corpus/modelfile/seg_r18_t2_legacy_cuda.bin"   /* 16 kB, every tensor 1 wide */
#define SMALL "--min-size", "64", "--max-size", "128"                 /* the fixtures' run settings */
#define WATCHDOG_SECONDS 300   /* a hang fails the test instead of stalling the suite */

static char *scratch;
static char ctinfer[1024], ctconvert[1024], seg_model[1024], cls_model[1024];
static int cases;              /* fault cases checked */

static const char *tmp(const char *name) { return cli_scratch_path(scratch, name); }

/* Status `status`, nothing on stdout, and a first line "<prog>: ..." naming
 * `part` on stderr; nothing written. */
static void check_message(const cli_result *r, int status, const char *prog, const char *part) {
    cases++;
    CHECKF(r->status == status, "status %d, want %d (stderr: %s)", r->status, status, r->err);
    CHECKF(r->out_len == 0, "stdout not empty: %.200s", r->out);
    size_t plen = strlen(prog);
    CHECKF(!strncmp(r->err, prog, plen) && !strncmp(r->err + plen, ": ", 2), "stderr: %s", r->err);
    const char *nl = strchr(r->err, '\n');
    size_t first = nl ? (size_t)(nl - r->err) : r->err_len;
    if (part) CHECKF(memmem(r->err, first, part, strlen(part)) != NULL, "'%s' not in %s", part, r->err);
    CHECKF(!cli_exists(tmp("never.png")) && !cli_exists(tmp("never.bin")) && !cli_dir_has(scratch, ".tmp."),
           "an output file was left behind (stderr: %s)", r->err);
}

/* check_message, and the message is the only line (usage errors add the usage text). */
static void check_refused(const cli_result *r, int status, const char *prog, const char *part) {
    check_message(r, status, prog, part);
    const char *nl = strchr(r->err, '\n');
    CHECKF(nl && (status == 2 ? !strncmp(nl + 1, "usage:", 6) : nl[1] == '\0'), "not one line: %s", r->err);
}

/* ctinfer MODEL IMAGE (fixture settings, a --mask that must not appear) is refused. */
static void infer_refused(const char *model, const char *image, const char *part) {
    cli_result r;
    CLI(r, ctinfer, model, image, SMALL, "--threads", "1", "--mask", tmp("never.png"));
    check_refused(&r, 1, "ctinfer", part);
    cli_result_free(&r);
}

/* ctconvert CHECKPOINT never.bin is refused. */
static void convert_refused(const char *checkpoint, const char *part) {
    cli_result r;
    CLI(r, ctconvert, checkpoint, tmp("never.bin"));
    check_refused(&r, 1, "ctconvert", part);
    cli_result_free(&r);
}

static uint8_t *read_all(const char *path, size_t *len) {
    uint8_t *data = (uint8_t *)cli_read_text(path, len);
    CHECKF(data != NULL, "cannot read %s", path);
    return data;
}

static void write_all(const char *path, const void *data, size_t len) {
    CHECKF(cli_write_bytes(path, data, len) == 0, "cannot write %s", path);
}

static void setup(void) {
    cli_program_path(ctinfer, sizeof ctinfer, "ctinfer");
    cli_program_path(ctconvert, sizeof ctconvert, "ctconvert");
    scratch = cli_make_scratch();
    snprintf(seg_model, sizeof seg_model, "%s/seg.bin", scratch);
    snprintf(cls_model, sizeof cls_model, "%s/cls.bin", scratch);
}

static int convert_fixtures(void) {
    cli_result r;
    CLI(r, ctconvert, SEG "/model.pth", seg_model);
    int ok = r.status == 0;
    cli_result_free(&r);
    CLI(r, ctconvert, CLS "/model.pth", cls_model);
    ok = ok && r.status == 0;
    cli_result_free(&r);
    return ok;
}

/* ---- places that are not files ------------------------------------------ */

/* A directory, /dev/zero, a FIFO (nobody writes it: must not block) and, unless
 * running as root, a file without read permission, as model, image and checkpoint. */
static void test_not_regular_files(void) {
    const char *fifo = tmp("fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    const char *places[] = {scratch, "/dev/zero", fifo};
    for (int k = 0; k < 3; k++) {
        infer_refused(places[k], SEG "/image.png", places[k]);
        infer_refused(seg_model, places[k], places[k]);
        convert_refused(places[k], places[k]);
    }
    infer_refused(fifo, SEG "/image.png", "not a regular file");
    infer_refused(seg_model, fifo, "not a regular file");
    convert_refused(fifo, "not a regular file");
    unlink(fifo);
    if (geteuid() == 0) {
        printf("    (running as root: the unreadable-file cases are skipped)\n");
        return;
    }
    const char *locked[] = {tmp("locked.bin"), tmp("locked.png"), tmp("locked.pth")};
    const char *from[] = {seg_model, SEG "/image.png", LEGACY_CKPT};
    for (int k = 0; k < 3; k++) {
        size_t len;
        uint8_t *data = read_all(from[k], &len);
        write_all(locked[k], data, len);
        free(data);
        CHECK(chmod(locked[k], 0) == 0);
    }
    infer_refused(locked[0], SEG "/image.png", "Permission denied");
    infer_refused(seg_model, locked[1], "Permission denied");
    convert_refused(locked[2], "Permission denied");
}

/* ---- model files -------------------------------------------------------- */

static void test_model_empty_truncated_magic_version(void) {
    write_all(tmp("empty.bin"), "", 0);
    infer_refused(tmp("empty.bin"), SEG "/image.png", "too small");
    size_t len;
    uint8_t *model = read_all(seg_model, &len);
    if (!model) return;
    const size_t cuts[] = {1, 8, 75, 127, 128, 129, 500, 743, 744, 745, 4096, 9000, 20000, 65536, 100000,
                           len / 2, len - 4096, len - 65, len - 64, len - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
        write_all(tmp("cut.bin"), model, cuts[k]);
        infer_refused(tmp("cut.bin"), SEG "/image.png", "cut.bin");
    }
    write_all(tmp("cut.bin"), model, len);   /* and a copy with a byte more */
    FILE *f = fopen(tmp("cut.bin"), "ab");
    CHECK(f && fputc(0, f) == 0 && fclose(f) == 0);
    infer_refused(tmp("cut.bin"), SEG "/image.png", "truncated?");
    memcpy(model, "CTINFEX\x1a", 8);
    write_all(tmp("magic.bin"), model, len);
    infer_refused(tmp("magic.bin"), SEG "/image.png", "bad magic");
    memcpy(model, CTM_MAGIC, 8);
    uint32_t version = 2;
    memcpy(model + offsetof(ctm_header, version), &version, 4);
    convert_reseal_model(model, len);
    write_all(tmp("version.bin"), model, len);
    infer_refused(tmp("version.bin"), SEG "/image.png", "version 2 is not supported");
    free(model);
}

/* A copy of model with n bytes at `at` replaced by `bytes`, checksums
 * resealed, must be refused by ctinfer with a message containing `part`. */
static void patched_refused(const uint8_t *model, size_t len, size_t at, const void *bytes, size_t n,
                            const char *part) {
    uint8_t *copy = malloc(len);
    memcpy(copy, model, len);
    memcpy(copy + at, bytes, n);
    convert_reseal_model(copy, len);
    write_all(tmp("patched.bin"), copy, len);
    infer_refused(tmp("patched.bin"), SEG "/image.png", part);
    unlink(tmp("patched.bin"));
    free(copy);
}

/* Header fields and table entries claiming absurd sizes, checksums sealed;
 * a file over the 4 GiB model limit. */
static void test_model_huge_sizes(void) {
    size_t len;
    uint8_t *model = read_all(seg_model, &len);
    if (!model) return;
    ctm_header h;
    memcpy(&h, model, sizeof h);
    const struct {
        size_t at;
        uint64_t value;
        int bytes;
        const char *part;
    } lies[] = {
        {offsetof(ctm_header, file_size), UINT64_MAX, 8, "header says"},
        {offsetof(ctm_header, config_size), (uint64_t)1 << 62, 8, "config block"},
        {offsetof(ctm_header, tensor_count), (uint64_t)1 << 59, 8, "tensor table"},
        {offsetof(ctm_header, table_offset), UINT64_MAX - 7, 8, "tensor table"},
        {offsetof(ctm_header, data_size), UINT64_MAX, 8, "data area"},
        {h.table_offset + offsetof(ctm_tensor_entry, dims), 0xFFFFFFFFu, 4, "bytes recorded"},
        {h.table_offset + offsetof(ctm_tensor_entry, nbytes), UINT64_MAX, 8, "bytes recorded"},
        {h.table_offset + offsetof(ctm_tensor_entry, offset), UINT64_MAX - 63, 8, "outside the data area"},
        {h.table_offset + offsetof(ctm_tensor_entry, rank), 0xFFFFFFFFu, 4, "rank"},
    };
    for (size_t k = 0; k < sizeof lies / sizeof *lies; k++)
        patched_refused(model, len, lies[k].at, &lies[k].value, (size_t)lies[k].bytes, lies[k].part);
    free(model);
    CHECK(cli_write_bytes(tmp("huge.bin"), "", 0) == 0);
    /* A 5 GiB (sparse) file is refused from its size, before anything is read. */
    CHECK(truncate(tmp("huge.bin"), (off_t)5 << 30) == 0);
    infer_refused(tmp("huge.bin"), SEG "/image.png", "over the limit of 4294967296 for a model");
    unlink(tmp("huge.bin"));
}

/* Stored defaults a session would refuse are refused at load, not at every run. */
static void test_model_unrunnable_defaults(void) {
    size_t len;
    uint8_t *model = read_all(seg_model, &len);
    if (!model) return;
    ctm_header h;
    memcpy(&h, model, sizeof h);
    const struct {
        size_t at;
        double value;
        int is_double;
    } defaults[] = {{offsetof(ctm_config, rpn_nms_thresh), 1.5, 1},
                    {offsetof(ctm_config, box_nms_thresh), -0.1, 1},
                    {offsetof(ctm_config, rpn_pre_nms_top_n), 2000000, 0},
                    {offsetof(ctm_config, max_size), 9000, 0}};
    for (size_t k = 0; k < sizeof defaults / sizeof *defaults; k++) {
        uint32_t u = (uint32_t)defaults[k].value;
        const void *bytes = defaults[k].is_double ? (const void *)&defaults[k].value : (const void *)&u;
        patched_refused(model, len, h.config_offset + defaults[k].at, bytes, defaults[k].is_double ? 8 : 4,
                        "model config: invalid");
    }
    free(model);
}

/* The model file with element `at` of tensor `name` replaced by `bits`
 * (float32, or float16 after narrowing that tensor's entry), resealed. */
static int poison(const char *name, int half, size_t at, uint32_t bits, const char *path) {
    size_t len;
    uint8_t *model = read_all(seg_model, &len);
    if (!model) return 0;
    ctm_header h;
    memcpy(&h, model, sizeof h);
    int found = 0;
    for (uint64_t i = 0; i < h.tensor_count; i++) {
        ctm_tensor_entry e;
        uint8_t *where = model + h.table_offset + i * sizeof e;
        memcpy(&e, where, sizeof e);
        if (strcmp(e.name, name) != 0) continue;
        if (half) {
            e.dtype = CTM_DTYPE_F16;
            e.nbytes /= 2;
            memset(model + e.offset, 0, (size_t)e.nbytes);   /* +0.0 in float16 */
            memcpy(where, &e, sizeof e);
            uint16_t b16 = (uint16_t)bits;
            memcpy(model + e.offset + 2 * at, &b16, 2);
        } else {
            memcpy(model + e.offset + 4 * at, &bits, 4);
        }
        found = 1;
    }
    convert_reseal_model(model, len);
    write_all(path, model, len);
    free(model);
    return found;
}

/* NaN and infinite weights are refused at load, naming the tensor, never run. */
static void test_model_nonfinite_weights(void) {
    const struct {
        const char *tensor;
        int half;
        size_t at;
        uint32_t bits;
        const char *part;
    } poisons[] = {
        {"backbone.body.conv1.weight", 0, 5, 0x7FC00000u, "tensor backbone.body.conv1.weight holds NaN/Inf (element 5 is NaN)"},
        {"rpn.head.bbox_pred.bias", 0, 0, 0xFF800000u, "tensor rpn.head.bbox_pred.bias holds NaN/Inf (element 0 is -Inf)"},
        {"backbone.body.bn1.running_var", 0, 3, 0x7F800001u, "bn1.running_var holds NaN/Inf (element 3 is NaN)"},
        {"roi_heads.box_head.fc6.weight", 1, 1000, 0x7C00u, "fc6.weight holds NaN/Inf (element 1000 is +Inf)"},
        {"roi_heads.mask_predictor.mask_fcn_logits.weight", 1, 7, 0xFE00u, "mask_fcn_logits.weight holds NaN/Inf"},
    };
    for (size_t k = 0; k < sizeof poisons / sizeof *poisons; k++) {
        CHECKF(poison(poisons[k].tensor, poisons[k].half, poisons[k].at, poisons[k].bits, tmp("nan.bin")),
               "no tensor %s", poisons[k].tensor);
        infer_refused(tmp("nan.bin"), SEG "/image.png", poisons[k].part);
        ct_model *m = NULL;
        ct_error err;
        CHECK(ct_model_load(tmp("nan.bin"), &m, &err) == CT_E_FORMAT && m == NULL);
        CHECKF(strstr(err.message, "nan.bin") && strstr(err.message, poisons[k].part), "%s", err.message);
        cli_result r;
        CLI(r, ctconvert, "--verify", tmp("nan.bin"));
        check_refused(&r, 1, "ctconvert", poisons[k].part);
        cli_result_free(&r);
    }
    /* The largest finite values and subnormals are fine. */
    CHECK(poison("backbone.body.conv1.weight", 0, 2, 0x7F7FFFFFu, tmp("big.bin")));
    CHECK(poison("backbone.body.conv1.weight", 0, 3, 0x00000001u, tmp("big.bin")));
    ct_model *m = NULL;
    ct_error err;
    CHECKF(ct_model_load(tmp("big.bin"), &m, &err) == CT_OK, "%s", err.message);
    ct_model_free(m);
}

/* The scans find the first non-finite value wherever it sits in a block of
 * the branch-free pass, and pass the largest finite values and subnormals. */
static void test_nonfinite_scan(void) {
    enum { N = 3000 };
    static float f[N];
    static uint16_t h[N];
    const uint32_t finite[] = {0x7F7FFFFFu, 0xFF7FFFFFu, 0x00000001u, 0x80000000u};
    for (int i = 0; i < N; i++) {
        memcpy(&f[i], &finite[i % 4], 4);
        h[i] = i % 2 ? 0x7BFFu : 0x8001u;   /* 65504 and a negative subnormal */
    }
    CHECK(ct_first_nonfinite_f32(f, N) == N && ct_first_nonfinite_f16(h, N) == N);
    const size_t at[] = {0, 1, 1023, 1024, 1025, 2047, 2048, N - 1};
    const uint32_t bad32[] = {0x7F800000u, 0xFF800000u, 0x7FC00000u, 0xFFFFFFFFu};
    const uint16_t bad16[] = {0x7C00u, 0xFC00u, 0x7E00u, 0xFFFFu};
    for (size_t k = 0; k < sizeof at / sizeof *at; k++) {
        size_t later = at[k] + (N - at[k]) / 2;   /* a second one behind it (or the same) */
        memcpy(&f[later], &bad32[(k + 1) % 4], 4);
        memcpy(&f[at[k]], &bad32[k % 4], 4);
        h[later] = bad16[(k + 1) % 4];
        h[at[k]] = bad16[k % 4];
        CHECKF(ct_first_nonfinite_f32(f, N) == at[k], "float32 at %zu: found %zu", at[k], ct_first_nonfinite_f32(f, N));
        CHECKF(ct_first_nonfinite_f16(h, N) == at[k], "float16 at %zu", at[k]);
        CHECK(ct_first_nonfinite_f32(f, at[k]) == at[k]);   /* the prefix before it is finite */
        memcpy(&f[later], &finite[later % 4], 4);
        memcpy(&f[at[k]], &finite[at[k] % 4], 4);
        h[later] = later % 2 ? 0x7BFFu : 0x8001u;
        h[at[k]] = at[k] % 2 ? 0x7BFFu : 0x8001u;
    }
    CHECK(ct_first_nonfinite_f32(f, 0) == 0 && ct_first_nonfinite_f16(h, 0) == 0);
}

/* Runs a small slice through a model that loaded; it must succeed or fail with a message. */
static int run_loaded(ct_model *m) {
    static const uint8_t pixels[20 * 24] = {1, 200, 3, 90, 17};
    ct_image img = {24, 20, 1, pixels};
    ct_options opt;
    ct_options_default(m, &opt);
    opt.threads = 1;
    opt.min_size = opt.min_size < 64 ? opt.min_size : 64;
    opt.max_size = opt.max_size < 96 ? (opt.max_size > opt.min_size ? opt.max_size : opt.min_size) : 96;
    ct_session *s;
    ct_error err = {0};
    ct_result res;
    ct_status st = ct_session_new(m, &opt, &s, &err);
    CHECKF(st == CT_OK, "a model that loads refuses its own settings: %s", err.message);
    if (st != CT_OK) return 0;
    st = ct_run(s, &img, &res, &err);
    CHECKF(st == CT_OK || err.message[0], "run failed without a message");
    if (st == CT_OK) ct_result_free(&res);
    ct_session_free(s);
    return st == CT_OK;
}

/* Every byte of the header, config block and first table entries flipped,
 * through the library: unsealed, always refused by a checksum; resealed,
 * refused with a message or, if the change is harmless, loaded and run. */
static void test_model_every_header_byte(void) {
    size_t len;
    uint8_t *model = read_all(TINY_MODEL, &len), *copy = malloc(len);
    if (!model) return;
    ctm_header h;
    memcpy(&h, model, sizeof h);
    size_t region = (size_t)h.table_offset + 3 * sizeof(ctm_tensor_entry), loaded = 0, ran = 0;
    int refused_plain = 0, silent = 0;
    for (size_t at = 0; at < region && at < len; at++) {
        for (int seal = 0; seal < 2; seal++) {
            memcpy(copy, model, len);
            copy[at] ^= seal ? 0x41 : 0xFF;
            if (seal) convert_reseal_model(copy, len);
            write_all(tmp("flip.bin"), copy, len);
            ct_model *m = NULL;
            ct_error err = {0};
            ct_status st = ct_model_load(tmp("flip.bin"), &m, &err);
            cases++;
            silent += st != CT_OK && (!err.message[0] || m != NULL);
            if (!seal) refused_plain += st != CT_OK;
            if (st != CT_OK) continue;
            loaded++;
            ran += run_loaded(m);
            ct_model_free(m);
        }
    }
    CHECKF(refused_plain == (int)region, "%d of %zu unsealed flips refused", refused_plain, region);
    CHECKF(silent == 0, "%d refusals without a message", silent);
    printf("    %zu flipped bytes x 2: %zu resealed ones loaded (harmless fields), %zu of them ran\n", region, loaded,
           ran);
    free(copy);
    free(model);
}

/* ---- images ------------------------------------------------------------- */

static uint8_t *encode_png(int w, int h, size_t *len) {
    uint8_t *pixels = malloc((size_t)w * h), *png = NULL;
    for (size_t i = 0; i < (size_t)w * h; i++) pixels[i] = (uint8_t)(i * 7);
    ct_error err;
    CHECKF(ct_png_encode(pixels, w, h, 1, CT_DEFLATE_FIXED, &png, len, &err) == CT_OK, "%s", err.message);
    free(pixels);
    return png;
}

static void put_be32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* Sets the IHDR size of a PNG (signature, then IHDR at 8) and its CRC. */
static void set_png_size(uint8_t *png, uint32_t w, uint32_t h) {
    put_be32(png + 16, w);
    put_be32(png + 20, h);
    put_be32(png + 29, ct_crc32(0, png + 12, 17));
}

static void test_image_empty_truncated_magic(void) {
    write_all(tmp("empty.png"), "", 0);
    infer_refused(seg_model, tmp("empty.png"), "empty.png");
    write_all(tmp("text.png"), "P5\n2 2\n255\nabcd", 15);
    infer_refused(seg_model, tmp("text.png"), "neither PNG nor DICOM");
    const char *files[] = {SEG "/image.png", DCM};
    for (int k = 0; k < 2; k++) {
        size_t len;
        uint8_t *data = read_all(files[k], &len);
        if (!data) continue;
        for (size_t cut = 1; cut < len; cut += cut < 64 ? 9 : len / 12) {
            write_all(tmp("cut.img"), data, cut);
            infer_refused(seg_model, tmp("cut.img"), "cut.img");
        }
        free(data);
    }
}

/* Every byte of the PNG signature and IHDR flipped, as is (caught by the
 * signature or the CRC) and with the CRC repaired (refused or decoded); the
 * first kilobyte of a DICOM file likewise (it has no checksum). */
static void test_image_every_header_byte(void) {
    size_t len;
    uint8_t *png = read_all(SEG "/image.png", &len);
    if (!png) return;
    int decoded = 0;
    for (size_t at = 0; at < 33; at++) {
        for (int repair = 0; repair < 2 && !(repair && (at < 12 || at >= 29)); repair++) {
            png[at] ^= 0x24;
            if (repair) put_be32(png + 29, ct_crc32(0, png + 12, 17));
            write_all(tmp("flip.png"), png, len);
            cli_result r;
            CLI(r, ctinfer, seg_model, tmp("flip.png"), SMALL, "--threads", "1", "--mask", tmp("never.png"));
            if (r.status == 0) {
                decoded++;
                cases++;
                CHECKF(repair && cli_exists(tmp("never.png")), "byte %zu: accepted without a repaired CRC", at);
                unlink(tmp("never.png"));
            } else {
                check_refused(&r, 1, "ctinfer", "flip.png");
            }
            cli_result_free(&r);
            png[at] ^= 0x24;
            put_be32(png + 29, ct_crc32(0, png + 12, 17));
        }
    }
    printf("    %d repaired IHDR flips still decode (harmless bits) and run\n", decoded);
    free(png);
    /* DICOM: preamble, magic, file meta and the first data elements, through the library. */
    uint8_t *dcm = read_all(DCM, &len);
    int read_ok = 0;
    for (size_t at = 0; dcm && at < 1024 && at < len; at++) {
        dcm[at] ^= 0xFF;
        ct_slice_options opt;
        ct_slice_options_default(&opt);
        ct_slice slice;
        ct_error err = {0};
        ct_status st = ct_slice_from_memory(dcm, len, &opt, &slice, &err);
        cases++;
        CHECKF(st == CT_OK || err.message[0], "DICOM byte %zu: refused without a message", at);
        if (st == CT_OK) {
            read_ok++;
            ct_slice_free(&slice);
        }
        dcm[at] ^= 0xFF;
    }
    printf("    %d of 1024 flipped DICOM header bytes still decode (the preamble, values)\n", read_ok);
    free(dcm);
}

/* Declared sizes: 0 (invalid), and beyond the 64-Mpixel limit (refused from
 * the header, before any allocation); DICOM rows x columns likewise. */
static void test_image_declared_sizes(void) {
    size_t len;
    uint8_t *png = encode_png(2, 2, &len);
    if (!png) return;
    const struct {
        uint32_t w, h;
        const char *part;
    } sizes[] = {{0, 2, "image size 0 x 2"},
                 {2, 0, "image size 2 x 0"},
                 {10000, 10000, "exceeds the limit of 67108864 pixels"},
                 {0x7FFFFFFF, 0x7FFFFFFF, "exceeds the limit"},
                 {67108865, 1, "exceeds the limit"}};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        set_png_size(png, sizes[k].w, sizes[k].h);
        write_all(tmp("size.png"), png, len);
        infer_refused(seg_model, tmp("size.png"), sizes[k].part);
    }
    free(png);
    uint8_t *dcm = read_all(DCM, &len);
    static const uint8_t rows_tag[] = {0x28, 0x00, 0x10, 0x00, 'U', 'S', 0x02, 0x00};
    uint8_t *rows = dcm ? memmem(dcm, len, rows_tag, sizeof rows_tag) : NULL;
    CHECK(rows != NULL && rows + 20 <= dcm + len && rows[10] == 0x28 && rows[12] == 0x11);   /* Columns follows */
    if (rows) {
        rows[8] = rows[9] = rows[18] = rows[19] = 0xFF;
        write_all(tmp("huge.dcm"), dcm, len);
        infer_refused(seg_model, tmp("huge.dcm"), "exceeds the limit");
        rows[8] = rows[9] = rows[18] = rows[19] = 0;
        write_all(tmp("zero.dcm"), dcm, len);
        infer_refused(seg_model, tmp("zero.dcm"), "zero.dcm");
    }
    free(dcm);
}

/* 1x1, thin and long images: processed when the resize keeps at least one
 * pixel per side (the documented result), else refused with a message. */
static void test_image_awkward_shapes(void) {
    const struct {
        int w, h, runs;
    } shapes[] = {{1, 1, 1}, {2, 2, 1}, {1, 40, 1}, {40, 1, 1}, {1, 300, 0}, {300, 1, 0}, {3, 2000, 0}};
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        size_t len;
        uint8_t *png = encode_png(shapes[k].w, shapes[k].h, &len);
        if (!png) continue;
        write_all(tmp("shape.png"), png, len);
        free(png);
        cli_result r;
        CLI(r, ctinfer, seg_model, tmp("shape.png"), SMALL, "--threads", "1", "--masks", tmp("shape.npy"));
        if (shapes[k].runs) {
            cases++;
            char dims[64];
            snprintf(dims, sizeof dims, ": %dx%d,", shapes[k].w, shapes[k].h);
            CHECKF(r.status == 0 && strstr(r.out, dims) && cli_exists(tmp("shape.npy")), "%dx%d: %s%s", shapes[k].w,
                   shapes[k].h, r.out, r.err);
            unlink(tmp("shape.npy"));
        } else {
            check_refused(&r, 1, "ctinfer", "resizes to nothing");
            CHECK(!cli_exists(tmp("shape.npy")));
        }
        cli_result_free(&r);
    }
}

/* ---- checkpoints -------------------------------------------------------- */

static void test_checkpoint_empty_truncated_magic(void) {
    write_all(tmp("empty.pth"), "", 0);
    convert_refused(tmp("empty.pth"), "empty");
    write_all(tmp("text.pth"), "just some text, no checkpoint", 29);
    convert_refused(tmp("text.pth"), "not a PyTorch checkpoint");
    const char *files[] = {LEGACY_CKPT, ZIP_CKPT};
    for (int k = 0; k < 2; k++) {
        size_t len;
        uint8_t *data = read_all(files[k], &len);
        if (!data) continue;
        for (size_t cut = 1; cut < len; cut += cut < 40 ? 13 : len / 9) {
            write_all(tmp("cut.pth"), data, cut);
            convert_refused(tmp("cut.pth"), "cut.pth");
        }
        free(data);
    }
}

/* The first and last 160 bytes of each format (magic, protocol and sys_info
 * pickles; zip local header and end records) flipped one by one, through the
 * library: refused with a message, or converted. */
static void test_checkpoint_every_header_byte(void) {
    const char *files[] = {LEGACY_CKPT, ZIP_CKPT};
    for (int k = 0; k < 2; k++) {
        size_t len;
        uint8_t *data = read_all(files[k], &len);
        if (!data) continue;
        int accepted = 0;
        for (size_t i = 0; i < 320; i++) {
            size_t at = i < 160 ? i : len - 320 + i;
            data[at] ^= 0x5A;
            ct_error err;
            err.message[0] = '\0';
            ct_status st = convert_memory(data, len, &err);
            data[at] ^= 0x5A;
            cases++;
            CHECKF(st == CT_OK || err.message[0], "%s byte %zu: refused without a message", files[k], at);
            accepted += st == CT_OK;
        }
        printf("    %s: %d of 320 header/trailer flips still convert\n", files[k], accepted);
        free(data);
    }
}

/* Legacy: a wrong protocol version, a storage claiming 2^62 elements, NaN
 * and Inf weights. Zip: a directory claiming 65535 records. */
static void test_checkpoint_lies_and_nonfinite(void) {
    size_t len;
    uint8_t *data = read_all(LEGACY_CKPT, &len);
    if (!data) return;
    ct_checkpoint ck;   /* where the first model tensor's storage lies; its size is the 8 bytes before */
    ct_error err;
    size_t block = 0, first = 0;
    char name[CTM_NAME_LEN] = "";
    if (ct_checkpoint_open_memory(&ck, data, len, &err) == CT_OK) {
        const ct_legacy_storage *ls = ct_legacy_find(&ck.archive.legacy, ck.tensors[0].view.storage->u.storage.key);
        block = ls ? (size_t)(ls->data - data) : 0;
        first = (size_t)ck.tensors[0].view.offset;
        memcpy(name, ck.tensors[0].name, sizeof name);
        ct_checkpoint_close(&ck);
    }
    CHECK(block >= 8 && name[0]);
    uint8_t *copy = malloc(len);
    memcpy(copy, data, len);
    CHECK(copy[15] == 0x80 && copy[17] == 0x4d && copy[18] == 0xe9 && copy[19] == 0x03);   /* BININT2 1001 */
    copy[18] = 0xea;
    write_all(tmp("proto.pth"), copy, len);
    convert_refused(tmp("proto.pth"), "unsupported protocol version");
    memcpy(copy, data, len);
    int64_t huge = (int64_t)1 << 62;
    memcpy(copy + block - 8, &huge, 8);
    write_all(tmp("huge.pth"), copy, len);
    convert_refused(tmp("huge.pth"), "more than the file holds");
    const uint32_t bad[] = {0x7FC00000u, 0x7F800000u, 0xFF800000u};
    char part[160];
    snprintf(part, sizeof part, "tensor %s holds NaN/Inf (element 1)", name);
    for (int k = 0; k < 3 && block; k++) {
        memcpy(copy, data, len);
        memcpy(copy + block + 4 * (first + 1), &bad[k], 4);
        write_all(tmp("nan.pth"), copy, len);
        convert_refused(tmp("nan.pth"), part);
    }
    free(copy);
    free(data);
    data = read_all(ZIP_CKPT, &len);
    if (!data) return;
    CHECK(len > 22 && data[len - 22] == 'P' && data[len - 21] == 'K');
    data[len - 14] = data[len - 12] = 0xFE;   /* records: 65534 */
    data[len - 13] = data[len - 11] = 0xFF;
    write_all(tmp("records.pth"), data, len);
    convert_refused(tmp("records.pth"), "central directory");
    free(data);
}

/* ---- results with nothing in them ---------------------------------------- */

static void test_zero_detections_and_no_survivors(void) {
    cli_result r;
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--score-thresh", "1", "--masks", tmp("none.npy"), "--mask",
        tmp("none.png"), "--json");
    cases++;
    CHECKF(r.status == 0 && strstr(r.out, "\"detections\": []"), "%s%s", r.out, r.err);
    cli_result_free(&r);
    size_t len;
    char *npy = cli_read_text(tmp("none.npy"), &len);
    CHECKF(npy && memmem(npy, len, "'shape': (0, 80, 64)", 20), "masks: %.100s", npy ? npy + 10 : "(none)");
    free(npy);
    uint8_t *png = read_all(tmp("none.png"), &len);
    ct_raster mask;
    CHECK(png && ct_png_decode(png, len, NULL, &mask, NULL) == CT_OK && mask.width == 64 && mask.height == 80);
    int lit = 0;
    for (int i = 0; png && mask.u8 && i < 64 * 80; i++) lit += mask.u8[i] != 0;
    CHECK(lit == 0);
    ct_raster_free(&mask);
    free(png);
    /* The classifier needs at least one detection to rank (K = 0): a clear failure. */
    CLI(r, ctinfer, cls_model, CLS "/image.png", SMALL, "--score-thresh", "1", "--overlay", tmp("never.png"));
    check_refused(&r, 1, "ctinfer", "no detection survived to rank for the classifier (K = 0)");
    cli_result_free(&r);
}

/* ---- settings ------------------------------------------------------------ */

static void test_settings_out_of_range(void) {
    const char *bad[][3] = {
        {"--score-thresh", "nan", "--score-thresh"}, {"--score-thresh", "inf", "--score-thresh"},
        {"--score-thresh", "1e31", "--score-thresh"}, {"--nms-thresh", "-0.01", "--nms-thresh"},
        {"--nms-thresh", "1.01", "--nms-thresh"},     {"--rpn-nms-thresh", "2", "--rpn-nms-thresh"},
        {"--mask-thresh", "-inf", "--mask-thresh"},   {"--threads", "-1", "--threads"},
        {"--threads", "1025", "--threads"},           {"--threads", "1.5", "--threads"},
        {"--threads", "99999999999999999999", "--threads"}, {"--detections", "0", "--detections"},
        {"--detections", "100001", "--detections"},   {"--rpn-pre-nms-top-n", "0", "--rpn-pre-nms-top-n"},
        {"--rpn-post-nms-top-n", "1e7", "--rpn-post-nms-top-n"}, {"--min-size", "0", "--min-size"},
        {"--max-size", "8193", "--max-size"},         {"--seed", "-1", "--seed"},
        {"--window", "0,40", "--window"},             {"--window", "1500", "--window"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        cli_result r;
        CLI(r, ctinfer, seg_model, SEG "/image.png", bad[k][0], bad[k][1], "--mask", tmp("never.png"));
        check_refused(&r, 2, "ctinfer", bad[k][2]);
        cli_result_free(&r);
    }
    cli_result r;   /* each value in range, the pair not: found when the session starts */
    CLI(r, ctinfer, seg_model, SEG "/image.png", "--min-size", "600", "--max-size", "500", "--mask", tmp("never.png"));
    check_message(&r, 2, "ctinfer", "min_size <= max_size");
    cli_result_free(&r);
}

/* ---- outputs that cannot be written --------------------------------------- */

static int is_char_device(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISCHR(sb.st_mode);
}

static void test_unwritable_outputs(void) {
    mkdir(tmp("adir"), 0755);
    const char *places[][2] = {
        {"/proc/ctinfer_test.png", "/proc"},             /* refused even to root */
        {"/nonexistent_ctinfer_dir/o.png", "/nonexistent_ctinfer_dir"},
        {"/dev/full", "not a regular file"},            /* a device is never replaced by a rename */
        {"/dev/null", "not a regular file"},
    };
    const char *options[] = {"--mask", "--masks", "--overlay", "--scoremap", "--dump-input"};
    for (size_t k = 0; k < sizeof places / sizeof *places; k++)
        for (size_t o = 0; o < sizeof options / sizeof *options; o++) {
            cli_result r;
            CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, options[o], places[k][0]);
            check_refused(&r, 1, "ctinfer", places[k][1]);
            cli_result_free(&r);
        }
    CHECK(is_char_device("/dev/full") && is_char_device("/dev/null"));
    cli_result r;
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--overlay", tmp("adir"));
    check_refused(&r, 1, "ctinfer", "it is a directory");
    cli_result_free(&r);
    CLI(r, ctconvert, LEGACY_CKPT, "/dev/full");
    check_refused(&r, 1, "ctconvert", "not a regular file");
    cli_result_free(&r);
    CLI(r, ctconvert, LEGACY_CKPT, "/proc/ctinfer_test.bin");
    check_refused(&r, 1, "ctconvert", "cannot create");
    cli_result_free(&r);
    CLI(r, ctconvert, LEGACY_CKPT, tmp("adir"));
    check_refused(&r, 1, "ctconvert", "not a regular file");
    cli_result_free(&r);
    CHECK(is_char_device("/dev/full"));
    /* --resume reads the file back: a device is refused, never read forever */
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--jsonl", "/dev/zero", "--resume");
    check_refused(&r, 1, "ctinfer", "not a regular file");
    cli_result_free(&r);
}

/* Runs argv with the file-size limit `bytes` (SIGXFSZ ignored, so a write past
 * it fails with EFBIG as on a full disk). */
static void run_with_file_limit(const char *const *argv, rlim_t bytes, cli_result *r) {
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = bytes;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    pid_t pid = cli_spawn(argv, tmp(".out"), tmp(".err"));
    int status = pid > 0 ? cli_wait(pid) : -1;
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    memset(r, 0, sizeof *r);
    r->status = status;
    r->out = cli_read_text(tmp(".out"), &r->out_len);
    r->err = cli_read_text(tmp(".err"), &r->err_len);
    unlink(tmp(".out"));
    unlink(tmp(".err"));
    CHECK(r->out && r->err);
}

/* A full disk: /dev/full, a file-size limit, and (as root, when mounting is
 * allowed) a 64 kB tmpfs. The write fails with a message naming the file;
 * nothing partial stays: no output file, no temporary, no torn JSONL line. */
static void test_disk_full(void) {
    cli_result r;
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--jsonl", "/dev/full");   /* then the batch summary */
    check_message(&r, 1, "ctinfer", "cannot write /dev/full: No space left on device");
    cli_result_free(&r);
    const char *masks[] = {ctinfer, seg_model, SEG "/image.png", SMALL, "--masks", tmp("never.bin"), NULL};
    run_with_file_limit(masks, 4096, &r);
    check_refused(&r, 1, "ctinfer", "File too large");
    cli_result_free(&r);
    const char *convert[] = {ctconvert, LEGACY_CKPT, tmp("never.bin"), NULL};
    run_with_file_limit(convert, 4096, &r);
    check_refused(&r, 1, "ctconvert", "write failed (File too large)");
    cli_result_free(&r);
    /* A batch whose JSONL outgrows the limit in its third line (of about 1.1 kB)
     * stops with the two whole lines only. */
    const char *batch[] = {ctinfer, seg_model, SEG "/image.png", SEG "/image.png", SEG "/image.png", SEG "/image.png",
                           SMALL, "--jsonl", tmp("full.jsonl"), NULL};
    run_with_file_limit(batch, 2800, &r);
    check_message(&r, 1, "ctinfer", "full.jsonl: File too large");
    cli_result_free(&r);
    size_t len;
    char *text = cli_read_text(tmp("full.jsonl"), &len);
    CHECKF(text && cli_count_lines(text) == 2 && text[len - 1] == '\n', "JSONL of %zu bytes ends mid-line", len);
    free(text);
    if (geteuid() != 0 || mkdir(tmp("tiny"), 0755) != 0 ||
        mount("ctinfer_test", tmp("tiny"), "tmpfs", 0, "size=64k") != 0) {
        printf("    (a 64 kB tmpfs cannot be mounted here: its case is skipped)\n");
        return;
    }
    char npy[1024], pic[1024];
    snprintf(npy, sizeof npy, "%s/tiny/masks.npy", scratch);
    snprintf(pic, sizeof pic, "%s/tiny/overlay.png", scratch);
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--masks", npy);
    check_refused(&r, 1, "ctinfer", "No space left on device");
    CHECK(!cli_exists(npy) && !cli_dir_has(tmp("tiny"), ".tmp."));
    cli_result_free(&r);
    CLI(r, ctinfer, seg_model, SEG "/image.png", SMALL, "--overlay", pic);   /* small enough: fits */
    cases++;
    CHECKF(r.status == 0 && cli_exists(pic), "%s", r.err);
    cli_result_free(&r);
    CHECK(umount(tmp("tiny")) == 0);
}

/* ---- signals during a batch ---------------------------------------------- */

static int wait_for_file(const char *path) {
    for (int i = 0; i < 20000 && !cli_exists(path); i++) nanosleep(&(struct timespec){0, 1000000}, NULL);
    return cli_exists(path);
}

/* Every picture in dir decodes completely. */
static int pictures_whole(const char *dir, int *count) {
    *count = 0;
    for (int i = 0; i < 400; i++) {
        char name[64];
        snprintf(name, sizeof name, "in%03d.overlay.png", i);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        size_t len;
        uint8_t *png = (uint8_t *)cli_read_text(path, &len);
        if (!png) continue;
        ct_raster r;
        int ok = ct_png_decode(png, len, NULL, &r, NULL) == CT_OK;
        ct_raster_free(&r);
        free(png);
        if (!ok) return 0;
        (*count)++;
    }
    return 1;
}

/* SIGINT and SIGTERM stop between two inputs (130 / 143) with whole lines and
 * whole pictures; a second SIGINT ends at once, still with no partial picture
 * under its final name. */
static void test_signals_during_batch(void) {
    mkdir(tmp("inputs"), 0755);
    size_t len;
    char *png = cli_read_text(SEG "/image.png", &len);
    for (int i = 0; i < 400 && png; i++) {
        char name[64];
        snprintf(name, sizeof name, "inputs/in%03d.png", i);
        write_all(tmp(name), png, len);
    }
    free(png);
    const int signals[][2] = {{SIGINT, 0}, {SIGTERM, 0}, {SIGINT, SIGINT}};
    for (int k = 0; k < 3; k++) {
        char out[64], jsonl[64];
        snprintf(out, sizeof out, "pictures%d", k);
        snprintf(jsonl, sizeof jsonl, "run%d.jsonl", k);
        const char *argv[] = {ctinfer, seg_model, tmp("inputs"), SMALL, "--threads", "1", "--jsonl", tmp(jsonl),
                              "--out-dir", tmp(out), "--outputs", "overlay,masks", NULL};
        pid_t pid = cli_spawn(argv, NULL, tmp("signal.err"));
        char first[128];
        snprintf(first, sizeof first, "%s/in002.overlay.png", out);
        CHECK(pid > 0 && wait_for_file(tmp(first)));
        kill(pid, signals[k][0]);
        if (signals[k][1]) kill(pid, signals[k][1]);
        int status = cli_wait(pid);
        cases++;
        int want = signals[k][1] ? 128 + SIGINT : 128 + signals[k][0];
        char *err = cli_read_text(tmp("signal.err"), NULL);
        CHECKF(status == want || (signals[k][1] && status == 128 + SIGINT), "signal case %d: status %d", k, status);
        if (!signals[k][1]) CHECKF(err && strstr(err, "--resume"), "signal case %d: %s", k, err);
        free(err);
        int pictures = 0;
        CHECKF(pictures_whole(tmp(out), &pictures) && pictures >= 3 && pictures < 400, "case %d: %d pictures", k,
               pictures);
        char *text = cli_read_text(tmp(jsonl), &len);
        CHECKF(text && len > 0 && text[len - 1] == '\n', "case %d: the JSONL ends mid-line", k);
        if (!signals[k][1]) CHECK(!cli_dir_has(tmp(out), ".tmp."));
        free(text);
    }
}

int main(void) {
    alarm(WATCHDOG_SECONDS);
    setup();
    if (!scratch || !convert_fixtures()) {
        printf("FAIL setup: cannot convert the fixture models with %s\n", ctconvert);
        printf("RESULT 0 1\n");
        return 1;
    }
    RUN(test_not_regular_files);
    RUN(test_model_empty_truncated_magic_version);
    RUN(test_model_huge_sizes);
    RUN(test_model_unrunnable_defaults);
    RUN(test_nonfinite_scan);
    RUN(test_model_nonfinite_weights);
    RUN(test_model_every_header_byte);
    RUN(test_image_empty_truncated_magic);
    RUN(test_image_every_header_byte);
    RUN(test_image_declared_sizes);
    RUN(test_image_awkward_shapes);
    RUN(test_checkpoint_empty_truncated_magic);
    RUN(test_checkpoint_every_header_byte);
    RUN(test_checkpoint_lies_and_nonfinite);
    RUN(test_zero_detections_and_no_survivors);
    RUN(test_settings_out_of_range);
    RUN(test_unwritable_outputs);
    RUN(test_disk_full);
    RUN(test_signals_during_batch);
    printf("    %d fault cases\n", cases);
    cli_remove_tree(scratch);
    free(scratch);
    return TEST_SUMMARY();
}
