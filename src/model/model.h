/* ct_model: the mapped model file plus the prepared network built from it. */
#ifndef CT_MODEL_MODEL_H
#define CT_MODEL_MODEL_H

#include "ctinfer.h"
#include "net/network.h"

struct ct_model {
    struct ct_modelfile *file;   /* mapped, validated file; owns the tensor bytes */
    float **owned;               /* weights prepared at load (folded, widened) */
    int num_owned, cap_owned;
    ct_network net;
    ct_model_info info;
};

#endif
