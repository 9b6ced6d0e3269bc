/* GeneralizedRCNNTransform for one image (spec §2): to float [0,1],
 * normalize, resize (shorter side to min_size, longer capped at max_size),
 * zero-pad to a multiple of size_divisible. */
#ifndef CT_NET_PREPROCESS_H
#define CT_NET_PREPROCESS_H

#include "ctinfer.h"
#include "threadpool.h"
#include "util/arena.h"

typedef struct {
    int orig_h, orig_w;       /* the image as given */
    int h, w;                 /* after resizing: image_sizes, used for clipping and RoI scale */
    int padded_h, padded_w;   /* the tensor the backbone sees */
    float *tensor;            /* [3,padded_h,padded_w] */
} ct_input;

/* The resized size for an orig_h x orig_w image (float64 scale, floor). */
void ct_resized_size(int orig_h, int orig_w, int min_size, int max_size, int *h, int *w);

ct_status ct_preprocess(const ct_image *img, const float mean[3], const float std[3],
                        int min_size, int max_size, int size_divisible, ct_arena *arena, ct_pool *pool,
                        ct_input *out, ct_error *err);

#endif
