/* Parsing and validation of ctinfer's arguments: every value is checked for
 * type and range here, so the run itself sees only sane options. */
#include "cli/args.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const CLI_USAGE =
    "usage: ctinfer MODEL.bin IMAGE [options]\n"
    "       ctinfer --info MODEL.bin\n"
    "       ctinfer decode IMAGE OUT.npy\n";

const char *const CLI_HELP_TEXT =
    "Runs a lesion-segmentation Mask R-CNN or the COVID-CT-Mask-Net classifier\n"
    "(converted with ctconvert) on one CT slice (PNG or DICOM).\n"
    "\n"
    "Output:\n"
    "  --json                  one JSON object on stdout instead of the summary\n"
    "  --masks FILE.npy        pasted mask logits, float32 [D,H,W] (segmentation)\n"
    "  --mask FILE.png         union of the detections' masks (logit > mask threshold)\n"
    "  --dump-input FILE.npy   the normalized, resized, padded tensor the backbone sees\n"
    "Settings (defaults come from the model file):\n"
    "  --score-thresh X        keep detections with score > X\n"
    "  --nms-thresh X          box NMS IoU threshold, in [0,1]\n"
    "  --detections N          at most N detections (classifiers: must equal the RoI batch)\n"
    "  --mask-thresh X         mask logit threshold for --mask\n"
    "  --rpn-nms-thresh X      RPN NMS IoU threshold, in [0,1]\n"
    "  --rpn-pre-nms-top-n N   RPN proposals per level before NMS\n"
    "  --rpn-post-nms-top-n N  RPN proposals after NMS\n"
    "  --min-size N --max-size N  resize targets (512 / 1024)\n"
    "  --seed N                classifier replication seed (default 0; deterministic)\n"
    "  --threads N             worker threads (0 = one per core)\n"
    "Images:\n"
    "  --window W,L            CT window for DICOM and 16-bit PNG (default 1500,-600)\n"
    "  --hu-offset N           16-bit PNG: stored value minus N is HU (default 1024)\n"
    "Other:\n"
    "  --info                  describe the model file and exit\n"
    "  --help, --version\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

typedef struct {
    const char *name;
    size_t offset;     /* of the cli_number in cli_args */
    double lo, hi;
    int integer;
} number_option;


static const number_option NUMBER_OPTIONS[] = {
    {"--score-thresh", offsetof(cli_args, score_thresh), -1e30, 1e30, 0},
    {"--nms-thresh", offsetof(cli_args, nms_thresh), 0, 1, 0},
    {"--detections", offsetof(cli_args, detections), 1, 100000, 1},
    {"--mask-thresh", offsetof(cli_args, mask_thresh), -1e30, 1e30, 0},
    {"--rpn-nms-thresh", offsetof(cli_args, rpn_nms_thresh), 0, 1, 0},
    {"--rpn-pre-nms-top-n", offsetof(cli_args, rpn_pre_nms_top_n), 1, 1000000, 1},
    {"--rpn-post-nms-top-n", offsetof(cli_args, rpn_post_nms_top_n), 1, 1000000, 1},
    {"--threads", offsetof(cli_args, threads), 0, 1024, 1},
    {"--seed", offsetof(cli_args, seed), 0, 4294967295.0, 1},
    {"--min-size", offsetof(cli_args, min_size), 1, 8192, 1},
    {"--max-size", offsetof(cli_args, max_size), 1, 8192, 1},
    {"--hu-offset", offsetof(cli_args, hu_offset), -1e9, 1e9, 0},
};

static int parse_double(const char *s, double *v) {
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end != s && *end == '\0' && errno == 0 && isfinite(*v);
}

static int parse_number(const number_option *o, const char *text, cli_args *args, char *msg,
                        size_t msg_len) {
    double v;
    if (!parse_double(text, &v) || v < o->lo || v > o->hi || (o->integer && v != floor(v))) {
        snprintf(msg, msg_len, "%s needs %s in [%g, %g], not '%s'", o->name,
                 o->integer ? "an integer" : "a number", o->lo, o->hi, text);
        return 1;
    }
    cli_number *n = (cli_number *)((char *)args + o->offset);
    n->set = 1;
    n->value = v;
    return 0;
}

static int parse_window(const char *text, cli_args *args, char *msg, size_t msg_len) {
    char buf[64];
    const char *comma = strchr(text, ',');
    if (!comma || (size_t)(comma - text) >= sizeof buf) goto bad;
    memcpy(buf, text, (size_t)(comma - text));
    buf[comma - text] = '\0';
    if (!parse_double(buf, &args->window_width) || !parse_double(comma + 1, &args->window_level) ||
        args->window_width <= 0)
        goto bad;
    args->window_set = 1;
    return 0;
bad:
    snprintf(msg, msg_len, "--window needs WIDTH,LEVEL with WIDTH > 0, not '%s'", text);
    return 1;
}

/* Options that take a file name. */
static const char **path_option(cli_args *args, const char *name) {
    if (!strcmp(name, "--masks")) return &args->masks_npy;
    if (!strcmp(name, "--mask")) return &args->mask_png;
    if (!strcmp(name, "--overlay")) return &args->overlay_png;
    if (!strcmp(name, "--dump-input")) return &args->dump_input;
    return NULL;
}

int cli_parse(int argc, char **argv, cli_args *args, char *msg, size_t msg_len) {
    memset(args, 0, sizeof *args);
    const char *positional[3];
    int npos = 0, info = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            args->command = CLI_HELP;
            return 0;
        }
        if (!strcmp(a, "--version")) {
            args->command = CLI_VERSION;
            return 0;
        }
        if (!strcmp(a, "--json")) { args->json = 1; continue; }
        if (!strcmp(a, "--info")) { info = 1; continue; }
        if (a[0] == '-' && a[1] == '-') {
            const char *value = i + 1 < argc ? argv[i + 1] : NULL;
            const char **path = path_option(args, a);
            const number_option *num = NULL;
            for (size_t k = 0; k < sizeof NUMBER_OPTIONS / sizeof *NUMBER_OPTIONS; k++)
                if (!strcmp(a, NUMBER_OPTIONS[k].name)) num = &NUMBER_OPTIONS[k];
            if (!path && !num && strcmp(a, "--window") != 0) {
                snprintf(msg, msg_len, "unknown option '%s'", a);
                return 1;
            }
            if (!value) {
                snprintf(msg, msg_len, "%s needs a value", a);
                return 1;
            }
            i++;
            if (path) *path = value;
            else if (num && parse_number(num, value, args, msg, msg_len)) return 1;
            else if (!num && parse_window(value, args, msg, msg_len)) return 1;
            continue;
        }
        if (npos == 3) {
            snprintf(msg, msg_len, "unexpected argument '%s'", a);
            return 1;
        }
        positional[npos++] = a;
    }
    if (info) {
        if (npos != 1) {
            snprintf(msg, msg_len, "--info takes exactly one MODEL.bin");
            return 1;
        }
        args->command = CLI_INFO;
        args->model_path = positional[0];
        return 0;
    }
    if (npos >= 1 && !strcmp(positional[0], "decode")) {
        if (npos != 3) {
            snprintf(msg, msg_len, "decode takes IMAGE OUT.npy");
            return 1;
        }
        args->command = CLI_DECODE;
        args->image_path = positional[1];
        args->decode_out = positional[2];
        return 0;
    }
    if (npos != 2) {
        snprintf(msg, msg_len, npos < 2 ? "missing %s" : "too many arguments",
                 npos == 0 ? "MODEL.bin and IMAGE" : "IMAGE");
        return 1;
    }
    args->command = CLI_RUN;
    args->model_path = positional[0];
    args->image_path = positional[1];
    return 0;
}

void cli_apply_options(const cli_args *a, ct_options *o) {
    if (a->score_thresh.set) o->score_thresh = a->score_thresh.value;
    if (a->nms_thresh.set) o->nms_thresh = a->nms_thresh.value;
    if (a->detections.set) o->detections = (int)a->detections.value;
    if (a->mask_thresh.set) o->mask_thresh = a->mask_thresh.value;
    if (a->rpn_nms_thresh.set) o->rpn_nms_thresh = a->rpn_nms_thresh.value;
    if (a->rpn_pre_nms_top_n.set) o->rpn_pre_nms_top_n = (int)a->rpn_pre_nms_top_n.value;
    if (a->rpn_post_nms_top_n.set) o->rpn_post_nms_top_n = (int)a->rpn_post_nms_top_n.value;
    if (a->threads.set) o->threads = (int)a->threads.value;
    if (a->seed.set) o->seed = (uint32_t)a->seed.value;
    if (a->min_size.set) o->min_size = (int)a->min_size.value;
    if (a->max_size.set) o->max_size = (int)a->max_size.value;
}
