/* Text and JSON renderings of one run. JSON numbers use %.9g, which
 * round-trips a float32. */
#include "cli/report.h"

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void json_floats(FILE *f, const float *v, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%.9g", i ? ", " : "", (double)v[i]);
    fputc(']', f);
}

static const char *task_name(const ct_model_info *m) {
    return m->task == CT_TASK_CLASSIFICATION ? "classification" : "segmentation";
}

static void json_model(FILE *f, const ct_model_info *m) {
    fprintf(f, "\"model\": {\"task\": \"%s\", \"backbone\": \"resnet%d\", \"truncation\": ", task_name(m),
            m->backbone_depth);
    if (m->truncation < 0) fputs("null", f);
    else fprintf(f, "%d", m->truncation);
    fprintf(f, ", \"num_classes\": %d, \"class_names\": [", m->num_classes);
    for (int i = 0; i < m->num_classes; i++) {
        if (i) fputs(", ", f);
        json_string(f, m->class_names[i]);
    }
    fprintf(f, "], \"parameters\": %zu}", m->num_parameters);
}

static void json_settings(FILE *f, const ct_options *o) {
    fprintf(f,
            "\"settings\": {\"score_thresh\": %.9g, \"nms_thresh\": %.9g, \"detections\": %d, "
            "\"mask_thresh\": %.9g, \"rpn_nms_thresh\": %.9g, \"rpn_pre_nms_top_n\": %d, "
            "\"rpn_post_nms_top_n\": %d, \"min_size\": %d, \"max_size\": %d, \"seed\": %u}",
            o->score_thresh, o->nms_thresh, o->detections, o->mask_thresh, o->rpn_nms_thresh,
            o->rpn_pre_nms_top_n, o->rpn_post_nms_top_n, o->min_size, o->max_size, (unsigned)o->seed);
}

static void json_classification(FILE *f, const cli_report *r) {
    const ct_result *res = r->res;
    fputs(",\n  \"classification\": {\"logits\": ", f);
    json_floats(f, res->logits, 3);
    fputs(", \"probabilities\": ", f);
    json_floats(f, res->probabilities, 3);
    fputs(", \"sigmoid\": ", f);
    json_floats(f, res->sigmoid, 3);
    fprintf(f, ", \"class_index\": %d, \"class\": ", res->class_index);
    json_string(f, r->model->image_class_names[res->class_index]);
    fprintf(f, ", \"survivors\": %d, \"rois\": [", res->num_survivors);
    for (int i = 0; i < res->num_rois; i++) {
        const ct_ranked_roi *roi = &res->rois[i];
        fprintf(f, "%s\n    {\"score\": %.9g, \"deltas\": ", i ? "," : "", (double)roi->score);
        json_floats(f, roi->deltas, 4);
        fputs(", \"box\": ", f);
        json_floats(f, roi->box, 4);
        fprintf(f, ", \"detection\": %d}", roi->index);
    }
    fputs("]}", f);
}

void cli_print_json(FILE *f, const cli_report *r) {
    const ct_result *res = r->res;
    fputs("{\n  \"image\": {\"path\": ", f);
    json_string(f, r->image_path);
    fprintf(f, ", \"width\": %d, \"height\": %d},\n  ", r->width, r->height);
    json_model(f, r->model);
    fputs(",\n  ", f);
    json_settings(f, r->opt);
    if (r->model->task == CT_TASK_SEGMENTATION) {
        fputs(",\n  \"detections\": [", f);
        for (int i = 0; i < res->num_detections; i++) {
            const ct_detection *d = &res->detections[i];
            fprintf(f, "%s\n    {\"label\": %d, \"class\": ", i ? "," : "", d->label);
            json_string(f, r->model->class_names[d->label]);
            fprintf(f, ", \"score\": %.9g, \"box\": ", (double)d->score);
            json_floats(f, d->box, 4);
            fputc('}', f);
        }
        fputs(res->num_detections ? "\n  ]" : "]", f);
    } else {
        json_classification(f, r);
    }
    double total = r->load_ms + r->decode_ms;
    fprintf(f, ",\n  \"timings_ms\": {\"load\": %.3f, \"decode\": %.3f", r->load_ms, r->decode_ms);
    for (int s = 0; s < CT_STAGE_COUNT; s++) {
        fprintf(f, ", \"%s\": %.3f", ct_stage_name(s), res->timings_ms[s]);
        total += res->timings_ms[s];
    }
    fprintf(f, ", \"total\": %.3f}\n}\n", total);
}

void cli_print_text(FILE *f, const cli_report *r) {
    const ct_result *res = r->res;
    const ct_model_info *m = r->model;
    fprintf(f, "%s: %dx%d, %s resnet%d", r->image_path, r->width, r->height, task_name(m), m->backbone_depth);
    if (m->truncation >= 0) fprintf(f, " truncation %d", m->truncation);
    fputc('\n', f);
    if (m->task == CT_TASK_SEGMENTATION) {
        fprintf(f, "%d detection%s (score > %g):\n", res->num_detections, res->num_detections == 1 ? "" : "s",
                r->opt->score_thresh);
        for (int i = 0; i < res->num_detections; i++) {
            const ct_detection *d = &res->detections[i];
            fprintf(f, "  %2d  %-22s score %.4f  box [%.1f, %.1f, %.1f, %.1f]\n", i + 1,
                    m->class_names[d->label], (double)d->score, (double)d->box[0], (double)d->box[1],
                    (double)d->box[2], (double)d->box[3]);
        }
    } else {
        fprintf(f, "class: %s\n", m->image_class_names[res->class_index]);
        for (int c = 0; c < 3; c++)
            fprintf(f, "  %-18s probability %.4f  (logit %+.4f, sigmoid %.4f)\n", m->image_class_names[c],
                    (double)res->probabilities[c], (double)res->logits[c], (double)res->sigmoid[c]);
        fprintf(f, "ranked %d rows from %d detections; top regions:\n", res->num_rois, res->num_survivors);
        for (int i = 0, shown = 0; i < res->num_rois && shown < 5; i++) {
            if (i && res->rois[i].index == res->rois[i - 1].index) continue;
            const ct_ranked_roi *roi = &res->rois[i];
            fprintf(f, "  score %.4f  box [%.1f, %.1f, %.1f, %.1f]\n", (double)roi->score, (double)roi->box[0],
                    (double)roi->box[1], (double)roi->box[2], (double)roi->box[3]);
            shown++;
        }
    }
    double total = r->load_ms + r->decode_ms;
    for (int s = 0; s < CT_STAGE_COUNT; s++) total += res->timings_ms[s];
    fprintf(f, "time: %.1f ms\n", total);
}
