/* From an image file to the 8-bit picture the model sees (spec section 2):
 * format detection by signature, PNG conversion as PIL's convert('RGB'), and
 * the CT window for 16-bit PNG and DICOM. */
#ifndef CT_IMAGE_SLICE_H
#define CT_IMAGE_SLICE_H

#include <stddef.h>
#include <stdint.h>

#include "ctinfer.h"
#include "image/raster.h"

#define CT_DEFAULT_WINDOW_WIDTH 1500.0   /* lung window */
#define CT_DEFAULT_WINDOW_LEVEL (-600.0)
#define CT_DEFAULT_HU_OFFSET    1024.0   /* 16-bit PNG: HU = stored value - offset */

typedef struct {
    double window_width, window_level;   /* CT window (HU) for 16-bit PNG and DICOM */
    double hu_offset;                    /* 16-bit grayscale PNG: HU = stored - hu_offset */
    ct_image_limits limits;              /* for the decoders; max_bytes also caps the file size */
} ct_slice_options;

typedef enum { CT_FORMAT_UNKNOWN, CT_FORMAT_PNG, CT_FORMAT_DICOM } ct_image_format;

/* How the slice was obtained. */
typedef enum {
    CT_SLICE_PNG8,      /* PNG of depth <= 8, converted as PIL does */
    CT_SLICE_PNG16,     /* 16-bit PNG: gray windowed, color reduced to its high bytes */
    CT_SLICE_DICOM      /* DICOM, windowed */
} ct_slice_source;

#define CT_SLICE_WARN_MULTIFRAME 1u      /* DICOM with several frames: frame 0 was used */

typedef struct {
    int width, height;
    int channels;              /* 1 gray or 3 RGB */
    uint8_t *pixels;           /* [height, width, channels] */
    ct_slice_source source;
    unsigned warnings;         /* CT_SLICE_WARN_* bits */
    int frames;                /* DICOM NumberOfFrames, 1 otherwise */
} ct_slice;

/* Fills opt with the lung window W1500/L-600, HU offset 1024 and the
 * default image limits. */
void ct_slice_options_default(ct_slice_options *opt);

/* PNG (signature), DICOM ("DICM" at 128 or a plausible bare dataset), or
 * unknown; the file name is never consulted. */
ct_image_format ct_detect_format(const uint8_t *data, size_t len);

/* The CT window: clamp(floor((hu - (level - width/2)) * 255 / width + 0.5), 0, 255),
 * computed in double. */
uint8_t ct_window_hu(double hu, double width, double level);

/* Decodes an image file held in memory into the model's 8-bit picture:
 * - PNG, depth <= 8: exactly PIL's Image.convert('RGB') reduced to 1 channel
 *   for gray: 1/2/4-bit gray scaled by 255/85/17, alpha dropped (no
 *   compositing), palette expanded; gray and gray+alpha give 1 channel, the
 *   others 3;
 * - PNG, 16-bit gray (alpha dropped): HU = value - hu_offset, then the window
 *   (1 channel); 16-bit RGB/RGBA: the high byte of each sample, as PIL (3);
 * - DICOM: frame 0, rescaled to HU, then the window; pixel padding gives 0;
 *   MONOCHROME1 is inverted (255 - v) so that it displays like MONOCHROME2.
 * Fails with CT_E_ARG on a window width <= 0 and CT_E_UNSUPPORTED on an
 * unknown format; decoder errors pass through. */
ct_status ct_slice_from_memory(const uint8_t *data, size_t len, const ct_slice_options *opt,
                               ct_slice *out, ct_error *err);

/* ct_slice_from_memory on the contents of path (errors prefixed with path). */
ct_status ct_load_slice(const char *path, const ct_slice_options *opt, ct_slice *out, ct_error *err);

void ct_slice_free(ct_slice *s);

#endif
