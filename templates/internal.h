${banner}
#ifndef ${NAME}_INTERNAL_H
#define ${NAME}_INTERNAL_H

/*
 * Internal, not part of the API: the declarations ${name}.c and its parts
 * ${name}_part1.c ... ${name}_part${count}.c share (the code was split over
 * ${count_files} translation units so that each compiles in bounded memory;
 * ${NAME}_SOURCE_FILES in ${name}.h lists them). Applications include ${name}.h.
 * Every name here has external linkage only because another of these files
 * uses it; all start with ${name}_layer<N>_: the weights and biases of layer N
 * and the step functions of the step that starts at layer N.
 */
#include "${name}.h"

#if !defined(${NAME}_GENERATION) || (${NAME}_GENERATION != ${generation})
#error "${mismatch}"
#endif

/* Weights and biases, defined in ${name}.c. */
${weights}

/* Step functions called from another of the files. */
${functions}

#endif /* ${NAME}_INTERNAL_H */
