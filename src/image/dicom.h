/* DICOM grayscale image decoding: from a Part-10 file (or a bare dataset) to
 * float values after the modality rescale (Hounsfield units for CT). */
#ifndef CT_IMAGE_DICOM_H
#define CT_IMAGE_DICOM_H

#include <stddef.h>
#include <stdint.h>

#include "ctinfer.h"
#include "image/raster.h"

typedef struct {
    int rows, cols;
    int frames;                  /* NumberOfFrames, 1 when absent */
    int bits_allocated;          /* 8 or 16 */
    int bits_stored, high_bit;
    int is_signed;               /* PixelRepresentation 1: two's complement */
    int monochrome1;             /* MONOCHROME1: low values display bright */
    char photometric[17];        /* PhotometricInterpretation ("MONOCHROME2" if absent) */
    char transfer_syntax[65];    /* UID; "" for a dataset without meta header */
    const char *syntax_name;     /* readable name of the transfer syntax (static string) */
    double slope, intercept;     /* RescaleSlope/Intercept, 1 and 0 when absent */
    int has_window;              /* WindowCenter/Width present (first values kept) */
    double window_center, window_width;
    int has_padding;             /* PixelPaddingValue present */
    int32_t padding_lo, padding_hi;  /* padded stored values, inclusive (a range when
                                        PixelPaddingRangeLimit is present) */
} ct_dicom_info;

typedef struct {
    ct_dicom_info info;
    int frame;                   /* the frame decoded */
    float *values;               /* [rows, cols]: stored value * slope + intercept */
    uint8_t *padding;            /* [rows, cols]: 1 where the stored value is padding;
                                    NULL without a PixelPaddingValue */
} ct_dicom_image;

/* Decodes frame `frame` (0-based; callers warn when info.frames > 1 and
 * they take only frame 0) of the DICOM file in data[0..len) into out
 * (release with ct_dicom_free).
 *
 * Accepted: Part-10 files with or without the 128-byte preamble, bare
 * datasets (implicit or explicit VR little endian), and the transfer
 * syntaxes Implicit VR LE, Explicit VR LE, Explicit VR BE and Deflated
 * Explicit VR LE; undefined-length sequences and items are skipped, so only
 * the top-level PixelData counts; one sample per pixel (MONOCHROME1 or
 * MONOCHROME2), BitsAllocated 8 or 16, signed or unsigned, BitsStored/HighBit
 * masking with sign extension.
 * Refused: compressed transfer syntaxes (JPEG, JPEG-LS, JPEG 2000, RLE, ...)
 * and color images (CT_E_UNSUPPORTED, naming them), images over lim (NULL:
 * defaults; CT_E_LIMIT), and malformed or truncated files (CT_E_FORMAT). */
ct_status ct_dicom_decode(const uint8_t *data, size_t len, const ct_image_limits *lim, int frame,
                          ct_dicom_image *out, ct_error *err);

void ct_dicom_free(ct_dicom_image *img);

/* 1 when data looks like DICOM: "DICM" at offset 128, or a dataset (with or
 * without meta header) starting with a plausible group 0002/0008 element. */
int ct_dicom_probe(const uint8_t *data, size_t len);

#endif
