/* DICOM image decoding (see dicom.h): interprets the attributes that
 * dicom_parse collected and turns one frame of PixelData into rescaled
 * float values and a padding mask. */
#include "image/dicom.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/dicom_parse.h"
#include "util/error.h"

#define MAX_STRING 64      /* longest DS/IS/CS value looked at */

static const char *const attribute_names[DCM_NUM_ATTRIBUTES] = {
    "SamplesPerPixel (0028,0002)", "PhotometricInterpretation (0028,0004)", "NumberOfFrames (0028,0008)",
    "Rows (0028,0010)", "Columns (0028,0011)", "BitsAllocated (0028,0100)", "BitsStored (0028,0101)",
    "HighBit (0028,0102)", "PixelRepresentation (0028,0103)", "PixelPaddingValue (0028,0120)",
    "PixelPaddingRangeLimit (0028,0121)", "WindowCenter (0028,1050)", "WindowWidth (0028,1051)",
    "RescaleIntercept (0028,1052)", "RescaleSlope (0028,1053)", "PixelData (7fe0,0010)"};

static unsigned rd16(const uint8_t *p, int be) {
    return be ? (unsigned)(p[0] << 8 | p[1]) : (unsigned)(p[1] << 8 | p[0]);
}

/* First value of a US/SS attribute as raw 16 bits; *present = 0 if absent. */
static ct_status get_u16(const ct_dcm_dataset *ds, ct_dcm_attribute a, unsigned *out, int *present,
                         ct_error *err) {
    const ct_dcm_value *v = &ds->attr[a];
    *present = v->present;
    if (!v->present) return CT_OK;
    if (v->len < 2) return ct_fail(err, CT_E_FORMAT, "%s has %u bytes (needs 2)", attribute_names[a], v->len);
    *out = rd16(v->value, ds->big_endian);
    return CT_OK;
}

/* A US attribute that must be present. */
static ct_status need_u16(const ct_dcm_dataset *ds, ct_dcm_attribute a, unsigned *out, ct_error *err) {
    int present;
    ct_status st = get_u16(ds, a, out, &present, err);
    if (st == CT_OK && !present) return ct_fail(err, CT_E_FORMAT, "DICOM file has no %s", attribute_names[a]);
    return st;
}

/* First value of a string attribute, padding and leading spaces removed. */
static void get_string(const ct_dcm_dataset *ds, ct_dcm_attribute a, char *out) {
    const ct_dcm_value *v = &ds->attr[a];
    size_t n = v->present ? v->len : 0, start = 0;
    out[0] = '\0';
    if (n == 0) return;
    if (n > MAX_STRING) n = MAX_STRING;
    for (size_t i = 0; i < n; i++)
        if (v->value[i] == '\\') n = i;                 /* multi-valued: keep the first */
    while (start < n && v->value[start] == ' ') start++;
    while (n > start && (v->value[n - 1] == ' ' || v->value[n - 1] == '\0')) n--;
    memcpy(out, v->value + start, n - start);
    out[n - start] = '\0';
}

/* Parses a DICOM decimal string ([sign] digits [. digits] [e [sign] digits])
 * without the C locale's help. Correctly rounded for up to 15 significant
 * digits and decimal exponents within +-22 (every value seen in practice). */
static int parse_decimal(const char *s, double *out) {
    int negative = *s == '-', digits = 0, exp10 = 0;
    if (*s == '-' || *s == '+') s++;
    uint64_t mantissa = 0;
    for (int frac = 0;; s++) {
        if (*s == '.' && !frac) {
            frac = 1;
            continue;
        }
        if (*s < '0' || *s > '9') break;
        digits++;
        if (mantissa < UINT64_MAX / 10 - 9) mantissa = mantissa * 10 + (uint64_t)(*s - '0');
        else exp10++;                                     /* digit beyond precision */
        exp10 -= frac;
    }
    if (!digits) return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        int eneg = *s == '-', e = 0, edigits = 0;
        if (*s == '-' || *s == '+') s++;
        for (; *s >= '0' && *s <= '9'; s++, edigits++)
            if (e < 10000) e = e * 10 + (*s - '0');
        if (!edigits) return 0;
        exp10 += eneg ? -e : e;
    }
    if (*s) return 0;
    double scale = 1;
    for (int i = 0; i < abs(exp10) && i < 22; i++) scale *= 10;
    double v = (double)mantissa;
    if (abs(exp10) > 22) v = v * pow(10, exp10 > 0 ? exp10 - 22 : exp10 + 22);
    v = exp10 < 0 ? v / scale : v * scale;
    *out = negative ? -v : v;
    return isfinite(*out);
}

/* First value of a DS/IS attribute; *present = 0 when absent or empty. */
static ct_status get_number(const ct_dcm_dataset *ds, ct_dcm_attribute a, double *out, int *present,
                            ct_error *err) {
    char text[MAX_STRING + 1];
    get_string(ds, a, text);
    *present = text[0] != '\0';
    if (*present && !parse_decimal(text, out))
        return ct_fail(err, CT_E_FORMAT, "bad %s value \"%s\"", attribute_names[a], text);
    return CT_OK;
}

static ct_status read_color(const ct_dcm_dataset *ds, ct_dicom_info *info, ct_error *err) {
    unsigned samples = 1;
    int present;
    ct_status st = get_u16(ds, DCM_SAMPLES_PER_PIXEL, &samples, &present, err);
    if (st != CT_OK) return st;
    get_string(ds, DCM_PHOTOMETRIC, info->photometric);
    if (!info->photometric[0]) strcpy(info->photometric, "MONOCHROME2");
    info->monochrome1 = strcmp(info->photometric, "MONOCHROME1") == 0;
    if (samples != 1 || (!info->monochrome1 && strcmp(info->photometric, "MONOCHROME2") != 0))
        return ct_fail(err, CT_E_UNSUPPORTED, "DICOM color image (%s, %u samples per pixel) is not supported",
                       info->photometric, samples);
    return CT_OK;
}

static ct_status read_geometry(const ct_dcm_dataset *ds, ct_dicom_info *info, ct_error *err) {
    unsigned rows = 0, cols = 0, bits = 0, stored = 0, high = 0, rep = 0;
    int has_stored = 0, has_high = 0, has_rep = 0;
    ct_status st = need_u16(ds, DCM_ROWS, &rows, err);
    if (st == CT_OK) st = need_u16(ds, DCM_COLUMNS, &cols, err);
    if (st == CT_OK) st = need_u16(ds, DCM_BITS_ALLOCATED, &bits, err);
    if (st == CT_OK) st = get_u16(ds, DCM_BITS_STORED, &stored, &has_stored, err);
    if (st == CT_OK) st = get_u16(ds, DCM_HIGH_BIT, &high, &has_high, err);
    if (st == CT_OK) st = get_u16(ds, DCM_PIXEL_REPRESENTATION, &rep, &has_rep, err);
    if (st != CT_OK) return st;
    if (bits != 8 && bits != 16)
        return ct_fail(err, CT_E_UNSUPPORTED, "DICOM BitsAllocated %u is not supported (only 8 and 16)", bits);
    if (!has_stored) stored = bits;
    if (!has_high) high = stored - 1;
    if (stored < 1 || stored > bits || high >= bits || high + 1 < stored)
        return ct_fail(err, CT_E_FORMAT, "inconsistent BitsAllocated %u, BitsStored %u, HighBit %u", bits, stored, high);
    if (rep > 1) return ct_fail(err, CT_E_FORMAT, "PixelRepresentation %u (must be 0 or 1)", rep);
    info->rows = (int)rows;
    info->cols = (int)cols;
    info->bits_allocated = (int)bits;
    info->bits_stored = (int)stored;
    info->high_bit = (int)high;
    info->is_signed = (int)rep;
    return CT_OK;
}

/* Padding values are 16-bit US or SS, signed when the pixels are. */
static int32_t padding_as_stored(unsigned raw, const ct_dicom_info *info) {
    return info->is_signed ? (int32_t)(int16_t)raw : (int32_t)raw;
}

static ct_status read_values(const ct_dcm_dataset *ds, ct_dicom_info *info, ct_error *err) {
    double frames = 1, center = 0, width = 0;
    int has_frames, has_center, has_width, has_slope, has_intercept, has_limit;
    info->slope = 1;
    info->intercept = 0;
    ct_status st = get_number(ds, DCM_NUMBER_OF_FRAMES, &frames, &has_frames, err);
    if (st == CT_OK) st = get_number(ds, DCM_RESCALE_SLOPE, &info->slope, &has_slope, err);
    if (st == CT_OK) st = get_number(ds, DCM_RESCALE_INTERCEPT, &info->intercept, &has_intercept, err);
    if (st == CT_OK) st = get_number(ds, DCM_WINDOW_CENTER, &center, &has_center, err);
    if (st == CT_OK) st = get_number(ds, DCM_WINDOW_WIDTH, &width, &has_width, err);
    if (st != CT_OK) return st;
    if (!has_frames) frames = 1;
    if (frames < 1 || frames > INT_MAX || frames != floor(frames))
        return ct_fail(err, CT_E_FORMAT, "bad NumberOfFrames %g", frames);
    info->frames = (int)frames;
    info->has_window = has_center && has_width;
    info->window_center = has_center ? center : 0;
    info->window_width = has_width ? width : 0;
    unsigned pad = 0, limit = 0;
    st = get_u16(ds, DCM_PADDING_VALUE, &pad, &info->has_padding, err);
    if (st == CT_OK) st = get_u16(ds, DCM_PADDING_RANGE_LIMIT, &limit, &has_limit, err);
    if (st != CT_OK) return st;
    int32_t lo = padding_as_stored(pad, info), hi = has_limit ? padding_as_stored(limit, info) : lo;
    info->padding_lo = lo < hi ? lo : hi;
    info->padding_hi = lo < hi ? hi : lo;
    return CT_OK;
}

/* The stored value in a raw sample: BitsStored bits ending at HighBit,
 * sign-extended for signed pixels. */
static int32_t stored_value(unsigned raw, const ct_dicom_info *info) {
    unsigned shift = (unsigned)(info->high_bit + 1 - info->bits_stored);
    unsigned v = (raw >> shift) & ((1u << info->bits_stored) - 1);
    if (info->is_signed && (v >> (info->bits_stored - 1)) & 1u)
        return (int32_t)v - (int32_t)(1u << info->bits_stored);
    return (int32_t)v;
}

/* Checks PixelData against the geometry and converts frame out->frame. */
static ct_status decode_pixels(const ct_dcm_dataset *ds, const ct_image_limits *lim, ct_dicom_image *out,
                               ct_error *err) {
    const ct_dicom_info *info = &out->info;
    const ct_dcm_value *pd = &ds->attr[DCM_PIXEL_DATA];
    if (!pd->present) return ct_fail(err, CT_E_FORMAT, "DICOM file has no PixelData (7fe0,0010)");
    size_t float_bytes;
    ct_status st = ct_image_check_size((uint64_t)info->cols, (uint64_t)info->rows, 1, sizeof(float), lim,
                                       &float_bytes, err);
    if (st != CT_OK) return st;
    size_t count = float_bytes / sizeof(float), sample_bytes = (size_t)info->bits_allocated / 8;
    uint64_t need = (uint64_t)count * sample_bytes * (uint64_t)info->frames;
    if (pd->len < need)
        return ct_fail(err, CT_E_FORMAT, "PixelData has %u bytes; %d frame(s) of %d x %d x %d bits need %llu",
                       pd->len, info->frames, info->rows, info->cols, info->bits_allocated,
                       (unsigned long long)need);
    out->values = malloc(float_bytes);
    out->padding = info->has_padding ? calloc(count, 1) : NULL;
    if (!out->values || (info->has_padding && !out->padding))
        return ct_fail(err, CT_E_NOMEM, "out of memory for a %d x %d DICOM image", info->rows, info->cols);
    const uint8_t *src = pd->value + (size_t)out->frame * count * sample_bytes;
    for (size_t i = 0; i < count; i++) {
        unsigned raw = sample_bytes == 2 ? rd16(src + 2 * i, ds->big_endian) : src[i];
        int32_t v = stored_value(raw, info);
        out->values[i] = (float)((double)v * info->slope + info->intercept);
        if (out->padding) out->padding[i] = v >= info->padding_lo && v <= info->padding_hi;
    }
    return CT_OK;
}

ct_status ct_dicom_decode(const uint8_t *data, size_t len, const ct_image_limits *lim, int frame,
                          ct_dicom_image *out, ct_error *err) {
    memset(out, 0, sizeof *out);
    ct_dcm_dataset ds;
    ct_status st = ct_dcm_parse(data, len, lim, &ds, err);
    ct_dicom_info *info = &out->info;
    if (st == CT_OK) {
        memcpy(info->transfer_syntax, ds.transfer_syntax, sizeof info->transfer_syntax);
        info->syntax_name = ds.syntax_name;
        st = read_color(&ds, info, err);
    }
    if (st == CT_OK) st = read_geometry(&ds, info, err);
    if (st == CT_OK) st = read_values(&ds, info, err);
    if (st == CT_OK && (frame < 0 || frame >= info->frames))
        st = ct_fail(err, CT_E_ARG, "frame %d requested; the file has %d", frame, info->frames);
    out->frame = frame;
    if (st == CT_OK) st = decode_pixels(&ds, lim, out, err);
    ct_dcm_dataset_free(&ds);
    if (st != CT_OK) ct_dicom_free(out);
    return st;
}

void ct_dicom_free(ct_dicom_image *img) {
    free(img->values);
    free(img->padding);
    memset(img, 0, sizeof *img);
}
