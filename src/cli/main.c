/* ctinfer command-line interface (placeholder until the pipeline lands). */
#include "ctinfer.h"
#include <stdio.h>
int main(void) { printf("ctinfer %s\n", CTINFER_VERSION); return 0; }
