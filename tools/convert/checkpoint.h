/* What a checkpoint holds, read from its object tree: the authors' training
 * dict (model_weights, anchor_generator, optimizer_state, ...), a dict with
 * `state_dict` or `model`, or a bare state_dict. Tensors are described here
 * and read later; optimizer state and other entries are never touched. */
#ifndef CT_CONVERT_CHECKPOINT_H
#define CT_CONVERT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "archive.h"
#include "model/format.h"
#include "tensor.h"

typedef struct {
    char name[CTM_NAME_LEN];   /* state_dict key, FPN keys in torchvision <= 0.12 naming */
    int renamed;               /* 1 when the key had the torchvision >= 0.13 form */
    ct_tensor_view view;
} ct_ckpt_tensor;

typedef struct {
    uint32_t num_sizes, num_ratios;
    float sizes[CTM_MAX_ANCHORS], ratios[CTM_MAX_ANCHORS];
} ct_anchor_set;

typedef struct {
    ct_archive archive;
    const char *layout;              /* e.g. "authors' training checkpoint" */
    const char *weights_key;         /* entry holding the state_dict, or NULL for a bare one */
    const ct_pyobj *state_dict;
    ct_ckpt_tensor *tensors;         /* floating-point entries, in state_dict order */
    size_t num_tensors;
    size_t num_counters;             /* num_batches_tracked entries left out */
    void *map;                       /* the mapped file, when opened by path */
    size_t map_size;
} ct_checkpoint;

/* Reads a checkpoint from data[0, size), which must outlive ck. */
ct_status ct_checkpoint_open_memory(ct_checkpoint *ck, const uint8_t *data, size_t size,
                                    ct_error *err);
/* Maps path read-only and reads it; messages start with the path. */
ct_status ct_checkpoint_open_file(ct_checkpoint *ck, const char *path, ct_error *err);
void ct_checkpoint_close(ct_checkpoint *ck);

/* The first `levels` anchor tuples of the pickled anchor_generator (which must
 * agree). *found is 0 when the checkpoint has no generator with readable
 * sizes and aspect_ratios; that is not an error. */
ct_status ct_checkpoint_anchors(const ct_checkpoint *ck, uint32_t levels, ct_anchor_set *out,
                                int *found, ct_error *err);

/* Reads tensor i as contiguous float32 into dst ([numel]). */
ct_status ct_checkpoint_read(ct_checkpoint *ck, size_t i, float *dst /* [numel] */, ct_error *err);

#endif
