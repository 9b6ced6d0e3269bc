/* Bilinear resampling (align_corners=False) as torch 1.13's F.interpolate,
 * used by the input resize and by mask pasting. */
#ifndef CT_KERNELS_RESIZE_H
#define CT_KERNELS_RESIZE_H

#include <stddef.h>

/* src [c,hs,ws] -> dst [c,hd,wd]. The source coordinate of output index d is
 * src = (double)scale * (d + 0.5) - 0.5 clamped at 0, with scale = (float)in/out
 * unless a scale is given (>0: PyTorch's 1/scale_factor path, as float), lo =
 * (int64)src, hi = min(lo+1, in-1), l1 = (float)(src - lo), l0 = 1 - l1;
 * each output = l0y*(l0x*a + l1x*b) + l1y*(l0x*c + l1x*d). */
void ct_resize_bilinear(const float *src, int c, int hs, int ws,
                        float *dst, int hd, int wd, double scale_h, double scale_w);

/* paste_masks_in_image for one mask (spec §9): mask [m,m] logits, box in
 * original-image pixels, canvas [H,W]. The canvas must arrive zeroed (what
 * torchvision pastes into): only the pasted rectangle is written, so the
 * cost is the box's, not the image's. Only the part of the resized map
 * inside the image is computed, so scratch needs room for just the (m+2)^2
 * padded mask: ct_paste_scratch_floats (box, H, W are not needed for that
 * and kept for the interface). A box with a non-finite coordinate pastes
 * nothing. */
void ct_paste_mask(const float *mask, int m, const float box[4], int H, int W,
                   float *canvas, float *scratch);
size_t ct_paste_scratch_floats(int m, const float box[4], int H, int W);

#endif
