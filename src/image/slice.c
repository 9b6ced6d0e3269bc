/* Image file to model input (see slice.h): format detection, PIL-equivalent
 * PNG conversion and CT windowing. */
#include "image/slice.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/dicom.h"
#include "image/file_io.h"
#include "image/png_decode.h"
#include "util/error.h"

void ct_slice_options_default(ct_slice_options *opt) {
    opt->window_width = CT_DEFAULT_WINDOW_WIDTH;
    opt->window_level = CT_DEFAULT_WINDOW_LEVEL;
    opt->hu_offset = CT_DEFAULT_HU_OFFSET;
    ct_image_limits_default(&opt->limits);
}

ct_image_format ct_detect_format(const uint8_t *data, size_t len) {
    if (ct_png_has_signature(data, len)) return CT_FORMAT_PNG;
    if (ct_dicom_probe(data, len)) return CT_FORMAT_DICOM;
    return CT_FORMAT_UNKNOWN;
}

uint8_t ct_window_hu(double hu, double width, double level) {
    double v = floor((hu - (level - width / 2)) * 255 / width + 0.5);
    if (!(v > 0)) return 0;                          /* also NaN */
    return v >= 255 ? 255 : (uint8_t)v;
}

static ct_status alloc_slice(ct_slice *out, int width, int height, int channels, ct_error *err) {
    out->width = width;
    out->height = height;
    out->channels = channels;
    out->frames = 1;
    out->pixels = malloc((size_t)width * (size_t)height * (size_t)channels);
    if (!out->pixels) return ct_fail(err, CT_E_NOMEM, "out of memory for a %d x %d slice", width, height);
    return CT_OK;
}

/* Depth <= 8: PIL's unpackers scale 1/2/4-bit gray to 0..255. */
static uint8_t gray_to_8bit(unsigned v, int depth) {
    static const uint8_t scale[9] = {0, 255, 85, 0, 17, 0, 0, 0, 1};
    return (uint8_t)(v * scale[depth]);
}

static void convert_png(const ct_raster *r, const ct_slice_options *opt, ct_slice *out) {
    size_t n = (size_t)r->width * (size_t)r->height, rc = (size_t)r->channels;
    for (size_t i = 0; i < n; i++) {
        if (out->channels == 1 && r->u16)
            out->pixels[i] = ct_window_hu((double)r->u16[i * rc] - opt->hu_offset, opt->window_width,
                                          opt->window_level);
        else if (out->channels == 1)
            out->pixels[i] = gray_to_8bit(r->u8[i * rc], r->bit_depth);
        else
            for (size_t c = 0; c < 3; c++)
                out->pixels[3 * i + c] = r->u16 ? (uint8_t)(r->u16[i * rc + c] >> 8) : r->u8[i * rc + c];
    }
}

static ct_status slice_from_png(const uint8_t *data, size_t len, const ct_slice_options *opt, ct_slice *out,
                                ct_error *err) {
    ct_raster r;
    ct_status st = ct_png_decode(data, len, &opt->limits, &r, err);
    if (st != CT_OK) return st;
    st = alloc_slice(out, r.width, r.height, r.channels <= 2 ? 1 : 3, err);
    if (st == CT_OK) {
        out->source = r.u16 ? CT_SLICE_PNG16 : CT_SLICE_PNG8;
        convert_png(&r, opt, out);
    }
    ct_raster_free(&r);
    return st;
}

static ct_status slice_from_dicom(const uint8_t *data, size_t len, const ct_slice_options *opt, ct_slice *out,
                                  ct_error *err) {
    ct_dicom_image img;
    ct_status st = ct_dicom_decode(data, len, &opt->limits, 0, &img, err);
    if (st != CT_OK) return st;
    st = alloc_slice(out, img.info.cols, img.info.rows, 1, err);
    if (st == CT_OK) {
        out->source = CT_SLICE_DICOM;
        out->frames = img.info.frames;
        if (img.info.frames > 1) out->warnings |= CT_SLICE_WARN_MULTIFRAME;
        size_t n = (size_t)img.info.cols * (size_t)img.info.rows;
        for (size_t i = 0; i < n; i++) {
            uint8_t v = ct_window_hu(img.values[i], opt->window_width, opt->window_level);
            if (img.info.monochrome1) v = (uint8_t)(255 - v);
            out->pixels[i] = img.padding && img.padding[i] ? 0 : v;
        }
    }
    ct_dicom_free(&img);
    return st;
}

ct_status ct_slice_from_memory(const uint8_t *data, size_t len, const ct_slice_options *opt,
                               ct_slice *out, ct_error *err) {
    memset(out, 0, sizeof *out);
    if (!(opt->window_width > 0) || !isfinite(opt->window_width) || !isfinite(opt->window_level) ||
        !isfinite(opt->hu_offset))
        return ct_fail(err, CT_E_ARG, "bad CT window (width %g, level %g, HU offset %g): width must be > 0",
                       opt->window_width, opt->window_level, opt->hu_offset);
    ct_status st;
    switch (ct_detect_format(data, len)) {
    case CT_FORMAT_PNG: st = slice_from_png(data, len, opt, out, err); break;
    case CT_FORMAT_DICOM: st = slice_from_dicom(data, len, opt, out, err); break;
    default: return ct_fail(err, CT_E_UNSUPPORTED, "unrecognized image format (neither PNG nor DICOM)");
    }
    if (st != CT_OK) ct_slice_free(out);
    return st;
}

ct_status ct_load_slice(const char *path, const ct_slice_options *opt, ct_slice *out, ct_error *err) {
    memset(out, 0, sizeof *out);
    uint8_t *data;
    size_t len;
    size_t max = opt->limits.max_bytes > SIZE_MAX ? SIZE_MAX : (size_t)opt->limits.max_bytes;
    ct_status st = ct_read_file(path, max, &data, &len, err);
    if (st != CT_OK) return st;
    st = ct_slice_from_memory(data, len, opt, out, err);
    free(data);
    if (st != CT_OK) ct_error_prefix(err, path);
    return st;
}

void ct_slice_free(ct_slice *s) {
    free(s->pixels);
    memset(s, 0, sizeof *s);
}
