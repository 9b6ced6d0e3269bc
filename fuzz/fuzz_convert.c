/* libFuzzer target: the whole converter (ctconvert without its command line)
 * on any bytes, as given and with the ZIP record CRCs repaired: checkpoint,
 * config inference, tensor checks and the model-file writer. A failure must
 * come with a message and leave no file behind; a file it writes must pass
 * the model-file reader and load as a model. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "ctinfer.h"
#include "infer.h"
#include "model/modelfile.h"
#include "repair.h"
#include "scratch.h"
#include "writer.h"

static void check_written(const char *path) {
    ct_error err;
    ct_modelfile *mf;
    if (ct_modelfile_open(path, &mf, &err) != CT_OK) abort();   /* the converter wrote a file the reader refuses */
    ct_modelfile_close(mf);
    ct_model *model;
    if (ct_model_load(path, &model, &err) != CT_OK) abort();
    ct_model_free(model);
    unlink(path);
}

static void convert(const uint8_t *data, size_t size) {
    const char *out = fuzz_scratch_path("model.bin");
    ct_checkpoint ck;
    ct_error err;
    err.message[0] = '\0';
    ct_status st = ct_checkpoint_open_memory(&ck, data, size, &err);
    if (st == CT_OK) {
        ct_convert_options opt;
        ct_convert_options_init(&opt);
        ctm_config cfg;
        ct_convert_notes notes = {0};
        st = ct_infer_config(&ck, &opt, &cfg, &notes, &err);
        if (st == CT_OK) st = ct_writer_write(&ck, &cfg, CTM_DTYPE_F32, out, &err);
        ct_checkpoint_close(&ck);
    }
    if (st == CT_OK) check_written(out);
    else if (!err.message[0] || fuzz_scratch_entries() != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    convert(data, size);
    if (!ct_zip_detect(data, size)) return 0;
    uint8_t *repaired = malloc(size);
    memcpy(repaired, data, size);
    fuzz_repair_zip(repaired, size);
    if (memcmp(repaired, data, size) != 0) convert(repaired, size);
    free(repaired);
    return 0;
}
