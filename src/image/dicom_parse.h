/* DICOM Part-10 / raw dataset parsing: transfer syntax, element walking,
 * skipping of (undefined-length) sequences, and collection of the few
 * top-level attributes an image decoder needs. Private to src/image. */
#ifndef CT_IMAGE_DICOM_PARSE_H
#define CT_IMAGE_DICOM_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "ctinfer.h"
#include "image/raster.h"

/* The top-level attributes collected, in tag order. */
typedef enum {
    DCM_SAMPLES_PER_PIXEL,   /* (0028,0002) US */
    DCM_PHOTOMETRIC,         /* (0028,0004) CS */
    DCM_NUMBER_OF_FRAMES,    /* (0028,0008) IS */
    DCM_ROWS,                /* (0028,0010) US */
    DCM_COLUMNS,             /* (0028,0011) US */
    DCM_BITS_ALLOCATED,      /* (0028,0100) US */
    DCM_BITS_STORED,         /* (0028,0101) US */
    DCM_HIGH_BIT,            /* (0028,0102) US */
    DCM_PIXEL_REPRESENTATION,/* (0028,0103) US */
    DCM_PADDING_VALUE,       /* (0028,0120) US or SS */
    DCM_PADDING_RANGE_LIMIT, /* (0028,0121) US or SS */
    DCM_WINDOW_CENTER,       /* (0028,1050) DS */
    DCM_WINDOW_WIDTH,        /* (0028,1051) DS */
    DCM_RESCALE_INTERCEPT,   /* (0028,1052) DS */
    DCM_RESCALE_SLOPE,       /* (0028,1053) DS */
    DCM_PIXEL_DATA,          /* (7FE0,0010) OB/OW */
    DCM_NUM_ATTRIBUTES
} ct_dcm_attribute;

typedef struct {
    const uint8_t *value;    /* points into the file (or the inflated dataset) */
    uint32_t len;
    int present;
} ct_dcm_value;

typedef struct {
    char transfer_syntax[65];    /* UID, "" when the file has no meta header */
    const char *syntax_name;     /* human-readable name of the transfer syntax */
    int big_endian;              /* values (and 16-bit pixels) are big-endian */
    ct_dcm_value attr[DCM_NUM_ATTRIBUTES];
    uint8_t *inflated;           /* owned: the dataset of a deflated file, else NULL */
} ct_dcm_dataset;

/* Parses data into ds (release with ct_dcm_dataset_free). Compressed and unknown
 * transfer syntaxes fail with CT_E_UNSUPPORTED naming the syntax. A deflated
 * dataset may inflate to at most lim->max_bytes. */
ct_status ct_dcm_parse(const uint8_t *data, size_t len, const ct_image_limits *lim, ct_dcm_dataset *ds,
                    ct_error *err);

void ct_dcm_dataset_free(ct_dcm_dataset *ds);

#endif
