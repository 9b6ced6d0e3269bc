/* The decode subcommand: image file -> .npy of its decoded samples. */
#include "cli/decode.h"

#include <stdlib.h>

#include "image/dicom.h"
#include "image/file_io.h"
#include "image/npy_write.h"
#include "image/png_decode.h"
#include "image/slice.h"
#include "util/error.h"

static ct_status decode_dicom(const uint8_t *data, size_t len, const ct_image_limits *lim,
                              const char *npy_path, ct_error *err) {
    ct_dicom_image img;
    ct_status st = ct_dicom_decode(data, len, lim, 0, &img, err);
    if (st != CT_OK) return st;
    size_t shape[2] = {(size_t)img.info.rows, (size_t)img.info.cols};
    st = ct_npy_write(npy_path, CT_NPY_F32, shape, 2, img.values, err);
    ct_dicom_free(&img);
    return st;
}

ct_status cli_decode(const char *image_path, const char *npy_path, ct_error *err) {
    ct_image_limits lim;
    ct_image_limits_default(&lim);
    uint8_t *data;
    size_t len;
    ct_status st = ct_read_file(image_path, (size_t)lim.max_bytes, &data, &len, err);
    if (st != CT_OK) return st;
    switch (ct_detect_format(data, len)) {
    case CT_FORMAT_PNG: {
        ct_raster r;
        if ((st = ct_png_decode(data, len, &lim, &r, err)) == CT_OK) {
            st = ct_npy_write_raster(npy_path, &r, err);
            ct_raster_free(&r);
        }
        break;
    }
    case CT_FORMAT_DICOM:
        st = decode_dicom(data, len, &lim, npy_path, err);
        break;
    default:
        st = ct_fail(err, CT_E_UNSUPPORTED, "not a PNG or DICOM file");
    }
    free(data);
    if (st != CT_OK) ct_error_prefix(err, image_path);
    return st;
}
