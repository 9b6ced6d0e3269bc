/* Command-line parsing for ctinfer. */
#ifndef CT_CLI_ARGS_H
#define CT_CLI_ARGS_H

#include "ctinfer.h"

typedef enum { CLI_RUN, CLI_INFO, CLI_DECODE, CLI_HELP, CLI_VERSION } cli_command;

/* An option the user may set; unset ones keep the model's defaults. */
typedef struct {
    int set;
    double value;
} cli_number;

typedef struct {
    cli_command command;
    const char *model_path;
    const char *image_path;
    const char *decode_out;       /* decode: OUT.npy */
    int json;
    const char *masks_npy;        /* --masks */
    const char *mask_png;         /* --mask */
    const char *overlay_png;      /* --overlay */
    const char *dump_input;       /* --dump-input */
    cli_number score_thresh, nms_thresh, detections, mask_thresh, rpn_nms_thresh,
        rpn_pre_nms_top_n, rpn_post_nms_top_n, threads, seed, min_size, max_size;
    int window_set;
    double window_width, window_level;  /* --window W,L */
    cli_number hu_offset;
} cli_args;

/* Parses argv; on a usage error returns nonzero with a message in msg. */
int cli_parse(int argc, char **argv, cli_args *args, char *msg, size_t msg_len);

/* Applies the numbers the user set over the model's defaults. */
void cli_apply_options(const cli_args *args, ct_options *opt);

extern const char *const CLI_USAGE;
extern const char *const CLI_HELP_TEXT;

#endif
