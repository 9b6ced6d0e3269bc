/* libFuzzer target: the model-file reader and loader on any bytes, as given
 * and with both checksums repaired (so that mutations reach the layout,
 * config, table and architecture checks). A failure must come with a
 * message. A file the reader accepts must have every tensor byte mapped;
 * when its weights are also finite it must load, take a session with its
 * own default settings, and run a small slice (resized to at most 48 pixels)
 * to its end or to an error with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctinfer.h"
#include "model/finite.h"
#include "model/modelfile.h"
#include "repair.h"
#include "scratch.h"
#include "util/crc32.h"

#define SLICE_W 24
#define SLICE_H 20
#define RUN_MIN_SIZE 32   /* the run's resize targets are capped: a run stays around a millisecond */
#define RUN_MAX_SIZE 48

static void run_model(const uint8_t *data, size_t size) {
    const char *path = fuzz_scratch_path("model.bin");
    fuzz_write_file(path, data, size);
    ct_error err;
    ct_model *model;
    if (ct_model_load(path, &model, &err) != CT_OK) abort();   /* the reader accepted it */
    ct_options opt;
    ct_options_default(model, &opt);
    ct_session *s;
    if (ct_session_new(model, &opt, &s, &err) != CT_OK) abort();   /* its own defaults are refused */
    ct_session_free(s);
    opt.threads = 1;
    if (opt.min_size > RUN_MIN_SIZE) opt.min_size = RUN_MIN_SIZE;
    if (opt.max_size > RUN_MAX_SIZE) opt.max_size = RUN_MAX_SIZE;   /* still >= min_size */
    if (ct_session_new(model, &opt, &s, &err) != CT_OK) abort();
    static uint8_t pixels[SLICE_H * SLICE_W];
    for (int i = 0; i < SLICE_H * SLICE_W; i++) pixels[i] = (uint8_t)(i * 37);
    ct_image img = {SLICE_W, SLICE_H, 1, pixels};
    ct_result res;
    err.message[0] = '\0';
    if (ct_run(s, &img, &res, &err) == CT_OK) ct_result_free(&res);
    else if (!err.message[0]) abort();
    ct_session_free(s);
    ct_model_free(model);
}

/* Opens data[0, size) (64-byte aligned); with run, a readable model is also run. */
static void open_model(const uint8_t *data, size_t size, int run) {
    ct_modelfile *mf;
    ct_error err;
    err.message[0] = '\0';
    if (ct_modelfile_open_memory(data, size, &mf, &err) != CT_OK) {
        if (!err.message[0]) abort();
        return;
    }
    uint32_t crc = 0;
    for (size_t i = 0; i < ct_modelfile_count(mf); i++) {
        const ctm_tensor_entry *e = ct_modelfile_entry(mf, i);
        crc = ct_crc32(crc, ct_modelfile_data(mf, e), (size_t)e->nbytes);
    }
    (void)crc;
    ct_status finite = ct_modelfile_check_finite(mf, &err);
    ct_modelfile_close(mf);
    if (finite == CT_OK && run) run_model(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = aligned_alloc(CTM_ALIGN, (size + CTM_ALIGN) / CTM_ALIGN * CTM_ALIGN);
    memcpy(copy, data, size);
    open_model(copy, size, 0);
    fuzz_repair_model(copy, size);
    open_model(copy, size, 1);
    free(copy);
    return 0;
}
