/* The output pictures drawn in-process on synthetic results: palette and
 * font, mask union and score map, and the overlay's exact pixels (tinted
 * inside masks, the box and label drawn, everything else untouched). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output/canvas.h"
#include "output/font.h"
#include "output/masks.h"
#include "output/overlay.h"
#include "output/palette.h"
#include "test.h"

static int same(ct_rgb a, ct_rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

static ct_rgb blend(ct_rgb base, ct_rgb color, int alpha) {
    return (ct_rgb){ct_blend_channel(base.r, color.r, alpha), ct_blend_channel(base.g, color.g, alpha),
                    ct_blend_channel(base.b, color.b, alpha)};
}

static int luma(ct_rgb c) { return 2126 * c.r + 7152 * c.g + 722 * c.b; }

static void test_palette(void) {
    CHECK(same(ct_viridis(0.0f), (ct_rgb){68, 1, 84}));
    CHECK(same(ct_viridis(1.0f), (ct_rgb){253, 231, 37}));
    CHECK(same(ct_viridis(-3.0f), ct_viridis(0.0f)) && same(ct_viridis(7.0f), ct_viridis(1.0f)));
    CHECK(same(ct_viridis(NAN), ct_viridis(0.0f)));
    /* viridis(0.5) is (33, 145, 140) in matplotlib */
    ct_rgb mid = ct_viridis(0.5f);
    CHECK(abs(mid.r - 33) <= 1 && abs(mid.g - 145) <= 1 && abs(mid.b - 140) <= 1);
    for (int k = 1; k <= 64; k++)   /* perceptually ordered: brighter as t grows */
        CHECKF(luma(ct_viridis(k / 64.0f)) >= luma(ct_viridis((k - 1) / 64.0f)), "viridis luma drops at %d/64", k);
    CHECK(same(ct_palette(0), (ct_rgb){230, 159, 0}));
    CHECK(same(ct_palette(CT_PALETTE_SIZE), ct_palette(0)));
    for (int i = 0; i < CT_PALETTE_SIZE; i++)
        for (int j = 0; j < i; j++) CHECKF(!same(ct_palette(i), ct_palette(j)), "palette %d == %d", i, j);
    CHECK(same(ct_text_color_on((ct_rgb){240, 228, 66}), (ct_rgb){0, 0, 0}));
    CHECK(same(ct_text_color_on((ct_rgb){0, 114, 178}), (ct_rgb){255, 255, 255}));
}

static int count_color(const ct_canvas *c, int x0, int y0, int x1, int y1, ct_rgb color) {
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) n += same(ct_canvas_get(c, x, y), color);
    return n;
}

static void test_font(void) {
    CHECK(ct_text_width("", 1) == 0);
    CHECK(ct_text_width("0.97", 1) == 4 * CT_FONT_ADVANCE - 1);
    CHECK(ct_text_width("0.97", 3) == 3 * (4 * CT_FONT_ADVANCE - 1));
    ct_canvas c;
    ct_rgb black = {0, 0, 0}, white = {255, 255, 255};
    CHECK(ct_canvas_new(&c, 40, 30, black, NULL) == CT_OK);
    ct_draw_text(&c, 5, 4, "8", 2, white);
    int inside = count_color(&c, 5, 4, 5 + 2 * CT_FONT_WIDTH, 4 + 2 * CT_FONT_HEIGHT, white);
    CHECK(inside > 0 && inside == count_color(&c, 0, 0, 40, 30, white));   /* all inside the glyph cell */
    CHECK(inside % 4 == 0);                                                /* 2 x 2 blocks */
    ct_canvas d;
    CHECK(ct_canvas_new(&d, 40, 30, black, NULL) == CT_OK);
    ct_draw_text(&c, 20, 4, "lesion", 1, white);
    ct_draw_text(&d, 20, 4, "LESION", 1, white);
    int differ = 0;
    for (int y = 4; y < 11; y++)
        for (int x = 20; x < 40; x++) differ += !same(ct_canvas_get(&c, x, y), ct_canvas_get(&d, x, y));
    CHECK(differ == 0);                                    /* lower case is drawn as capitals */
    ct_canvas_fill(&d, 0, 0, 40, 30, black);
    ct_canvas_fill(&c, 0, 0, 40, 30, black);
    ct_draw_text(&c, 0, 0, "~", 1, white);
    ct_draw_text(&d, 0, 0, "?", 1, white);
    CHECK(memcmp(c.rgb, d.rgb, (size_t)40 * 30 * 3) == 0);   /* unknown characters draw as '?' */
    ct_draw_text(&c, -7, 25, "99", 4, white);                /* clipped, no crash */
    ct_canvas_free(&c);
    ct_canvas_free(&d);
}

static void test_canvas(void) {
    ct_canvas c;
    CHECK(ct_canvas_new(&c, 0, 5, (ct_rgb){0, 0, 0}, NULL) == CT_E_ARG);
    CHECK(ct_canvas_new(&c, 1 << 16, 1 << 16, (ct_rgb){0, 0, 0}, NULL) == CT_E_LIMIT);
    CHECK(ct_blend_channel(100, 200, 0) == 100 && ct_blend_channel(100, 200, 256) == 200);
    CHECK(ct_blend_channel(0, 255, 128) == 128);
    CHECK(ct_canvas_new(&c, 10, 8, (ct_rgb){9, 9, 9}, NULL) == CT_OK);
    ct_canvas_outline(&c, -3, 2, 6, 100, 2, (ct_rgb){1, 2, 3});
    CHECK(same(ct_canvas_get(&c, 5, 4), (ct_rgb){1, 2, 3}) && same(ct_canvas_get(&c, 4, 3), (ct_rgb){1, 2, 3}));
    CHECK(same(ct_canvas_get(&c, 3, 4), (ct_rgb){9, 9, 9}) && same(ct_canvas_get(&c, 0, 1), (ct_rgb){9, 9, 9}));
    ct_canvas_free(&c);
}

/* ---- synthetic segmentation result ------------------------------------ */

enum { W = 200, H = 160, D = 2 };

typedef struct {
    uint8_t gray[H * W];          /* the slice */
    float masks[D * H * W];       /* pasted logits */
    ct_detection det[D];
    ct_result res;
    ct_model_info info;
} scene;

static void make_scene(scene *s) {
    memset(s, 0, sizeof *s);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) s->gray[y * W + x] = (uint8_t)((x * 7 + y * 3) % 256);
    s->det[0] = (ct_detection){{40.5f, 60.2f, 100.7f, 120.0f}, 0.91f, 1};
    s->det[1] = (ct_detection){{90.0f, 30.0f, 170.3f, 110.9f}, 0.42f, 1};
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float r2 = (float)((x - 70) * (x - 70) + (y - 90) * (y - 90));
            if (x >= 38 && x < 104 && y >= 58 && y < 123) s->masks[y * W + x] = 3.0f - r2 / 200.0f;   /* disk r ~ 20 */
            if (x >= 88 && x < 172 && y >= 28 && y < 113) s->masks[H * W + y * W + x] = x < 150 ? 1.5f : 0.5f;
        }
    s->res = (ct_result){.num_detections = D, .detections = s->det, .mask_height = H, .mask_width = W,
                         .masks = s->masks};
    s->info = (ct_model_info){.task = CT_TASK_SEGMENTATION, .backbone_depth = 18, .truncation = 1,
                              .num_classes = 2, .class_names = {"__background__", "lesion"}};
}

/* Pixels a label of text up to 6 glyphs or a box outline may cover, near box b. */
static int near_decoration(const float b[4], int x, int y, int scale) {
    int lw = (6 * CT_FONT_ADVANCE + 2) * scale, lh = (CT_FONT_HEIGHT + 2) * scale, t = 2;
    int x0 = (int)floorf(b[0]), y0 = (int)floorf(b[1]), x1 = (int)ceilf(b[2]), y1 = (int)ceilf(b[3]);
    int in_label = x >= x0 - lw && x < x0 + lw && ((y >= y0 - lh && y < y0 + lh) || (y >= y1 && y < y1 + lh));
    int in_box = x >= x0 && x < x1 && y >= y0 && y < y1;
    int in_outline = in_box && !(x >= x0 + t && x < x1 - t && y >= y0 + t && y < y1 - t);
    return in_label || in_outline;
}

static void test_mask_union_and_owner(void) {
    static scene s;
    make_scene(&s);
    static uint8_t u[H * W];
    static int owner[H * W];
    ct_mask_union(&s.res, 0.5f, u);
    ct_mask_owner(&s.res, 0.5f, owner);
    int both = 0;
    for (int i = 0; i < H * W; i++) {
        int in0 = s.masks[i] > 0.5f, in1 = s.masks[H * W + i] > 0.5f;   /* 0.5 itself is out: strict */
        CHECKF(u[i] == ((in0 || in1) ? 255 : 0), "union at %d", i);
        CHECKF(owner[i] == (in0 ? 0 : in1 ? 1 : -1), "owner at %d", i);
        both += in0 && in1;
    }
    CHECK(both > 0);   /* the scene tests overlap */
    CHECK(u[100 * W + 160] == 0 && s.masks[H * W + 100 * W + 160] == 0.5f);
}

static void test_scoremap(void) {
    static scene s;
    make_scene(&s);
    ct_canvas c;
    CHECK(ct_render_scoremap(&s.res, &c, NULL) == CT_OK);
    CHECK(c.width == W && c.height == H);
    int black = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float a = s.masks[y * W + x], b = s.masks[H * W + y * W + x];
            float p = -1.0f;
            if (a != 0.0f) p = 1.0f / (1.0f + expf(-a));
            if (b != 0.0f && 1.0f / (1.0f + expf(-b)) > p) p = 1.0f / (1.0f + expf(-b));
            ct_rgb want = p < 0 ? (ct_rgb){0, 0, 0} : ct_viridis(p);
            CHECKF(same(ct_canvas_get(&c, x, y), want), "scoremap at %d,%d", x, y);
            black += p < 0;
        }
    CHECK(black > 0 && black < W * H);
    ct_canvas_free(&c);
}

static ct_rgb base_at(const scene *s, int x, int y) {
    uint8_t v = s->gray[y * W + x];
    return (ct_rgb){v, v, v};
}

static void test_overlay_segmentation(void) {
    static scene s;
    make_scene(&s);
    static int owner[H * W];
    ct_mask_owner(&s.res, 0.5f, owner);
    ct_overlay_input in = {W, H, 1, s.gray, &s.info, &s.res, 0.5f};
    ct_canvas c;
    CHECK(ct_render_overlay(&in, &c, NULL) == CT_OK);
    CHECK(c.width == W && c.height == H);
    int scale = ct_overlay_scale(W, H), tinted = 0, edges = 0, untouched = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (near_decoration(s.det[0].box, x, y, scale) || near_decoration(s.det[1].box, x, y, scale)) continue;
            int d = owner[y * W + x];
            ct_rgb got = ct_canvas_get(&c, x, y), base = base_at(&s, x, y);
            if (d < 0) {
                CHECKF(same(got, base), "untinted pixel %d,%d changed", x, y);
                untouched++;
                continue;
            }
            int edge = x == 0 || x == W - 1 || y == 0 || y == H - 1 || owner[y * W + x - 1] != d ||
                       owner[y * W + x + 1] != d || owner[(y - 1) * W + x] != d || owner[(y + 1) * W + x] != d;
            ct_rgb want = edge ? ct_palette(d) : blend(base, ct_palette(d), CT_OVERLAY_TINT_ALPHA);
            CHECKF(same(got, want), "mask pixel %d,%d of detection %d: %d %d %d", x, y, d, got.r, got.g, got.b);
            CHECKF(!same(got, base), "mask pixel %d,%d not tinted", x, y);
            edges += edge;
            tinted += !edge;
        }
    CHECK(tinted > 500 && edges > 50 && untouched > 10000);
    /* the outline: left edge of each box, below where labels go */
    CHECK(same(ct_canvas_get(&c, 40, 100), ct_palette(0)));
    CHECK(same(ct_canvas_get(&c, 170, 80), ct_palette(1)));
    /* the label of the best detection sits on its box: its colour and its text */
    int label_bg = count_color(&c, 40, 60 - (CT_FONT_HEIGHT + 2) * scale, 80, 60, ct_palette(0));
    int text = count_color(&c, 40, 60 - (CT_FONT_HEIGHT + 2) * scale, 80, 60, ct_text_color_on(ct_palette(0)));
    CHECK(label_bg > 50 && text > 10);
    ct_canvas_free(&c);
}

static void test_overlay_no_detections_rgb(void) {
    static uint8_t rgb[30 * 20 * 3];
    for (size_t i = 0; i < sizeof rgb; i++) rgb[i] = (uint8_t)(i * 13);
    ct_result res = {.mask_height = 20, .mask_width = 30};
    ct_model_info info = {.task = CT_TASK_SEGMENTATION, .num_classes = 2, .class_names = {"bg", "lesion"}};
    ct_overlay_input in = {30, 20, 3, rgb, &info, &res, 0.5f};
    ct_canvas c;
    CHECK(ct_render_overlay(&in, &c, NULL) == CT_OK);
    CHECK(c.width == 30 && c.height == 20 && memcmp(c.rgb, rgb, sizeof rgb) == 0);
    ct_canvas_free(&c);
    res.num_detections = 1;   /* masks of the wrong size are refused */
    ct_detection det = {{1, 1, 5, 5}, 0.9f, 1};
    float masks[10 * 10] = {0};
    res.detections = &det;
    res.masks = masks;
    res.mask_width = res.mask_height = 10;
    ct_error err = {0};
    CHECK(ct_render_overlay(&in, &c, &err) == CT_E_ARG && strstr(err.message, "slice"));
}

static void test_overlay_classes_abbreviated(void) {
    static scene s;
    make_scene(&s);
    s.info.num_classes = 3;
    s.info.class_names[1] = "ground-glass opacity";
    s.info.class_names[2] = "consolidation";
    ct_overlay_input in = {W, H, 1, s.gray, &s.info, &s.res, 0.5f};
    ct_canvas c, plain;
    CHECK(ct_render_overlay(&in, &c, NULL) == CT_OK);
    s.info.num_classes = 2;
    CHECK(ct_render_overlay(&in, &plain, NULL) == CT_OK);
    /* "GGO 0.91" is wider than "0.91": more label colour right of the plain label */
    int scale = ct_overlay_scale(W, H), lh = (CT_FONT_HEIGHT + 2) * scale;
    int x_after = 40 + ct_text_width("0.91", scale) + 2 * scale + 1;
    CHECK(count_color(&c, x_after, 60 - lh, x_after + 20, 60, ct_palette(0)) >
          count_color(&plain, x_after, 60 - lh, x_after + 20, 60, ct_palette(0)));
    ct_canvas_free(&c);
    ct_canvas_free(&plain);
}

/* Box of the synthetic classifier region with detection index k. */
static void region_box(int k, float box[4]) {
    box[0] = 10.0f + 20 * k;
    box[1] = 10.0f + 15 * k;
    box[2] = 30.0f + 20 * k;
    box[3] = 60.0f + 15 * k;
}

static int is_gray(ct_rgb c) { return c.r == c.g && c.g == c.b; }

/* Pixel counts of the non-gray colours in rows [y0, y1), largest first; returns how many colours. */
static int colour_counts(const ct_canvas *c, int y0, int y1, int *counts, int max) {
    ct_rgb colours[8];
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < c->width; x++) {
            ct_rgb p = ct_canvas_get(c, x, y);
            if (is_gray(p)) continue;
            int k = 0;
            while (k < n && !same(colours[k], p)) k++;
            if (k == n) {
                if (n == max || n == 8) return -1;
                colours[n] = p;
                counts[n++] = 0;
            }
            counts[k]++;
        }
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            if (counts[b] > counts[a]) {
                int t = counts[a];
                counts[a] = counts[b];
                counts[b] = t;
            }
    return n;
}

static void test_overlay_classifier(void) {
    static scene s;
    make_scene(&s);
    ct_ranked_roi rois[9];
    const int index[9] = {0, 0, 1, 2, 2, 3, 4, 5, 6};   /* replicas adjacent, as the classifier ranks them */
    for (int i = 0; i < 9; i++) {
        rois[i] = (ct_ranked_roi){.score = 0.9f - 0.05f * (float)index[i], .index = index[i]};
        region_box(index[i], rois[i].box);
    }
    ct_result res = {.num_rois = 9, .rois = rois, .num_survivors = 7, .probabilities = {0.2f, 0.3f, 0.5f},
                     .class_index = 2};
    ct_model_info info = {.task = CT_TASK_CLASSIFICATION, .num_classes = 2,
                          .image_class_names = {"Control", "Common Pneumonia", "COVID-19"}};
    ct_overlay_input in = {W, H, 1, s.gray, &info, &res, 0.5f};
    ct_canvas c;
    CHECK(ct_render_overlay(&in, &c, NULL) == CT_OK);
    CHECK(c.width >= W && c.height > H);
    int scale = ct_overlay_scale(W, H);
    /* the best CT_OVERLAY_MAX_REGIONS distinct regions are outlined (left edge, low), the others not */
    for (int k = 0; k < 7; k++) {
        int x = 10 + 20 * k, y = 50 + 15 * k;
        ct_rgb want = k < CT_OVERLAY_MAX_REGIONS ? ct_palette(k) : base_at(&s, x, y);
        CHECKF(same(ct_canvas_get(&c, x, y), want), "region %d", k);
    }
    int untouched = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int near = 0;
            for (int k = 0; k < CT_OVERLAY_MAX_REGIONS; k++) {
                float box[4];
                region_box(k, box);
                near |= near_decoration(box, x, y, scale);
            }
            if (near) continue;
            CHECKF(same(ct_canvas_get(&c, x, y), base_at(&s, x, y)), "slice pixel %d,%d changed", x, y);
            untouched++;
        }
    CHECK(untouched > 15000);
    /* below the slice: three bars (the only colours there) as long as the probabilities */
    int count[4];
    CHECK(colour_counts(&c, H, c.height, count, 4) == 3);
    CHECK_NEAR((double)count[1] / count[2], 1.5, 0.05);
    CHECK_NEAR((double)count[0] / count[2], 2.5, 0.05);
    ct_canvas_free(&c);
}

int main(void) {
    RUN(test_palette);
    RUN(test_font);
    RUN(test_canvas);
    RUN(test_mask_union_and_owner);
    RUN(test_scoremap);
    RUN(test_overlay_segmentation);
    RUN(test_overlay_no_detections_rgb);
    RUN(test_overlay_classes_abbreviated);
    RUN(test_overlay_classifier);
    return TEST_SUMMARY();
}
