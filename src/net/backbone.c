/* ResNet v1 body + FPN without the max-pool level (spec §3, §4).
 *
 * Memory: only what a later stage reads outlives the body. The output of
 * every layer that feeds the FPN gets its own buffer; everything else cycles
 * through three slots of the largest activation's size (a block never has
 * more than two live maps when it writes a third), and the stem's output is
 * dropped once pooled. */
#include "net/backbone.h"

#include <stdio.h>

#include "conv.h"
#include "util/error.h"

#define NUM_SLOTS 3

typedef struct {
    float *slot[NUM_SLOTS];
} body_slots;

static size_t fmap_floats(const ct_fmap *f) { return (size_t)f->c * f->h * f->w; }

/* A slot holding neither of two live maps. */
static float *free_slot(const body_slots *b, const ct_fmap *live0, const ct_fmap *live1) {
    for (int i = 0; i < NUM_SLOTS; i++)
        if (b->slot[i] != live0->data && b->slot[i] != live1->data) return b->slot[i];
    return NULL;   /* unreachable: at most two of three slots are live */
}

/* Walks the body's shapes from the pooled stem output x: each layer's
 * output shape into layer_shape; returns the largest map any conv writes. */
static size_t plan_body(const ct_network *net, ct_fmap x, ct_fmap layer_shape[4]) {
    size_t most = fmap_floats(&x);
    for (int l = 0; l < net->num_layers; l++) {
        for (int b = 0; b < net->num_blocks[l]; b++) {
            const ct_block *blk = &net->blocks[l][b];
            ct_fmap t = x;
            for (int k = 0; k < blk->num_convs; k++) {
                t = ct_conv_layer_shape(&blk->conv[k], &t);
                if (fmap_floats(&t) > most) most = fmap_floats(&t);
            }
            if (blk->has_downsample) {
                ct_fmap d = ct_conv_layer_shape(&blk->downsample, &x);
                if (fmap_floats(&d) > most) most = fmap_floats(&d);
            }
            x = t;
        }
        layer_shape[l] = x;
    }
    return most;
}

/* BasicBlock: relu(conv2(relu(conv1 x)) + id); Bottleneck: three convs. The
 * identity is x or downsample(x). BatchNorm is folded into each conv. The
 * output goes to `dest` if not NULL, else to a free slot. */
static void run_block(ct_session *s, const ct_block *b, const body_slots *slots, const ct_fmap *x, float *dest,
                      ct_fmap *out) {
    ct_fmap identity = *x, none = {0}, in = *x;
    if (b->has_downsample) {
        identity = ct_conv_layer_shape(&b->downsample, x);
        identity.data = free_slot(slots, x, &none);
        ct_conv_layer_into(s, &b->downsample, x, NULL, 0, &identity);
    }
    for (int k = 0; k < b->num_convs; k++) {
        int last = k == b->num_convs - 1;
        ct_fmap t = ct_conv_layer_shape(&b->conv[k], &in);
        t.data = last && dest ? dest : free_slot(slots, &in, &identity);
        ct_conv_layer_into(s, &b->conv[k], &in, last ? &identity : NULL, 1, &t);
        in = t;
    }
    *out = in;
}

/* stem -> maxpool into slot 0. The stem's own output is temporary. */
static ct_status run_stem(ct_session *s, const ct_fmap *input, float *pooled, ct_fmap *x, ct_error *err) {
    const ct_network *net = &s->model->net;
    ct_arena_mark mark = ct_arena_get_mark(&s->arena);
    ct_fmap stem;
    ct_status st = ct_conv_layer_run(s, &net->stem, input, NULL, 1, &stem, err);
    if (st != CT_OK) return st;
    *x = (ct_fmap){stem.c, ct_conv_out_size(stem.h, 3, 2, 1), ct_conv_out_size(stem.w, 3, 2, 1), pooled};
    ct_maxpool2d(s->pool, stem.data, stem.c, stem.h, stem.w, 3, 2, 1, x->data);
    ct_arena_release(&s->arena, mark);
    ct_trace(s, "stem", x->data, 3, x->c, x->h, x->w);
    return CT_OK;
}

/* Runs the body; layer_out[l] is set for the layers from `first` on, which
 * feed the FPN and are kept (allocated below the slots, which are freed
 * when the body is done). */
static ct_status run_body(ct_session *s, const ct_fmap *input, int first, ct_fmap layer_out[4], ct_error *err) {
    const ct_network *net = &s->model->net;
    ct_arena *arena = &s->arena;
    ct_fmap x = ct_conv_layer_shape(&net->stem, input);
    x = (ct_fmap){x.c, ct_conv_out_size(x.h, 3, 2, 1), ct_conv_out_size(x.w, 3, 2, 1), NULL};
    size_t largest = plan_body(net, x, layer_out);
    for (int l = first; l < net->num_layers; l++)
        if (!(layer_out[l].data = ct_arena_floats(arena, fmap_floats(&layer_out[l]))))
            return ct_fail(err, CT_E_NOMEM, "out of memory for the backbone's outputs");
    ct_arena_mark mark = ct_arena_get_mark(arena);
    body_slots slots;
    for (int i = 0; i < NUM_SLOTS; i++)
        if (!(slots.slot[i] = ct_arena_floats(arena, largest)))
            return ct_fail(err, CT_E_NOMEM, "out of memory for the backbone's activations");
    ct_status st = run_stem(s, input, slots.slot[0], &x, err);
    if (st != CT_OK) return st;
    for (int l = 0; l < net->num_layers; l++)
        for (int b = 0; b < net->num_blocks[l]; b++) {
            int kept = l >= first && b == net->num_blocks[l] - 1;
            run_block(s, &net->blocks[l][b], &slots, &x, kept ? layer_out[l].data : NULL, &x);
        }
    ct_arena_release(arena, mark);
    return CT_OK;
}

ct_status ct_backbone_fpn(ct_session *s, const ct_fmap *input, ct_fmap levels[CT_MAX_LEVELS],
                          ct_error *err) {
    const ct_network *net = &s->model->net;
    ct_fmap layer_out[4];
    /* The FPN inputs: "backbone" (one level) or "backbone_0".."backbone_3". */
    int first = net->num_layers - net->num_levels;
    ct_status st = run_body(s, input, first, layer_out, err);
    if (st != CT_OK) return st;
    for (int i = 0; i < net->num_levels; i++) {
        char name[16];
        snprintf(name, sizeof name, net->num_levels == 1 ? "backbone" : "backbone_%d", i);
        const ct_fmap *f = &layer_out[first + i];
        ct_trace(s, name, f->data, 3, f->c, f->h, f->w);
    }
    for (int i = 0; i < net->num_levels; i++) {
        levels[i] = ct_conv_layer_shape(&net->fpn_layer[i], &layer_out[first + i]);
        if (!(levels[i].data = ct_arena_floats(&s->arena, fmap_floats(&levels[i]))))
            return ct_fail(err, CT_E_NOMEM, "out of memory for the FPN's outputs");
    }

    /* Top-down: last = inner(x_top); lower: last = inner(x_i) + nearest_up(last). */
    ct_arena_mark mark = ct_arena_get_mark(&s->arena);
    ct_fmap last = {0};
    for (int i = net->num_levels - 1; i >= 0; i--) {
        ct_fmap lateral;
        if ((st = ct_conv_layer_run(s, &net->fpn_inner[i], &layer_out[first + i], NULL, 0, &lateral, err)) != CT_OK)
            return st;
        if (last.data)
            ct_upsample_nearest_add(last.data, last.c, last.h, last.w, lateral.data, lateral.h, lateral.w);
        last = lateral;
        ct_conv_layer_into(s, &net->fpn_layer[i], &last, NULL, 0, &levels[i]);
    }
    ct_arena_release(&s->arena, mark);
    for (int i = 0; i < net->num_levels; i++) {
        char name[16];
        snprintf(name, sizeof name, net->num_levels == 1 ? "fpn" : "fpn_%d", i);
        ct_trace(s, name, levels[i].data, 3, levels[i].c, levels[i].h, levels[i].w);
    }
    return CT_OK;
}
