/* ct_model: the prepared network built from a model file. The file is mapped
 * and validated at load, every layer prepared into the model's own memory,
 * and the mapping released. */
#ifndef CT_MODEL_MODEL_H
#define CT_MODEL_MODEL_H

#include "ctinfer.h"
#include "net/network.h"
#include "util/arena.h"

struct ct_model {
    ct_arena memory;             /* the prepared weights (folded, widened, packed) */
    ct_network net;
    ct_model_info info;
};

#endif
