/* Command-line parsing for ctinfer. */
#ifndef CT_CLI_ARGS_H
#define CT_CLI_ARGS_H

#include "ctinfer.h"

typedef enum { CLI_RUN, CLI_BATCH, CLI_INFO, CLI_DECODE, CLI_HELP, CLI_VERSION } cli_command;

/* An option the user may set; unset ones keep the model's defaults. */
typedef struct {
    int set;
    double value;
} cli_number;

/* The per-input files --out-dir DIR can write (--outputs LIST); bit k is
 * output kind k of cli/outputs.h. */
enum {
    CLI_OUT_OVERLAY = 1u << 0,    /* <stem>.overlay.png */
    CLI_OUT_MASK = 1u << 1,       /* <stem>.mask.png */
    CLI_OUT_SCOREMAP = 1u << 2,   /* <stem>.scoremap.png */
    CLI_OUT_MASKS = 1u << 3,      /* <stem>.masks.npy */
    CLI_OUT_INPUT = 1u << 4       /* <stem>.input.npy */
};

typedef struct {
    cli_command command;
    const char *model_path;
    const char **positional;      /* owned: every positional argument (strings in argv) */
    const char **inputs;          /* [num_inputs] images or directories, inside positional */
    int num_inputs;
    const char *decode_out;       /* decode: OUT.npy */
    int json;
    const char *masks_npy;        /* --masks */
    const char *mask_png;         /* --mask */
    const char *overlay_png;      /* --overlay */
    const char *scoremap_png;     /* --scoremap */
    const char *dump_input;       /* --dump-input */
    const char *jsonl;            /* --jsonl: batch mode */
    int resume;                   /* --resume */
    const char *out_dir;          /* --out-dir */
    unsigned outputs;             /* CLI_OUT_* bits from --outputs; 0 = the default set */
    cli_number score_thresh, nms_thresh, detections, mask_thresh, rpn_nms_thresh,
        rpn_pre_nms_top_n, rpn_post_nms_top_n, threads, seed, min_size, max_size;
    int window_set;
    double window_width, window_level;  /* --window W,L */
    cli_number hu_offset;
} cli_args;

/* Parses argv; on a usage error returns nonzero with a message in msg.
 * Free with cli_args_free either way. */
int cli_parse(int argc, char **argv, cli_args *args, char *msg, size_t msg_len);
void cli_args_free(cli_args *args);

/* Applies the numbers the user set over the model's defaults. */
void cli_apply_options(const cli_args *args, ct_options *opt);

extern const char *const CLI_USAGE;
extern const char *const CLI_HELP_TEXT;

#endif
