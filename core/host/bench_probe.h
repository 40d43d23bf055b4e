#pragma once
// simhost bench --probe K: a tower's state row by row over time, to find where a pile starts to lose its
// footing (docs/physics.md, "Why the big pyramid falls"). Reads only the public physics API.
#include "simhost/physics.h"

#include <stdio.h>

typedef struct sh_bench_probe sh_bench_probe;

// A probe over count bodies (ids) with their start positions; a body's row is floor(start z), the
// bench pyramid's rows being 1 m cubes resting on z = 0. NULL when out of memory.
sh_bench_probe* sh_bench_probe_start(const sh_world* w, const sh_body_id* ids, const float (*start)[3],
                                     int count);
// After every step: counts the bodies whose touching-point count changed (manifold churn).
void sh_bench_probe_step(sh_bench_probe* p, const sh_world* w);
// One line per watched row (bottom, second, quarters, top) and one for the whole tower, to out.
void sh_bench_probe_print(sh_bench_probe* p, const sh_world* w, int step, FILE* out);
void sh_bench_probe_free(sh_bench_probe* p);
// simhost bench --lean K: one line after a step: over the count bodies (start positions), the largest
// displacement across the wall (y), lean about x and twist about z, and body `top`'s y. Stateless.
void sh_bench_probe_lean(const sh_world* w, const sh_body_id* ids, const float (*start)[3], int count,
                         int top, int step, FILE* out);
