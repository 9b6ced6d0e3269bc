/* DICOM decoding and CT windowing: the CT1 slice against its published HU
 * and lung-window picture, the 16-bit PNG of the same slice, the CT_small
 * crop, generated variants of every encoding, refusals, corrupt files. */
#include "test.h"

#include <stdint.h>
#include <string.h>

#include "image/dicom.h"
#include "image/file_io.h"
#include "image/png_decode.h"
#include "image/slice.h"
#include "support/sha256.h"
#include "support/tsv.h"

#define CT "tests/fixtures/ct/"
#define VARIANTS CT "variants/"
/* SHA-256 of ct1_hu_int16le_512x512.raw (the slice in HU, int16 LE), which
 * is not committed (tests/fixtures/ct/README.md). */
#define CT1_HU_SHA256 "55b5bcd16ec6469be8e919d25775688df34f72ad1a63e53ab3b9aa08a69afd81"

/* ---- helpers ------------------------------------------------------------- */

static uint8_t *load(const char *path, size_t *len) {
    uint8_t *data = NULL;
    ct_error err;
    *len = 0;
    if (ct_read_file(path, 1u << 24, &data, len, &err) != CT_OK) printf("    cannot load %s: %s\n", path, err.message);
    return data;
}

static ct_status decode_file(const char *path, int frame, ct_dicom_image *img, ct_error *err) {
    size_t len;
    uint8_t *data = load(path, &len);
    if (!data) {
        memset(img, 0, sizeof *img);
        return CT_E_IO;
    }
    ct_status st = ct_dicom_decode(data, len, NULL, frame, img, err);
    free(data);
    return st;
}

static void digest_floats(const float *v, size_t n, char hex[65]) {
    uint8_t *le = malloc(4 * n);
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], 4);
        for (int b = 0; b < 4; b++) le[4 * i + (size_t)b] = (uint8_t)(bits >> (8 * b));
    }
    sha256_hex(le, 4 * n, hex);
    free(le);
}

/* The CT1 slice in HU, decoded once from the DICOM. */
static ct_dicom_image ct1;

/* ---- the CT1 slice ------------------------------------------------------- */

static void test_ct1_hu(void) {
    ct_error err = {0, ""};
    ct_status st = decode_file(CT "ct1_chest_axial_explicit_le.dcm", 0, &ct1, &err);
    CHECKF(st == CT_OK, "%s", err.message);
    if (st != CT_OK) return;
    const ct_dicom_info *i = &ct1.info;
    CHECK(i->rows == 512 && i->cols == 512 && i->frames == 1 && i->bits_allocated == 16 && i->is_signed);
    CHECK(i->slope == 1 && i->intercept == -1024 && !i->monochrome1 && strcmp(i->photometric, "MONOCHROME2") == 0);
    CHECK(strcmp(i->transfer_syntax, "1.2.840.10008.1.2.1") == 0 && strstr(i->syntax_name, "Explicit VR Little"));
    CHECK(i->has_padding && i->padding_lo == -2000 && i->padding_hi == -2000);
    /* The values, as int16 LE, are the published HU file byte for byte. */
    uint8_t *le = malloc(2 * 512 * 512);
    int integral = 1, padded = 0;
    for (size_t k = 0; k < 512 * 512; k++) {
        int v = (int)ct1.values[k];
        integral &= ct1.values[k] == (float)v && v >= -32768 && v <= 32767;
        le[2 * k] = (uint8_t)v;
        le[2 * k + 1] = (uint8_t)((unsigned)v >> 8);
        padded += ct1.padding[k];
        if (ct1.padding[k]) CHECKF(ct1.values[k] == -3024, "padding at %zu has HU %g", k, ct1.values[k]);
    }
    char hex[65];
    sha256_hex(le, 2 * 512 * 512, hex);
    CHECK(integral);
    CHECKF(strcmp(hex, CT1_HU_SHA256) == 0, "HU digest %s", hex);
    CHECKF(padded == 55772, "%d padded pixels", padded);
    free(le);
}

/* ct1_u16_hu_plus1024.png minus 1024 is the HU wherever HU >= -1024. */
static void test_png16_matches_dicom(void) {
    size_t len;
    uint8_t *data = load(CT "ct1_u16_hu_plus1024.png", &len);
    ct_raster r;
    ct_error err = {0, ""};
    ct_status st = data ? ct_png_decode(data, len, NULL, &r, &err) : CT_E_IO;
    CHECKF(st == CT_OK && r.width == 512 && r.height == 512 && r.channels == 1 && r.u16, "%s", err.message);
    if (st == CT_OK && ct1.values) {
        int above = 0, below = 0, bad = 0;
        for (size_t k = 0; k < 512 * 512; k++) {
            if (ct1.values[k] >= -1024) {
                bad += (float)r.u16[k] - 1024 != ct1.values[k];
                above++;
            } else {
                bad += r.u16[k] != 0;
                below++;
            }
        }
        CHECKF(bad == 0 && above > 200000 && below == 55772, "%d mismatches (%d above, %d below)", bad, above, below);
        ct_raster_free(&r);
    }
    free(data);
}

/* The default lung window reproduces ct1_lung_w1500_l-600.png exactly from
 * the DICOM; the 16-bit PNG gives the same where it kept the HU. */
static void test_lung_window(void) {
    size_t len;
    uint8_t *data = load(CT "ct1_lung_w1500_l-600.png", &len);
    ct_raster want;
    ct_error err = {0, ""};
    ct_status st = data ? ct_png_decode(data, len, NULL, &want, &err) : CT_E_IO;
    free(data);
    CHECKF(st == CT_OK && want.channels == 1 && want.bit_depth == 8, "%s", err.message);
    if (st != CT_OK || !ct1.values) return;
    ct_slice_options opt;
    ct_slice_options_default(&opt);
    CHECK(opt.window_width == 1500 && opt.window_level == -600 && opt.hu_offset == 1024);
    ct_slice dcm, png16;
    st = ct_load_slice(CT "ct1_chest_axial_explicit_le.dcm", &opt, &dcm, &err);
    CHECKF(st == CT_OK && dcm.source == CT_SLICE_DICOM && dcm.channels == 1 && dcm.warnings == 0, "%s", err.message);
    ct_status st16 = ct_load_slice(CT "ct1_u16_hu_plus1024.png", &opt, &png16, &err);
    CHECKF(st16 == CT_OK && png16.source == CT_SLICE_PNG16 && png16.channels == 1, "%s", err.message);
    if (st != CT_OK || st16 != CT_OK) return;
    int bad_dicom = 0, bad_formula = 0, bad_png16 = 0;
    for (size_t k = 0; k < 512 * 512; k++) {
        bad_dicom += dcm.pixels[k] != want.u8[k];
        bad_formula += ct_window_hu(ct1.values[k], 1500, -600) != want.u8[k];
        uint8_t expect16 = ct1.values[k] >= -1024 ? want.u8[k] : ct_window_hu(-1024, 1500, -600);
        bad_png16 += png16.pixels[k] != expect16;
    }
    CHECKF(bad_dicom == 0, "%d DICOM pixels differ from the lung-window PNG", bad_dicom);
    CHECKF(bad_formula == 0, "%d pixels differ from the formula", bad_formula);
    CHECKF(bad_png16 == 0, "%d 16-bit PNG pixels differ", bad_png16);
    /* The formula at its edges, and rounding half up at an exact tie. */
    CHECK(ct_window_hu(-1350, 1500, -600) == 0 && ct_window_hu(150, 1500, -600) == 255);
    CHECK(ct_window_hu(-5000, 1500, -600) == 0 && ct_window_hu(5000, 1500, -600) == 255);
    CHECK(ct_window_hu(1, 255, 127.5) == 1 && ct_window_hu(0.5, 255, 127.5) == 1 && ct_window_hu(0.49, 255, 127.5) == 0);
    /* A different window changes the picture. */
    opt.window_width = 400;
    opt.window_level = 40;
    ct_slice soft;
    CHECK(ct_load_slice(CT "ct1_chest_axial_explicit_le.dcm", &opt, &soft, &err) == CT_OK);
    CHECK(soft.pixels[256 * 512 + 256] == ct_window_hu(ct1.values[256 * 512 + 256], 400, 40));
    ct_slice_free(&soft);
    ct_slice_free(&dcm);
    ct_slice_free(&png16);
    ct_raster_free(&want);
}

/* CT_small is rows 300-427, cols 192-319 of the same slice. */
static void test_ct_small_crop(void) {
    ct_dicom_image img;
    ct_error err = {0, ""};
    ct_status st = decode_file(CT "ct1_crop128_CT_small.dcm", 0, &img, &err);
    CHECKF(st == CT_OK && img.info.rows == 128 && img.info.cols == 128, "%s", err.message);
    if (st != CT_OK || !ct1.values) return;
    int bad = 0;
    for (int y = 0; y < 128; y++)
        for (int x = 0; x < 128; x++) bad += img.values[y * 128 + x] != ct1.values[(300 + y) * 512 + 192 + x];
    CHECKF(bad == 0, "%d pixels differ from the crop", bad);
    ct_dicom_free(&img);
}

/* ---- generated variants -------------------------------------------------- */

static int variants_ok, variants_refused;

static void check_variant(char **f) {
    char path[256];
    snprintf(path, sizeof path, VARIANTS "%s", f[0]);
    ct_dicom_image img;
    ct_error err = {0, ""};
    ct_status st = decode_file(path, 0, &img, &err);
    if (strcmp(f[1], "ok") != 0) {
        ct_status want = strcmp(f[1], "unsupported") == 0 ? CT_E_UNSUPPORTED : CT_E_FORMAT;
        CHECKF(st == want && strstr(err.message, f[9]), "%s: status %d \"%s\", wanted \"%s\"", f[0], st,
               err.message, f[9]);
        variants_refused++;
        return;
    }
    CHECKF(st == CT_OK, "%s: %s", f[0], err.message);
    if (st != CT_OK) return;
    const ct_dicom_info *i = &img.info;
    CHECKF(i->rows == atoi(f[2]) && i->cols == atoi(f[3]) && i->frames == atoi(f[4]) &&
               strcmp(i->photometric, f[5]) == 0 && i->monochrome1 == (strcmp(f[5], "MONOCHROME1") == 0),
           "%s: %dx%d, %d frames, %s", f[0], i->rows, i->cols, i->frames, i->photometric);
    size_t n = (size_t)i->rows * (size_t)i->cols;
    char hex[65];
    digest_floats(img.values, n, hex);
    CHECKF(strcmp(hex, f[6]) == 0, "%s: values differ", f[0]);
    if (strcmp(f[7], "-") == 0) {
        CHECKF(img.padding == NULL, "%s: unexpected padding mask", f[0]);
    } else {
        if (img.padding) sha256_hex(img.padding, n, hex);
        CHECKF(img.padding && strcmp(hex, f[7]) == 0, "%s: padding mask differs", f[0]);
    }
    if (strcmp(f[8], "-") != 0) {
        ct_dicom_image second;
        st = decode_file(path, 1, &second, &err);
        if (st == CT_OK) digest_floats(second.values, n, hex);
        CHECKF(st == CT_OK && second.frame == 1 && strcmp(hex, f[8]) == 0, "%s frame 1: %s", f[0], err.message);
        ct_dicom_free(&second);
        st = decode_file(path, 2, &second, &err);
        CHECKF(st == CT_E_ARG && strstr(err.message, "frame 2 requested; the file has 2"), "%s", err.message);
    }
    variants_ok++;
    ct_dicom_free(&img);
}

static void variant_row(char **f, int n) {
    if (n < 10) {
        CHECKF(0, "short EXPECTED line");
        return;
    }
    check_variant(f);
}

static void test_variants(void) {
    variants_ok = variants_refused = 0;
    int rows = tsv_for_each_row(VARIANTS "EXPECTED.tsv", 0, variant_row);
    CHECKF(rows == 13 && variants_ok == 9 && variants_refused == 4, "%d rows: %d ok, %d refused", rows, variants_ok,
           variants_refused);
    /* Details the digests do not show. */
    ct_dicom_image img;
    ct_error err;
    if (decode_file(VARIANTS "explicit_be.dcm", 0, &img, &err) == CT_OK) {
        CHECK(img.info.has_window && img.info.window_center == -600 && img.info.window_width == 1500);
        CHECK(strstr(img.info.syntax_name, "Big Endian") != NULL);
        ct_dicom_free(&img);
    }
    if (decode_file(VARIANTS "implicit_le_no_meta.dcm", 0, &img, &err) == CT_OK) {
        CHECK(img.info.transfer_syntax[0] == '\0' && strstr(img.info.syntax_name, "no meta header"));
        ct_dicom_free(&img);
    }
    if (decode_file(VARIANTS "mono1_u8.dcm", 0, &img, &err) == CT_OK) {
        CHECK(img.info.slope == 2.5 && img.info.intercept == -100 && img.info.padding_lo == 0 &&
              img.info.padding_hi == 3 && !img.info.has_window);
        ct_dicom_free(&img);
    }
}

/* MONOCHROME1 is inverted after the window, padding stays black, and a
 * multi-frame file gives frame 0 with a warning. */
static void test_slices_from_variants(void) {
    ct_slice_options opt;
    ct_slice_options_default(&opt);
    ct_dicom_image img;
    ct_slice s;
    ct_error err;
    if (decode_file(VARIANTS "mono1_u8.dcm", 0, &img, &err) == CT_OK &&
        ct_load_slice(VARIANTS "mono1_u8.dcm", &opt, &s, &err) == CT_OK) {
        int bad = 0, padded = 0;
        for (size_t k = 0; k < 20 * 24; k++) {
            uint8_t want = img.padding[k] ? 0 : (uint8_t)(255 - ct_window_hu(img.values[k], 1500, -600));
            bad += s.pixels[k] != want;
            padded += img.padding[k];
        }
        CHECKF(bad == 0 && padded > 0 && padded < 20 * 24, "%d wrong, %d padded", bad, padded);
        ct_slice_free(&s);
        ct_dicom_free(&img);
    } else {
        CHECKF(0, "mono1_u8.dcm: %s", err.message);
    }
    ct_status st = ct_load_slice(VARIANTS "multiframe.dcm", &opt, &s, &err);
    CHECKF(st == CT_OK && (s.warnings & CT_SLICE_WARN_MULTIFRAME) && s.frames == 2, "%s", err.message);
    ct_slice_free(&s);
    st = ct_load_slice(VARIANTS "jpeg_baseline.dcm", &opt, &s, &err);
    CHECKF(st == CT_E_UNSUPPORTED && strstr(err.message, "jpeg_baseline.dcm: compressed DICOM transfer syntax"),
           "%s", err.message);
}

/* ---- corrupt and hand-patched files -------------------------------------- */

/* Offset of the value of explicit-VR-LE element (group,element) with a
 * short (2-byte) length, or 0. */
static size_t find_value(const uint8_t *d, size_t len, unsigned group, unsigned element) {
    for (size_t i = 0; i + 8 <= len; i++)
        if (d[i] == (group & 0xff) && d[i + 1] == group >> 8 && d[i + 2] == (element & 0xff) &&
            d[i + 3] == element >> 8 && d[i + 4] >= 'A' && d[i + 4] <= 'Z')
            return i + 8;
    return 0;
}

typedef struct {
    unsigned group, element;
    int offset;             /* patch at value + offset (negative: into the header) */
    const char *bytes;
    size_t n;
    ct_status status;
    const char *message;
} patch;

static void test_patched_files(void) {
    static const patch patches[] = {
        {0x0028, 0x0100, 0, "\x20\x00", 2, CT_E_UNSUPPORTED, "BitsAllocated 32 is not supported"},
        {0x0028, 0x0101, 0, "\x11\x00", 2, CT_E_FORMAT, "inconsistent BitsAllocated 16, BitsStored 17, HighBit 15"},
        {0x0028, 0x0102, 0, "\x08\x00", 2, CT_E_FORMAT, "inconsistent BitsAllocated 16, BitsStored 16, HighBit 8"},
        {0x0028, 0x0103, 0, "\x02\x00", 2, CT_E_FORMAT, "PixelRepresentation 2"},
        {0x0028, 0x1053, 0, "x ", 2, CT_E_FORMAT, "bad RescaleSlope (0028,1053) value \"x\""},
        {0x0028, 0x1052, 2, ".-", 2, CT_E_FORMAT, "bad RescaleIntercept (0028,1052) value \"-1.-4\""},
        {0x0028, 0x0010, -6, "\x12", 1, CT_E_FORMAT, "DICOM file has no Rows (0028,0010)"},
        {0x0028, 0x0011, -6, "\x13", 1, CT_E_FORMAT, "DICOM file has no Columns (0028,0011)"},
        {0x0002, 0x0010, 18, "9", 1, CT_E_UNSUPPORTED, "unknown DICOM transfer syntax 1.2.840.10008.1.2.9"},
        {0x0002, 0x0010, -6, "\x11", 1, CT_E_FORMAT, "no TransferSyntaxUID"},
        {0x0008, 0x0060, -4, "\x01\x02", 2, CT_E_FORMAT, "invalid VR bytes 0x01 0x02 in element (0008,0060)"},
        {0x0028, 0x0004, 0, "RGB        ", 11, CT_E_UNSUPPORTED, "color image (RGB, 1 samples per pixel)"},
    };
    size_t len;
    uint8_t *base = load(VARIANTS "explicit_le_no_preamble.dcm", &len);
    if (!base) return;
    uint8_t *d = malloc(len);
    for (size_t p = 0; p < sizeof patches / sizeof patches[0]; p++) {
        memcpy(d, base, len);
        size_t at = find_value(d, len, patches[p].group, patches[p].element);
        CHECKF(at > 0, "element (%04x,%04x) not found", patches[p].group, patches[p].element);
        if (!at) continue;
        memcpy(d + (long)at + patches[p].offset, patches[p].bytes, patches[p].n);
        ct_dicom_image img;
        ct_error err = {0, ""};
        ct_status st = ct_dicom_decode(d, len, NULL, 0, &img, &err);
        CHECKF(st == patches[p].status && strstr(err.message, patches[p].message), "patch %zu: %d \"%s\"", p, st,
               err.message);
        ct_dicom_free(&img);
    }
    /* No PixelData: rename the tag. */
    memcpy(d, base, len);
    for (size_t i = len - 20 * 24 * 2 - 12; i < len - 20 * 24 * 2; i++)
        if (d[i] == 0xe0 && d[i + 1] == 0x7f && d[i + 2] == 0x10) d[i + 2] = 0x11;
    ct_dicom_image img;
    ct_error err;
    CHECK(ct_dicom_decode(d, len, NULL, 0, &img, &err) == CT_E_FORMAT && strstr(err.message, "no PixelData"));
    free(d);
    free(base);
    const uint8_t not_dicom[200] = "\x89PNG";
    CHECK(ct_dicom_decode(not_dicom, sizeof not_dicom, NULL, 0, &img, &err) == CT_E_FORMAT &&
          strstr(err.message, "not a DICOM file"));
}

static void put_le(uint8_t *p, unsigned group, unsigned element, uint32_t len) {
    const uint8_t b[8] = {(uint8_t)group, (uint8_t)(group >> 8), (uint8_t)element, (uint8_t)(element >> 8),
                          (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
    memcpy(p, b, 8);
}

/* Deeply nested undefined-length sequences fail cleanly (no stack overflow). */
static void test_nesting_limit(void) {
    uint8_t d[8 + 16 * 100];
    put_le(d, 0x0008, 0x0005, 0);                     /* implicit VR LE, no meta */
    size_t n = 8;
    for (int i = 0; i < 100; i++) {
        put_le(d + n, 0x0008, 0x1140, 0xffffffffu);
        put_le(d + n + 8, 0xfffe, 0xe000, 0xffffffffu);
        n += 16;
    }
    ct_dicom_image img;
    ct_error err;
    ct_status st = ct_dicom_decode(d, n, NULL, 0, &img, &err);
    CHECKF(st == CT_E_FORMAT && strstr(err.message, "nested deeper than 32"), "%d %s", st, err.message);
    st = ct_dicom_decode(d, 8 + 16 * 3, NULL, 0, &img, &err);
    CHECKF(st == CT_E_FORMAT && strstr(err.message, "truncated"), "%d %s", st, err.message);
}

static void test_limits(void) {
    ct_image_limits lim;
    ct_image_limits_default(&lim);
    size_t len;
    uint8_t *d = load(VARIANTS "deflated.dcm", &len);
    ct_dicom_image img;
    ct_error err;
    lim.max_pixels = 479;                             /* 20 x 24 = 480 */
    CHECK(d && ct_dicom_decode(d, len, &lim, 0, &img, &err) == CT_E_LIMIT);
    lim.max_pixels = 480;
    CHECK(d && ct_dicom_decode(d, len, &lim, 0, &img, &err) == CT_OK);
    ct_dicom_free(&img);
    lim.max_bytes = 1000;                             /* the inflated dataset is larger */
    ct_status st = d ? ct_dicom_decode(d, len, &lim, 0, &img, &err) : CT_E_IO;
    CHECKF(st == CT_E_LIMIT && strstr(err.message, "deflated DICOM dataset: inflated data exceeds the limit"),
           "%d %s", st, err.message);
    free(d);
}

/* Every truncation fails; byte flips never crash. Cuts are made at every
 * offset of the header and every `cut_step` bytes in the pixel data; flips
 * at every `flip_step`-th header byte. */
static void corrupt_file(const char *path, size_t cut_step, size_t flip_step) {
    size_t len;
    uint8_t *data = load(path, &len);
    if (!data) {
        CHECKF(0, "%s missing", path);
        return;
    }
    size_t header = len;
    ct_dicom_image img;
    ct_error err;
    if (ct_dicom_decode(data, len, NULL, 0, &img, &err) == CT_OK) {
        size_t pixels = (size_t)img.info.rows * (size_t)img.info.cols * (size_t)img.info.frames *
                        (size_t)(img.info.bits_allocated / 8);
        if (pixels < len) header = len - pixels;     /* else compressed: all of it */
        ct_dicom_free(&img);
    }
    for (size_t cut = 0; cut < len; cut += cut < header ? 1 : cut_step) {
        /* A copy of exactly `cut` bytes, so that ASan sees any overread. */
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, data, cut);
        err.message[0] = '\0';
        ct_status st = ct_dicom_decode(copy, cut, NULL, 0, &img, &err);
        CHECKF(st != CT_OK && err.message[0] && img.values == NULL, "%s cut at %zu: status %d", path, cut, st);
        free(copy);
    }
    for (size_t at = 0; at < header; at += flip_step) {
        static const uint8_t masks[] = {0x01, 0x80, 0xff};
        for (size_t m = 0; m < sizeof masks; m++) {
            data[at] ^= masks[m];
            err.message[0] = '\0';
            ct_status st = ct_dicom_decode(data, len, NULL, 0, &img, &err);
            CHECKF(st == CT_OK || err.message[0], "%s flip at %zu", path, at);
            ct_dicom_free(&img);
            data[at] ^= masks[m];
        }
    }
    free(data);
}

static void test_truncation_and_flips(void) {
    static const char *const variants[] = {"implicit_le.dcm", "implicit_le_no_meta.dcm", "explicit_le_no_preamble.dcm",
                                           "explicit_be.dcm", "deflated.dcm", "mono1_u8.dcm", "bits12_signed.dcm",
                                           "multiframe.dcm", "jpeg_baseline.dcm"};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, VARIANTS "%s", variants[i]);
        corrupt_file(path, 1, 1);
    }
    corrupt_file(CT "ct1_crop128_CT_small.dcm", 997, 23);
    corrupt_file(CT "ct1_chest_axial_explicit_le.dcm", 49999, 97);
}

int main(void) {
    RUN(test_ct1_hu);
    RUN(test_png16_matches_dicom);
    RUN(test_lung_window);
    RUN(test_ct_small_crop);
    RUN(test_variants);
    RUN(test_slices_from_variants);
    RUN(test_patched_files);
    RUN(test_nesting_limit);
    RUN(test_limits);
    RUN(test_truncation_and_flips);
    ct_dicom_free(&ct1);
    return TEST_SUMMARY();
}
