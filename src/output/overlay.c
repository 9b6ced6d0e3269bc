/* The overlay picture (see overlay.h): tinted masks, box outlines and score
 * labels for segmentation; the best regions and a probability chart for the
 * classifier. */
#include "output/overlay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/font.h"
#include "output/masks.h"
#include "output/palette.h"
#include "util/error.h"

typedef struct {
    int x0, y0, x1, y1;    /* [x0, x1) x [y0, y1) */
} rect;

typedef struct {
    int scale;             /* font pixel size */
    int thickness;         /* box outline width */
    int pad;               /* around label text */
} style;

static const ct_rgb STRIP_BACKGROUND = {24, 24, 24};
static const ct_rgb BAR_TRACK = {70, 70, 70};
static const ct_rgb TEXT_BRIGHT = {255, 255, 255};
static const ct_rgb TEXT_DIM = {150, 150, 150};
static const int CLASS_BAR_PALETTE[3] = {2, 1, 5};   /* Control, Common Pneumonia, COVID-19 */

int ct_overlay_scale(int width, int height) {
    int m = width < height ? width : height;
    return 1 + m / 400;
}

static style make_style(int width, int height) {
    int s = ct_overlay_scale(width, height);
    return (style){s, s < 2 ? s : 2, s};
}

/* v (a floor or ceil of a box coordinate) as a pixel index in [0, hi]; NaN gives 0. */
static int to_pixel(double v, int hi) {
    if (!(v > 0)) return 0;
    return v >= hi ? hi : (int)v;
}

/* The pixels a box [x1, y1, x2, y2] covers, at least one wide and high. */
static rect box_pixels(const float box[4], int width, int height) {
    rect r = {to_pixel(floor(box[0]), width), to_pixel(floor(box[1]), height), to_pixel(ceil(box[2]), width),
              to_pixel(ceil(box[3]), height)};
    if (r.x1 <= r.x0) r.x1 = r.x0 + 1;
    if (r.y1 <= r.y0) r.y1 = r.y0 + 1;
    return r;
}

/* A filled label with `text`, on top of the box if there is room, else
 * under it, else inside its top edge; kept inside the slice horizontally. */
static void draw_label(ct_canvas *c, const style *st, rect box, int width, int height, const char *text,
                       ct_rgb bg) {
    int lw = ct_text_width(text, st->scale) + 2 * st->pad, lh = CT_FONT_HEIGHT * st->scale + 2 * st->pad;
    int x = box.x0, y = box.y0 - lh;
    if (y < 0) y = box.y1 + lh <= height ? box.y1 : box.y0;
    if (x > width - lw) x = width - lw;
    if (x < 0) x = 0;
    ct_canvas_fill(c, x, y, x + lw, y + lh, bg);
    ct_draw_text(c, x + st->pad, y + st->pad, text, st->scale, ct_text_color_on(bg));
}

/* Up to 4 capitals naming a class: the initials of a several-word name
 * ("ground-glass opacity" -> "GGO"), else its first letters. */
static void abbreviate(const char *name, char *out, size_t out_size) {
    size_t n = 0, words = 0;
    char initials[5] = {0};
    for (const char *p = name; *p; p++)
        if (!strchr(" -_", *p) && (p == name || strchr(" -_", p[-1])) && words < 4) initials[words++] = *p;
    const char *src = words >= 2 ? initials : name;
    for (; src[n] && n < 4 && n + 1 < out_size; n++)
        out[n] = (char)(src[n] >= 'a' && src[n] <= 'z' ? src[n] - 'a' + 'A' : src[n]);
    out[n] = '\0';
}

static void detection_label(const ct_model_info *m, const ct_detection *d, char *buf, size_t size) {
    if (m->num_classes <= 2 || d->label < 1 || d->label >= m->num_classes || !m->class_names[d->label]) {
        snprintf(buf, size, "%.2f", (double)d->score);
        return;
    }
    char abbr[8];
    abbreviate(m->class_names[d->label], abbr, sizeof abbr);
    snprintf(buf, size, "%s %.2f", abbr, (double)d->score);
}

static int owned_by(const int *owner, int width, int height, int x, int y, int d) {
    return x < 0 || y < 0 || x >= width || y >= height || owner[(size_t)y * (size_t)width + (size_t)x] == d;
}

/* Tints each mask pixel with its owner's colour; unblended on the mask's edge. */
static ct_status draw_masks(ct_canvas *c, const ct_overlay_input *in, ct_error *err) {
    const ct_result *res = in->result;
    if (res->num_detections == 0) return CT_OK;
    if (res->mask_width != in->width || res->mask_height != in->height || !res->masks)
        return ct_fail(err, CT_E_ARG, "masks of %d x %d do not fit the %d x %d slice", res->mask_width,
                       res->mask_height, in->width, in->height);
    int *owner = malloc((size_t)in->width * (size_t)in->height * sizeof *owner);   /* [H, W] */
    if (!owner) return ct_fail(err, CT_E_NOMEM, "out of memory drawing the masks");
    ct_mask_owner(res, in->mask_thresh, owner);
    for (int y = 0; y < in->height; y++)
        for (int x = 0; x < in->width; x++) {
            int d = owner[(size_t)y * (size_t)in->width + (size_t)x];
            if (d < 0) continue;
            int edge = !owned_by(owner, in->width, in->height, x - 1, y, d) ||
                       !owned_by(owner, in->width, in->height, x + 1, y, d) ||
                       !owned_by(owner, in->width, in->height, x, y - 1, d) ||
                       !owned_by(owner, in->width, in->height, x, y + 1, d);
            if (edge) ct_canvas_set(c, x, y, ct_palette(d));
            else ct_canvas_blend(c, x, y, ct_palette(d), CT_OVERLAY_TINT_ALPHA);
        }
    free(owner);
    return CT_OK;
}

static void outline(ct_canvas *c, const style *st, rect r, ct_rgb color) {
    ct_canvas_outline(c, r.x0, r.y0, r.x1, r.y1, st->thickness, color);
}

static ct_status draw_segmentation(ct_canvas *c, const ct_overlay_input *in, ct_error *err) {
    const ct_result *res = in->result;
    style st = make_style(in->width, in->height);
    ct_status s = draw_masks(c, in, err);
    if (s != CT_OK) return s;
    for (int d = res->num_detections - 1; d >= 0; d--)
        outline(c, &st, box_pixels(res->detections[d].box, in->width, in->height), ct_palette(d));
    for (int d = res->num_detections - 1; d >= 0; d--) {
        char text[32];
        detection_label(in->model, &res->detections[d], text, sizeof text);
        draw_label(c, &st, box_pixels(res->detections[d].box, in->width, in->height), in->width, in->height,
                   text, ct_palette(d));
    }
    return CT_OK;
}

/* ---- classifier ------------------------------------------------------- */

typedef struct {
    int pad;               /* around and between the strip's parts */
    int name_width, value_width, bar_width;
    int row_height;        /* one line of text */
    int width, height;     /* of the strip */
} strip_layout;

static const char *image_class_name(const ct_model_info *m, int c) {
    return m->image_class_names[c] ? m->image_class_names[c] : "?";
}

static strip_layout layout_strip(const ct_model_info *m, const style *st, int slice_width) {
    strip_layout l = {.pad = 3 * st->scale, .row_height = CT_FONT_HEIGHT * st->scale};
    for (int c = 0; c < 3; c++) {
        int w = ct_text_width(image_class_name(m, c), st->scale);
        if (w > l.name_width) l.name_width = w;
    }
    l.value_width = ct_text_width("0.000", st->scale);
    int fixed = l.name_width + l.value_width + 4 * l.pad, min_bar = 40 * st->scale;
    l.width = slice_width > fixed + min_bar ? slice_width : fixed + min_bar;
    l.bar_width = l.width - fixed;
    l.height = l.pad + 3 * (l.row_height + l.pad);
    return l;
}

/* Bar length in pixels of probability p. */
static int bar_length(float p, int bar_width) {
    if (!(p > 0.0f)) return 0;
    if (p >= 1.0f) return bar_width;
    return (int)lround((double)p * bar_width);
}

static void draw_probability_chart(ct_canvas *c, const ct_overlay_input *in, const strip_layout *l, int scale) {
    const ct_result *res = in->result;
    int bar_x = 2 * l->pad + l->name_width;
    for (int k = 0; k < 3; k++) {
        int y = in->height + l->pad + k * (l->row_height + l->pad);
        ct_rgb text = k == res->class_index ? TEXT_BRIGHT : TEXT_DIM;
        char value[16];
        snprintf(value, sizeof value, "%.3f", (double)res->probabilities[k]);
        ct_draw_text(c, l->pad, y, image_class_name(in->model, k), scale, text);
        ct_canvas_fill(c, bar_x, y, bar_x + l->bar_width, y + l->row_height, BAR_TRACK);
        ct_canvas_fill(c, bar_x, y, bar_x + bar_length(res->probabilities[k], l->bar_width), y + l->row_height,
                       ct_palette(CLASS_BAR_PALETTE[k]));
        ct_draw_text(c, bar_x + l->bar_width + l->pad, y, value, scale, text);
    }
}

/* The first CT_OVERLAY_MAX_REGIONS distinct ranked rows (replicas are adjacent). */
static int best_regions(const ct_result *res, const ct_ranked_roi **regions) {
    int n = 0;
    for (int i = 0; i < res->num_rois && n < CT_OVERLAY_MAX_REGIONS; i++)
        if (i == 0 || res->rois[i].index != res->rois[i - 1].index) regions[n++] = &res->rois[i];
    return n;
}

static void draw_regions(ct_canvas *c, const ct_overlay_input *in, const style *st) {
    const ct_ranked_roi *regions[CT_OVERLAY_MAX_REGIONS];
    int n = best_regions(in->result, regions);
    for (int k = n - 1; k >= 0; k--) outline(c, st, box_pixels(regions[k]->box, in->width, in->height), ct_palette(k));
    for (int k = n - 1; k >= 0; k--) {
        char text[16];
        snprintf(text, sizeof text, "%.2f", (double)regions[k]->score);
        draw_label(c, st, box_pixels(regions[k]->box, in->width, in->height), in->width, in->height, text,
                   ct_palette(k));
    }
}

static ct_status render_classifier(const ct_overlay_input *in, ct_canvas *out, ct_error *err) {
    style st = make_style(in->width, in->height);
    strip_layout l = layout_strip(in->model, &st, in->width);
    if (in->height > INT32_MAX - l.height) return ct_fail(err, CT_E_LIMIT, "slice too tall for an overlay");
    ct_status s = ct_canvas_new(out, l.width, in->height + l.height, STRIP_BACKGROUND, err);
    if (s != CT_OK) return s;
    ct_canvas_paste(out, in->pixels, in->width, in->height, in->channels);
    draw_regions(out, in, &st);
    draw_probability_chart(out, in, &l, st.scale);
    return CT_OK;
}

ct_status ct_render_overlay(const ct_overlay_input *in, ct_canvas *out, ct_error *err) {
    memset(out, 0, sizeof *out);
    if (in->model->task == CT_TASK_CLASSIFICATION) return render_classifier(in, out, err);
    ct_status s = ct_canvas_new(out, in->width, in->height, STRIP_BACKGROUND, err);
    if (s != CT_OK) return s;
    ct_canvas_paste(out, in->pixels, in->width, in->height, in->channels);
    s = draw_segmentation(out, in, err);
    if (s != CT_OK) ct_canvas_free(out);
    return s;
}
