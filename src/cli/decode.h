/* `ctinfer decode IMAGE OUT.npy`: the samples exactly as decoded. */
#ifndef CT_CLI_DECODE_H
#define CT_CLI_DECODE_H

#include "ctinfer.h"

/* PNG: uint8 (depth <= 8, sub-byte samples as their values) or uint16,
 * [H,W] for gray and [H,W,C] otherwise, palette expanded to RGB(A).
 * DICOM: float32 [H,W] after the rescale (Hounsfield units for CT). */
ct_status cli_decode(const char *image_path, const char *npy_path, ct_error *err);

#endif
