/* Winograd F(2x2, 3x3) convolution (contract in winograd.h). The output's
 * 2x2 tiles are numbered image by image, row by row; a task takes a block of
 * consecutive tiles (the last blocks: a part of their output channels) and,
 * in its thread's workspace (sized to stay in L2):
 *   1. transforms each tile's 4x4 input patch per channel, V = B^T d B,
 *      writing the 16 values straight into 16 packed GEMM B operands;
 *   2. runs the 16 GEMMs M[xi] = U[xi] V[xi] on its own thread;
 *   3. transforms back, Y = A^T M A, and applies bias, residual and ReLU.
 * Both transforms run on four tiles at once, one per vector lane (patches
 * gathered and results scattered by 4x4 transposes), so every tile, edge or
 * not, takes the same arithmetic. */
#include "winograd.h"

#include "simd.h"

_Static_assert(CT_GEMM_MR == 4, "weights are transformed four output channels (one packed column) at a time");

enum {
    NR = CT_GEMM_NR,
    XI = 16,                        /* transformed points per tile */
    BLOCK_BYTES = 256 * 1024,       /* a block's V and M together: half of L2 (measured best) */
    MAX_BLOCK_PANELS = 8,
    /* Floats between consecutive V[xi] and M[xi] beyond their contents:
     * their sizes are multiples of 4 KB, and the 16 streams a transform
     * reads or writes at once would all fall in one L1 set. */
    STREAM_PAD = 16,
    TAIL_PARTS = 2
};

int ct_winograd_fits(const ct_conv_params *p) {
    return p->kh == 3 && p->kw == 3 && p->stride == 1 && p->pad == 1;
}

static size_t u_floats(int cin, int cout) { return ct_gemm_packed_a_floats(cout, cin); }

size_t ct_winograd_packed_floats(int cin, int cout) { return XI * u_floats(cin, cout); }

/* u = G g G^T for four 3x3 kernels at once (lane i: output channel o0+i),
 * G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]; g[ky*3+kx] holds the
 * kernels' taps. */
static void transform_kernels(const ct_vec4 g[9], ct_vec4 u[XI]) {
    ct_vec4 t[4][3], half = {0.5f, 0.5f, 0.5f, 0.5f};
    for (int kx = 0; kx < 3; kx++) {
        ct_vec4 g0 = g[kx], g1 = g[3 + kx], g2 = g[6 + kx];
        t[0][kx] = g0, t[1][kx] = (g0 + g1 + g2) * half, t[2][kx] = (g0 - g1 + g2) * half, t[3][kx] = g2;
    }
    for (int i = 0; i < 4; i++) {
        ct_vec4 g0 = t[i][0], g1 = t[i][1], g2 = t[i][2];
        u[i * 4 + 0] = g0, u[i * 4 + 1] = (g0 + g1 + g2) * half, u[i * 4 + 2] = (g0 - g1 + g2) * half;
        u[i * 4 + 3] = g2;
    }
}

/* The transform of kernels o0..o0+3 (rows past cout zero) of input channel
 * c, BatchNorm scale applied: u[xi], lane i for output channel o0+i. */
static void transform_column(int cin, int cout, const float *weight, const float *scale, int o0, int c,
                             ct_vec4 u[XI]) {
    ct_vec4 g[9];
    int rows = cout - o0 < CT_GEMM_MR ? cout - o0 : CT_GEMM_MR;
    for (int i = 0; i < CT_GEMM_MR; i++) {   /* taps 0-3, 4-7 of kernel i, transposed below */
        const float *k = weight + ((size_t)(o0 + i) * cin + c) * 9;
        g[i] = i < rows ? ct_load4(k) : (ct_vec4){0};
        g[4 + i] = i < rows ? ct_load4(k + 4) : (ct_vec4){0};
        g[8][i] = i < rows ? k[8] : 0.0f;
    }
    ct_transpose4(g);
    ct_transpose4(g + 4);
    if (scale) {
        ct_vec4 sc = {0};
        for (int i = 0; i < rows; i++) sc[i] = scale[o0 + i];
        for (int e = 0; e < 9; e++) g[e] *= sc;
    }
    transform_kernels(g, u);
}

/* Output channels o0..o0+3 share one packed column, so each (o0, c) is one
 * vector transform. The 16 packed matrices lie a power of two apart in
 * most layers, so writing them column by column would evict each other's
 * half-written lines: the columns of C_CHUNK input channels are gathered
 * first and each matrix then gets one contiguous run. */
void ct_winograd_pack_weight(int cin, int cout, const float *weight, const float *scale, float *dst) {
    enum { C_CHUNK = 16 };
    size_t per_xi = u_floats(cin, cout);
    for (int o0 = 0; o0 < cout; o0 += CT_GEMM_MR)
        for (int c0 = 0; c0 < cin; c0 += C_CHUNK) {
            int n = cin - c0 < C_CHUNK ? cin - c0 : C_CHUNK;
            ct_vec4 u[C_CHUNK][XI];   /* [channel][xi] */
            for (int j = 0; j < n; j++) transform_column(cin, cout, weight, scale, o0, c0 + j, u[j]);
            size_t at = ct_gemm_packed_a_offset(cout, cin, o0, c0);
            int run = ct_gemm_packed_a_offset(cout, cin, o0, c0 + n - 1) == at + (size_t)(n - 1) * CT_GEMM_MR;
            for (int xi = 0; xi < XI; xi++)
                for (int j = 0; j < n; j++)
                    ct_store4(dst + xi * per_xi + (run ? at + (size_t)j * CT_GEMM_MR
                                                       : ct_gemm_packed_a_offset(cout, cin, o0, c0 + j)),
                              u[j][xi]);
        }
}

/* Tiles per block: whole panels, as many as fit the budget (at least one). */
static int block_tiles(int cin, int cout) {
    size_t per_panel = (size_t)XI * ((size_t)cin + cout) * NR * sizeof(float);
    size_t panels = BLOCK_BYTES / (per_panel ? per_panel : 1);
    if (panels < 1) panels = 1;
    if (panels > MAX_BLOCK_PANELS) panels = MAX_BLOCK_PANELS;
    return (int)panels * NR;
}

size_t ct_winograd_workspace_floats(int cin, int cout) {
    return (size_t)XI * ((size_t)block_tiles(cin, cout) * ((size_t)cin + cout) + 2 * STREAM_PAD);
}

/* ---- the convolution ----------------------------------------------------- */

typedef struct {
    const ct_conv_params *p;
    const ct_gemm_ctx *ctx;
    int ho, wo, th, tw, tiles, block;       /* output size, tiles per side, tiles, per block */
    int whole, parts;                        /* blocks run whole, then each of the rest in parts */
    ptrdiff_t image_stride, channel_stride;  /* in x */
    const float *x, *packed, *bias, *residual;
    int relu;
    float *y;                                /* [cout, batch, ho, wo] */
} wino_job;

typedef struct {
    int img, ty, tx;
} tile_pos;

static tile_pos tile_at(const wino_job *j, int t) {
    int per_image = j->th * j->tw, r = t % per_image;
    return (tile_pos){t / per_image, r / j->tw, r % j->tw};
}

/* A^T m A on the 16 values m: the 2x2 results in y. */
#define OUTPUT_TRANSFORM(T, m, y)                                                         \
    do {                                                                                  \
        T s_[2][4];                                                                       \
        _Pragma("GCC unroll 4") for (int k_ = 0; k_ < 4; k_++) {                          \
            s_[0][k_] = m[k_] + m[4 + k_] + m[8 + k_];                                    \
            s_[1][k_] = m[4 + k_] - m[8 + k_] - m[12 + k_];                               \
        }                                                                                 \
        _Pragma("GCC unroll 2") for (int i_ = 0; i_ < 2; i_++) {                          \
            y[i_][0] = s_[i_][0] + s_[i_][1] + s_[i_][2];                                 \
            y[i_][1] = s_[i_][1] - s_[i_][2] - s_[i_][3];                                 \
        }                                                                                 \
    } while (0)

/* Where tile tl, channel c sits in V[0]: each V[xi] is a packed GEMM B
 * [cin, tiles], V[xi] = V[0] + xi*vstride. */
static float *v_at(const wino_job *j, float *V, int tl, int c) {
    return V + (size_t)(tl / NR) * j->p->cin * NR + (size_t)c * NR + tl % NR;
}

/* Where the rows of a quad's patches start in a channel plane: row r of
 * tile i is the four floats at plane + off[i][r] when full[i][r]; else it
 * is gathered from the columns at plane + col[i][r][k] (clamped into the
 * map), lanes outside the map (or the whole row: a row above or below the
 * map, or a tile past the block, which pads the last panel) set to zero by
 * keep[i][r]. Worked out once per quad, used for every channel. */
typedef struct {
    ptrdiff_t image[4];     /* offset of tile i's image in x */
    ptrdiff_t off[4][4];    /* [tile][row], from the image's channel plane */
    int full[4][4];
    ptrdiff_t col[4][4][4]; /* [tile][row][column], rows not full */
    ct_ivec4 keep[4][4];    /* lanes of such a row inside the map: all ones */
    int all_full;
    int one_row;            /* all full, and side by side in one row of one image */
} quad_rows;

static int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void quad_geometry(const wino_job *j, int t0, int nt, int tl, quad_rows *q) {
    int h = j->p->h, w = j->p->w;
    q->all_full = 1;
    tile_pos first = tile_at(j, t0 + tl), last = tile_at(j, t0 + (tl + 3 < nt ? tl + 3 : tl));
    for (int i = 0; i < 4; i++) {
        int valid = tl + i < nt;
        tile_pos a = tile_at(j, t0 + (valid ? tl + i : 0));
        int ix = 2 * a.tx - 1;
        q->image[i] = a.img * j->image_stride;
        for (int r = 0; r < 4; r++) {
            int iy = 2 * a.ty - 1 + r, row_in = valid && iy >= 0 && iy < h;
            q->off[i][r] = (ptrdiff_t)iy * w + ix;
            q->full[i][r] = row_in && ix >= 0 && ix + 4 <= w;
            q->all_full &= q->full[i][r];
            for (int k = 0; !q->full[i][r] && k < 4; k++) {
                q->col[i][r][k] = (ptrdiff_t)clamp_int(iy, 0, h - 1) * w + clamp_int(ix + k, 0, w - 1);
                q->keep[i][r][k] = row_in && ix + k >= 0 && ix + k < w ? -1 : 0;
            }
        }
    }
    q->one_row = q->all_full && first.img == last.img && first.ty == last.ty && last.tx == first.tx + 3;
}

/* Row r of tile i when it is not full: the columns inside the map, else 0. */
static ct_vec4 edge_row(const quad_rows *q, const float *plane, int i, int r) {
    const ptrdiff_t *col = q->col[i][r];
    return ct_select4(q->keep[i][r], (ct_vec4){plane[col[0]], plane[col[1]], plane[col[2]], plane[col[3]]},
                      (ct_vec4){0});
}

/* The input transform V = B^T d B of four tiles (one per lane), streamed
 * row by row: each patch row's columns (four vectors, lane = tile) become
 * e_r = d_r B = [d0-d2, d1+d2, d2-d1, d1-d3] as the row arrives, and the
 * rows combine as V = [e0-e2, e1+e2, e2-e1, e1-e3], so that at most three
 * rows are live. The 16 results go to V[xi] at v0 + xi*vstride. */
typedef struct {
    ct_vec4 e[3][4];
    float *v0;
    size_t vstride;
} input_stream;

static inline void stream_row(input_stream *t, int r, const ct_vec4 d[4]) {
    ct_vec4 e[4] = {d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]};
    if (r < 3) {
        for (int k = 0; k < 4; k++) t->e[r][k] = e[k];
        if (r == 2)
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                ct_store4(t->v0 + k * t->vstride, t->e[0][k] - t->e[2][k]);
                ct_store4(t->v0 + (4 + k) * t->vstride, t->e[1][k] + t->e[2][k]);
                ct_store4(t->v0 + (8 + k) * t->vstride, t->e[2][k] - t->e[1][k]);
            }
        return;
    }
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) ct_store4(t->v0 + (12 + k) * t->vstride, t->e[1][k] - e[k]);
}

/* Channel plane `plane` of four consecutive tiles of the block (any rows,
 * any images), whose geometry is g: the patches gathered lane by lane and
 * transformed as vectors into V[xi] at v0 + xi*vstride. The rows of a quad
 * in one row are asked of the cache `ahead` floats further (a later
 * channel's plane, which no hardware prefetcher guesses). */
static inline void quad_channel(const wino_job *j, const quad_rows *g, ptrdiff_t plane, ptrdiff_t ahead, float *v0,
                                size_t vstride) {
    input_stream t = {.v0 = v0, .vstride = vstride};
#pragma GCC unroll 4
    for (int r = 0; r < 4; r++) {
        ct_vec4 d[4];
        if (g->one_row) {
            /* Column k of tile i is input column 2i+k of the quad's rows: the
             * even or odd lanes of two loads (reading columns 0..9, which the
             * last tile's full row covers). */
            const float *row = j->x + g->image[0] + g->off[0][r] + plane;
            __builtin_prefetch(row + ahead);
            ct_vec4 a = ct_load4(row), b = ct_load4(row + 4), e = ct_load4(row + 2), f = ct_load4(row + 6);
            d[0] = CT_SHUFFLE4(a, b, 0, 2, 4, 6), d[1] = CT_SHUFFLE4(a, b, 1, 3, 5, 7);
            d[2] = CT_SHUFFLE4(e, f, 0, 2, 4, 6), d[3] = CT_SHUFFLE4(e, f, 1, 3, 5, 7);
        } else {
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++)
                d[i] = g->full[i][r] ? ct_load4(j->x + g->image[i] + g->off[i][r] + plane)
                                     : edge_row(g, j->x + g->image[i] + plane, i, r);
            ct_transpose4(d);   /* d[k]: column k of the four tiles */
        }
        stream_row(&t, r, d);
    }
}

/* All of the block's tiles, and zero columns up to the panel's end: panel
 * by panel, channel by channel, the panel's six quads side by side, so
 * that the input rows a channel's quads share are read once, while in L1
 * (channel planes are often multiples of 4 KB apart and evict each other). */
static void input_transform(const wino_job *j, int t0, int nt, float *V, size_t vstride) {
    enum { QUADS = NR / 4, PREFETCH_CHANNELS = 2 };
    _Static_assert(NR % 4 == 0, "a panel is whole quads");
    int padded = (nt + NR - 1) / NR * NR;
    for (int tp = 0; tp < padded; tp += NR) {
        quad_rows g[QUADS];
        for (int q = 0; q < QUADS; q++) quad_geometry(j, t0, nt, tp + 4 * q, &g[q]);
        for (int c = 0; c < j->p->cin; c++) {
            ptrdiff_t ahead = c + PREFETCH_CHANNELS < j->p->cin ? PREFETCH_CHANNELS * j->channel_stride : 0;
            for (int q = 0; q < QUADS; q++)
                quad_channel(j, &g[q], c * j->channel_stride, ahead, v_at(j, V, tp + 4 * q, c), vstride);
        }
    }
}

/* y[at] from the transformed sum v, with the epilogue in ct_gemm's order. */
static float finish(const wino_job *j, int o, size_t at, float v) {
    if (j->bias) v += j->bias[o];
    if (j->residual) v += j->residual[at];
    if (j->relu && v < 0.0f) v = 0.0f;
    return v;
}

/* finish on four outputs, the residual's four given. */
static ct_vec4 finish_with(const wino_job *j, int o, ct_vec4 residual, ct_vec4 v) {
    if (j->bias) v += j->bias[o];
    if (j->residual) v += residual;
    if (j->relu) v = ct_select4(v < (ct_vec4){0}, (ct_vec4){0}, v);
    return v;
}

static ct_vec4 finish4(const wino_job *j, int o, size_t at, ct_vec4 v) {
    return finish_with(j, o, j->residual ? ct_load4(j->residual + at) : (ct_vec4){0}, v);
}

/* The 2x2 outputs of one tile (y00, y01, y10, y11 in the lanes of y): as
 * two pairs when the tile lies inside the map, else one by one. */
static void store_tile(const wino_job *j, int o, tile_pos a, ct_vec4 y) {
    size_t base = ((size_t)o * j->p->batch + a.img) * j->ho * j->wo;
    size_t at = base + (size_t)(2 * a.ty) * j->wo + 2 * a.tx, below = at + (size_t)j->wo;
    if (2 * a.ty + 1 < j->ho && 2 * a.tx + 1 < j->wo) {
        const float *r = j->residual;
        ct_vec4 v = finish_with(j, o, r ? (ct_vec4){r[at], r[at + 1], r[below], r[below + 1]} : (ct_vec4){0}, y);
        j->y[at] = v[0], j->y[at + 1] = v[1], j->y[below] = v[2], j->y[below + 1] = v[3];
        return;
    }
    for (int i = 0; i < 2; i++)
        for (int q = 0; q < 2; q++) {
            int oy = 2 * a.ty + i, ox = 2 * a.tx + q;
            if (oy < j->ho && ox < j->wo) {
                size_t e = base + (size_t)oy * j->wo + ox;
                j->y[e] = finish(j, o, e, y[2 * i + q]);
            }
        }
}

/* Four tiles side by side in one row with all their outputs: two runs of
 * eight consecutive outputs, interleaved from the tiles' columns. */
static void store_row_of_four(const wino_job *j, int o, tile_pos a, ct_vec4 y[2][2]) {
    size_t base = ((size_t)o * j->p->batch + a.img) * j->ho * j->wo;
    for (int i = 0; i < 2; i++) {
        size_t at = base + (size_t)(2 * a.ty + i) * j->wo + 2 * a.tx;
        ct_store4(j->y + at, finish4(j, o, at, CT_SHUFFLE4(y[i][0], y[i][1], 0, 4, 1, 5)));
        ct_store4(j->y + at + 4, finish4(j, o, at + 4, CT_SHUFFLE4(y[i][0], y[i][1], 2, 6, 3, 7)));
    }
}

/* Floats from V[xi] to V[xi+1] for a block of nt tiles: V [XI] packed B [cin, nt] (whole panels), padded. */
static size_t v_stride(const wino_job *j, int nt) {
    return (size_t)(nt + NR - 1) / NR * NR * j->p->cin + STREAM_PAD;
}

/* Floats from M[xi] to M[xi+1] for a block of nt tiles: M [XI][cout][nt], padded. */
static size_t m_stride(const wino_job *j, int nt) { return (size_t)j->p->cout * nt + STREAM_PAD; }

/* Where in an output channel's plane ([batch, ho, wo]) a quad's output
 * rows start: its first tile's two rows, and its last tile's unless both
 * lie in one row of tiles (one_row). Returns their count. output_quad asks
 * the cache for them a few channels ahead: a channel's few lines lie a
 * plane away from the previous channel's, which no hardware prefetcher
 * follows, and the transform stalled on each of them (a third of its time). */
static int quad_lines(const wino_job *j, tile_pos first, tile_pos last, int one_row, size_t line[4]) {
    int count = one_row ? 2 : 4;
    for (int k = 0; k < count; k++) {
        tile_pos t = k < 2 ? first : last;
        int oy = 2 * t.ty + k % 2 < j->ho ? 2 * t.ty + k % 2 : j->ho - 1;
        line[k] = ((size_t)t.img * j->ho + oy) * j->wo + 2 * t.tx;
    }
    return count;
}

/* Tiles [tl, tl+4) (fewer at the block's end) for output channels [o0, o1). */
static void output_quad(const wino_job *j, int t0, int nt, int tl, int o0, int o1, const float *M) {
    enum { PREFETCH_AHEAD = 4 };   /* output channels */
    size_t mstride = m_stride(j, nt), line[4];
    int n = nt - tl < 4 ? nt - tl : 4;
    tile_pos a[4] = {{0, 0, 0}};   /* n >= 1 are set */
    for (int i = 0; i < n; i++) a[i] = tile_at(j, t0 + tl + i);
    int one_row = a[0].img == a[n - 1].img && a[0].ty == a[n - 1].ty;
    int row = n == 4 && one_row && 2 * a[0].ty + 1 < j->ho && 2 * a[3].tx + 1 < j->wo;   /* all 16 outputs in the map */
    int lines = quad_lines(j, a[0], a[n - 1], one_row, line);
    for (int o = o0; o < o1; o++) {
        if (o + PREFETCH_AHEAD < o1) {   /* inline: GCC drops a function that only prefetches */
            size_t plane = (size_t)(o + PREFETCH_AHEAD) * j->p->batch * j->ho * j->wo;
            for (int k = 0; k < lines; k++) __builtin_prefetch(j->y + plane + line[k], 1);
            for (int k = 0; j->residual && k < lines; k++) __builtin_prefetch(j->residual + plane + line[k]);
        }
        const float *m0 = M + (size_t)o * nt + tl;
        ct_vec4 m[XI], y[2][2];
        if (n == 4) {
#pragma GCC unroll 16
            for (int xi = 0; xi < XI; xi++) m[xi] = ct_load4(m0 + xi * mstride);
        } else {
            for (int xi = 0; xi < XI; xi++) m[xi] = ct_load4_first(m0 + xi * mstride, n);
        }
        OUTPUT_TRANSFORM(ct_vec4, m, y);
        if (row) {
            store_row_of_four(j, o, a[0], y);
            continue;
        }
        ct_vec4 per_tile[4] = {y[0][0], y[0][1], y[1][0], y[1][1]};
        ct_transpose4(per_tile);   /* per_tile[i]: tile i's y00, y01, y10, y11 */
        for (int i = 0; i < n; i++) store_tile(j, o, a[i], per_tile[i]);
    }
}

static void output_transform(const wino_job *j, int t0, int nt, int o0, int o1, const float *M) {
    for (int tl = 0; tl < nt; tl += 4) output_quad(j, t0, nt, tl, o0, o1, M);
}

/* Unit u: a whole block, or past j->whole one of the parts of a block
 * (output channels cut at multiples of MR). */
static void block_task(void *arg, int u, int thread) {
    const wino_job *j = arg;
    const ct_conv_params *p = j->p;
    int blk = u, o0 = 0, o1 = p->cout;
    if (u >= j->whole) {
        int part = (u - j->whole) % j->parts, rows = (p->cout + CT_GEMM_MR - 1) / CT_GEMM_MR;
        blk = j->whole + (u - j->whole) / j->parts;
        o0 = rows * part / j->parts * CT_GEMM_MR;
        o1 = rows * (part + 1) / j->parts * CT_GEMM_MR;
        if (o1 > p->cout) o1 = p->cout;
    }
    int t0 = blk * j->block, nt = j->tiles - t0 < j->block ? j->tiles - t0 : j->block;
    size_t vstride = v_stride(j, nt);
    float *V = ct_gemm_ctx_workspace(j->ctx, thread);   /* [XI] packed B [cin, nt], vstride apart */
    float *M = V + XI * v_stride(j, j->block);         /* after a whole block's V; [XI][cout][nt], m_stride apart */
    input_transform(j, t0, nt, V, vstride);
    for (int xi = 0; xi < XI; xi++) {
        ct_gemm_b b = ct_gemm_b_packed(V + xi * vstride, p->cin, nt);
        ct_gemm_run_here(j->ctx, thread, p->cout, nt, p->cin, j->packed + xi * u_floats(p->cin, p->cout), &b,
                         M + xi * m_stride(j, nt), nt, NULL, o0, o1);
    }
    output_transform(j, t0, nt, o0, o1, M);
}

void ct_winograd_conv(const ct_gemm_ctx *ctx, const ct_conv_params *p, const float *x, const float *packed,
                      const float *bias, const float *residual, int relu, float *y) {
    int ho = ct_conv_out_size(p->h, 3, 1, 1), wo = ct_conv_out_size(p->w, 3, 1, 1);
    if (ho <= 0 || wo <= 0 || p->batch <= 0 || p->cout <= 0) return;
    ptrdiff_t plane = (ptrdiff_t)p->h * p->w;
    wino_job j = {p, ctx, ho, wo, (ho + 1) / 2, (wo + 1) / 2, 0, block_tiles(p->cin, p->cout), 0, 1,
                  p->channel_major ? plane : plane * p->cin, p->channel_major ? plane * p->batch : plane,
                  x, packed, bias, residual, relu, y};
    j.tiles = p->batch * j.th * j.tw;
    /* The last block of each thread is cut into parts by output channels
     * (each part transforms the block's input again): the pool hands out
     * units in order, so the threads' last claims are short. */
    int blocks = (j.tiles + j.block - 1) / j.block, threads = ct_pool_size(ct_gemm_ctx_pool(ctx)), split = 0;
    if (threads > 1) split = threads < blocks ? threads : blocks;
    j.whole = blocks - split;
    j.parts = split ? TAIL_PARTS : 1;
    ct_pool_run(ct_gemm_ctx_pool(ctx), j.whole + split * j.parts, block_task, &j);
}
