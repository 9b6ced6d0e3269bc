/* ResNet v1 body + FPN without the max-pool level (spec §3, §4). */
#include "net/backbone.h"

#include <stdio.h>

#include "conv.h"
#include "util/error.h"

/* BasicBlock: relu(conv2(relu(conv1 x)) + id); Bottleneck: three convs. The
 * identity is x or downsample(x). BatchNorm is folded into each conv. */
static ct_status run_block(ct_session *s, const ct_block *b, const ct_fmap *x, ct_fmap *out,
                           ct_error *err) {
    ct_fmap identity = *x, t[2];
    ct_status st;
    if (b->has_downsample &&
        (st = ct_conv_layer_run(s, &b->downsample, x, NULL, 0, &identity, err)) != CT_OK)
        return st;
    const ct_fmap *in = x;
    for (int k = 0; k < b->num_convs - 1; k++) {
        if ((st = ct_conv_layer_run(s, &b->conv[k], in, NULL, 1, &t[k], err)) != CT_OK) return st;
        in = &t[k];
    }
    return ct_conv_layer_run(s, &b->conv[b->num_convs - 1], in, &identity, 1, out, err);
}

/* Runs the body, keeping each layer's output in `layer_out` (arena memory
 * for intermediate blocks is reclaimed block by block). */
static ct_status run_body(ct_session *s, const ct_fmap *input, ct_fmap layer_out[4], ct_error *err) {
    const ct_network *net = &s->model->net;
    ct_arena *arena = &s->arena;
    ct_fmap stem;
    ct_status st = ct_conv_layer_run(s, &net->stem, input, NULL, 1, &stem, err);
    if (st != CT_OK) return st;
    ct_fmap x = {stem.c, ct_conv_out_size(stem.h, 3, 2, 1), ct_conv_out_size(stem.w, 3, 2, 1), NULL};
    x.data = ct_arena_floats(arena, (size_t)x.c * x.h * x.w);
    if (!x.data) return ct_fail(err, CT_E_NOMEM, "out of memory in the backbone stem");
    ct_maxpool2d(stem.data, stem.c, stem.h, stem.w, 3, 2, 1, x.data);
    ct_trace(s, "stem", x.data, 3, x.c, x.h, x.w);

    for (int l = 0; l < net->num_layers; l++) {
        for (int b = 0; b < net->num_blocks[l]; b++) {
            ct_fmap y;
            if ((st = run_block(s, &net->blocks[l][b], &x, &y, err)) != CT_OK) return st;
            x = y;
        }
        layer_out[l] = x;
    }
    return CT_OK;
}

ct_status ct_backbone_fpn(ct_session *s, const ct_fmap *input, ct_fmap levels[CT_MAX_LEVELS],
                          ct_error *err) {
    const ct_network *net = &s->model->net;
    ct_fmap layer_out[4];
    ct_status st = run_body(s, input, layer_out, err);
    if (st != CT_OK) return st;
    /* The FPN inputs: "backbone" (one level) or "backbone_0".."backbone_3". */
    int first = net->num_layers - net->num_levels;
    for (int i = 0; i < net->num_levels; i++) {
        char name[16];
        snprintf(name, sizeof name, net->num_levels == 1 ? "backbone" : "backbone_%d", i);
        const ct_fmap *f = &layer_out[first + i];
        ct_trace(s, name, f->data, 3, f->c, f->h, f->w);
    }

    /* Top-down: last = inner(x_top); lower: last = inner(x_i) + nearest_up(last). */
    ct_fmap last = {0};
    for (int i = net->num_levels - 1; i >= 0; i--) {
        ct_fmap lateral;
        if ((st = ct_conv_layer_run(s, &net->fpn_inner[i], &layer_out[first + i], NULL, 0, &lateral,
                                    err)) != CT_OK)
            return st;
        if (last.data)
            ct_upsample_nearest_add(last.data, last.c, last.h, last.w, lateral.data, lateral.h,
                                    lateral.w);
        last = lateral;
        if ((st = ct_conv_layer_run(s, &net->fpn_layer[i], &last, NULL, 0, &levels[i], err)) !=
            CT_OK)
            return st;
    }
    for (int i = 0; i < net->num_levels; i++) {
        char name[16];
        snprintf(name, sizeof name, net->num_levels == 1 ? "fpn" : "fpn_%d", i);
        ct_trace(s, name, levels[i].data, 3, levels[i].c, levels[i].h, levels[i].w);
    }
    return CT_OK;
}
