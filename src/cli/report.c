/* Text and JSON renderings of one run. JSON numbers use %.9g, which
 * round-trips a float32. */
#include "cli/report.h"

/* Layout of a JSON rendering: indented over lines, or all on one line. */
typedef struct {
    FILE *f;
    int pretty;
} json_out;

/* Before a member or element at nesting `indent` (pretty) that is not the first. */
static void json_next(const json_out *j, int indent) {
    if (j->pretty) fprintf(j->f, ",\n%*s", indent, "");
    else fputs(", ", j->f);
}

/* Before the first member or element at nesting `indent`. */
static void json_first(const json_out *j, int indent) {
    if (j->pretty) fprintf(j->f, "\n%*s", indent, "");
}

/* Before the closing bracket of a non-empty container at nesting `indent`. */
static void json_close(const json_out *j, int indent) {
    if (j->pretty) fprintf(j->f, "\n%*s", indent, "");
}

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f) fprintf(f, "\\u%04x", c);
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

static void json_detections(const json_out *j, const cli_report *r) {
    const ct_result *res = r->res;
    fputs("\"detections\": [", j->f);
    for (int i = 0; i < res->num_detections; i++) {
        const ct_detection *d = &res->detections[i];
        if (i) json_next(j, 4);
        else json_first(j, 4);
        fprintf(j->f, "{\"label\": %d, \"class\": ", d->label);
        json_string(j->f, r->model->class_names[d->label]);
        fprintf(j->f, ", \"score\": %.9g, \"box\": ", (double)d->score);
        json_floats(j->f, d->box, 4);
        fputc('}', j->f);
    }
    if (res->num_detections) json_close(j, 2);
    fputc(']', j->f);
}

static void json_classification(const json_out *j, const cli_report *r) {
    const ct_result *res = r->res;
    FILE *f = j->f;
    fputs("\"classification\": {\"logits\": ", f);
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
        if (i) json_next(j, 4);
        else json_first(j, 4);
        fprintf(f, "{\"score\": %.9g, \"deltas\": ", (double)roi->score);
        json_floats(f, roi->deltas, 4);
        fputs(", \"box\": ", f);
        json_floats(f, roi->box, 4);
        fprintf(f, ", \"detection\": %d}", roi->index);
    }
    fputs("]}", f);
}

static void json_timings(FILE *f, const cli_report *r) {
    const ct_result *res = r->res;
    double total = r->load_ms + r->decode_ms;
    fprintf(f, "\"timings_ms\": {\"load\": %.3f, \"decode\": %.3f", r->load_ms, r->decode_ms);
    for (int s = 0; s < CT_STAGE_COUNT; s++) {
        fprintf(f, ", \"%s\": %.3f", ct_stage_name(s), res->timings_ms[s]);
        total += res->timings_ms[s];
    }
    fprintf(f, ", \"total\": %.3f}", total);
}

/* The members of the --json object, without the braces. */
static void json_members(const json_out *j, const cli_report *r) {
    FILE *f = j->f;
    json_first(j, 2);
    fputs("\"image\": {\"path\": ", f);
    json_string(f, r->image_path);
    fprintf(f, ", \"width\": %d, \"height\": %d}", r->width, r->height);
    json_next(j, 2);
    json_model(f, r->model);
    json_next(j, 2);
    json_settings(f, r->opt);
    json_next(j, 2);
    if (r->model->task == CT_TASK_SEGMENTATION) json_detections(j, r);
    else json_classification(j, r);
    json_next(j, 2);
    json_timings(f, r);
}

void cli_print_json(FILE *f, const cli_report *r) {
    json_out j = {f, 1};
    fputc('{', f);
    json_members(&j, r);
    fputs("\n}\n", f);
}

void cli_print_json_line(FILE *f, const cli_report *r) {
    json_out j = {f, 0};
    fputc('{', f);
    json_members(&j, r);
    fputs(", \"error\": null}\n", f);
}

void cli_print_error_line(FILE *f, const char *image_path, const ct_model_info *model, const char *message) {
    fputs("{\"image\": {\"path\": ", f);
    json_string(f, image_path);
    fputs("}, ", f);
    json_model(f, model);
    fputs(", \"error\": ", f);
    json_string(f, message);
    fputs("}\n", f);
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
