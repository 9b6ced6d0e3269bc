/* Human-readable model summary (see summary.h). */
#include "model/summary.h"

#include <string.h>

#include "model/modelfile.h"

static void print_floats(FILE *out, const float *v, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) fprintf(out, "%s%g", i ? " " : "", v[i]);
}

static void print_names(FILE *out, const char (*names)[CTM_CLASS_NAME_LEN], uint32_t n) {
    for (uint32_t i = 0; i < n; i++) fprintf(out, "%s%.*s", i ? ", " : "", (int)CTM_CLASS_NAME_LEN, names[i]);
}

static void print_architecture(FILE *out, const ctm_config *c) {
    int cls = c->task == CTM_TASK_CLASSIFICATION;
    fprintf(out, "task            %s\n", cls ? "classification (COVID-CT-Mask-Net)"
                                             : "segmentation (lightweight Mask R-CNN)");
    if (c->truncation == CTM_TRUNCATION_NONE)
        fprintf(out, "backbone        resnet%u, layer1-layer4 feed a 4-level FPN\n", c->backbone_depth);
    else
        fprintf(out, "backbone        resnet%u, truncation %u (layer%u feeds the FPN)\n",
                c->backbone_depth, c->truncation, 4 - c->truncation);
    fprintf(out, "widths          stem %u, FPN %u, box head %u", c->stem_width, c->fpn_channels,
            c->representation_size);
    if (cls)
        fprintf(out, ", S %u over %u RoIs\n", c->s_features, c->roi_batch_size);
    else
        fprintf(out, ", mask head %u\n", c->mask_head_channels);
    fprintf(out, "box classes     %u: ", c->num_classes);
    print_names(out, c->class_names, c->num_classes);
    fprintf(out, "\n");
    if (cls) {
        fprintf(out, "image classes   %u: ", c->num_image_classes);
        print_names(out, c->image_class_names, c->num_image_classes);
        fprintf(out, "\n");
    }
}

static void print_settings(FILE *out, const ctm_config *c) {
    fprintf(out, "anchors         sizes ");
    print_floats(out, c->anchor_sizes, c->num_anchor_sizes);
    fprintf(out, " x aspect ratios (h/w) ");
    print_floats(out, c->aspect_ratios, c->num_aspect_ratios);
    fprintf(out, " = %u per location\n", c->num_anchor_sizes * c->num_aspect_ratios);
    fprintf(out, "input           mean ");
    print_floats(out, c->image_mean, 3);
    fprintf(out, ", std ");
    print_floats(out, c->image_std, 3);
    fprintf(out, "; resize %u/%u, pad to a multiple of %u\n", c->min_size, c->max_size, c->size_divisible);
    fprintf(out, "rpn             top %u per level before NMS, %u after; NMS IoU %g\n",
            c->rpn_pre_nms_top_n, c->rpn_post_nms_top_n, c->rpn_nms_thresh);
    fprintf(out, "detections      score > %g, NMS IoU %g, at most %u\n", c->box_score_thresh,
            c->box_nms_thresh, c->detections_per_img);
    if (c->task == CTM_TASK_SEGMENTATION) fprintf(out, "masks           logit > %g\n", c->mask_thresh);
}

void ct_summary_print(FILE *out, const ctm_config *cfg, const ctm_tensor_entry *entries,
                      size_t count) {
    print_architecture(out, cfg);
    print_settings(out, cfg);
    size_t halves = 0;
    for (size_t i = 0; i < count; i++) halves += entries[i].dtype == CTM_DTYPE_F16;
    fprintf(out, "parameters      %zu (BatchNorm running statistics not counted)\n",
            ct_modelfile_count_parameters(entries, count));
    fprintf(out, "tensors         %zu", count);
    if (halves) fprintf(out, " (%zu float16)", halves);
    fprintf(out, "\n");
}
