/* tools/bench (placeholder until the pipeline lands). */
#include <stdio.h>
int main(void) { return 0; }
