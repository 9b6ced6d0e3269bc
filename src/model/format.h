/* On-disk layout of the ctinfer model file (models/FORMAT.md is the prose
 * specification; this header is its C mirror, shared by the loader and by
 * ctconvert's writer). Every integer and float is little-endian. */
#ifndef CT_MODEL_FORMAT_H
#define CT_MODEL_FORMAT_H

#include <stdint.h>

#define CTM_MAGIC          "CTINFER\x1a"  /* 8 bytes */
#define CTM_VERSION        1u
#define CTM_HEADER_SIZE    128u
#define CTM_ALIGN          64u            /* every tensor's data offset is a multiple */
#define CTM_NAME_LEN       80u            /* tensor name field, NUL-padded */
#define CTM_MAX_RANK       4u
#define CTM_MAX_ANCHORS    16u            /* anchor sizes, and aspect ratios, at most */
#define CTM_MAX_CLASSES    8u             /* box classes n_c, background included */
#define CTM_IMAGE_CLASSES  3u             /* classifier outputs */
#define CTM_CLASS_NAME_LEN 32u

/* File header, at offset 0 (128 bytes). */
typedef struct {
    char     magic[8];        /* CTM_MAGIC */
    uint32_t version;         /* CTM_VERSION */
    uint32_t header_size;     /* CTM_HEADER_SIZE */
    uint64_t file_size;       /* total bytes */
    uint64_t config_offset;   /* ctm_config, 8-aligned */
    uint64_t config_size;     /* sizeof(ctm_config) for this version; later versions may append */
    uint64_t table_offset;    /* ctm_tensor_entry[tensor_count], 8-aligned */
    uint64_t tensor_count;
    uint64_t data_offset;     /* start of the tensor data area, CTM_ALIGN-aligned */
    uint64_t data_size;
    uint32_t body_crc32;      /* CRC-32 (zlib polynomial) of bytes [header_size, file_size) */
    uint32_t header_crc32;    /* CRC-32 of header bytes [0, 76) */
    uint8_t  reserved[48];    /* zero */
} ctm_header;

enum { CTM_TASK_SEGMENTATION = 0, CTM_TASK_CLASSIFICATION = 1 };
#define CTM_TRUNCATION_NONE 0xFFFFFFFFu   /* resnet50: all four layers feed the FPN */

/* Architecture and test-time settings (616 bytes in version 1). Thresholds
 * are float64 because PyTorch receives them as Python floats. */
typedef struct {
    uint32_t task;                 /* CTM_TASK_* */
    uint32_t backbone_depth;       /* 18, 34 or 50 */
    uint32_t truncation;           /* 0, 1, 2 or CTM_TRUNCATION_NONE */
    uint32_t num_classes;          /* n_c, background included */
    uint32_t stem_width;           /* conv1 output channels (64; smaller in test models) */
    uint32_t fpn_channels;         /* FPN output channels (256) */
    uint32_t representation_size;  /* TwoMLPHead width (128) */
    uint32_t mask_head_channels;   /* mask head conv/deconv channels (128; 256 for resnet50); 0 for classifiers */
    uint32_t num_anchor_sizes;
    uint32_t num_aspect_ratios;
    float    anchor_sizes[CTM_MAX_ANCHORS];
    float    aspect_ratios[CTM_MAX_ANCHORS];   /* h/w */
    float    image_mean[3];
    float    image_std[3];
    uint32_t min_size;             /* resize: shorter side target */
    uint32_t max_size;             /* resize: longer side cap */
    uint32_t size_divisible;       /* zero-pad to a multiple */
    uint32_t rpn_pre_nms_top_n;    /* per level */
    uint32_t rpn_post_nms_top_n;
    uint32_t detections_per_img;   /* D; equals roi_batch_size for classifiers */
    double   rpn_nms_thresh;
    double   box_score_thresh;
    double   box_nms_thresh;
    double   mask_thresh;          /* on mask logits */
    uint32_t roi_batch_size;       /* classifier D (0 for segmentation) */
    uint32_t s_features;           /* classifier S width (0 for segmentation) */
    uint32_t num_image_classes;    /* 3 for classifiers, 0 for segmentation */
    char     class_names[CTM_MAX_CLASSES][CTM_CLASS_NAME_LEN];        /* box classes; [0] background */
    char     image_class_names[CTM_IMAGE_CLASSES][CTM_CLASS_NAME_LEN]; /* classifier outputs */
    uint32_t reserved;             /* zero */
} ctm_config;

enum { CTM_DTYPE_F32 = 1, CTM_DTYPE_F16 = 2 };

/* One tensor table entry (128 bytes). */
typedef struct {
    char     name[CTM_NAME_LEN];   /* state_dict key, NUL-terminated and NUL-padded */
    uint32_t dtype;                /* CTM_DTYPE_* */
    uint32_t rank;                 /* 0..CTM_MAX_RANK */
    uint32_t dims[CTM_MAX_RANK];   /* unused dims are 0 */
    uint64_t offset;               /* from file start, CTM_ALIGN-aligned, inside the data area */
    uint64_t nbytes;               /* element count * element size */
    uint8_t  reserved[8];          /* zero */
} ctm_tensor_entry;

_Static_assert(sizeof(ctm_header) == CTM_HEADER_SIZE, "header layout");
_Static_assert(sizeof(ctm_config) == 616, "config layout");
_Static_assert(sizeof(ctm_tensor_entry) == 128, "tensor entry layout");

#endif
