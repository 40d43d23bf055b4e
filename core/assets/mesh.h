#pragma once
// Building sh_mesh values (private to core/assets): append vertices and triangles, merge exact duplicates.

#include "simhost/assets.h"

// Appends a vertex; returns its index or -1 on out of memory.
int sh_mesh_add_vertex(sh_mesh* m, float x, float y, float z);
// Appends a triangle; false on out of memory.
bool sh_mesh_add_triangle(sh_mesh* m, uint32_t a, uint32_t b, uint32_t c);
// Flips every triangle whose normal points towards the vertex mean. Only for convex shapes, where the mean
// is inside: the generators use it so their winding is right by construction, not by care.
void sh_mesh_orient_convex(sh_mesh* m);
// Collects the distinct vertex positions (exact float equality) into a new array of *count points
// (caller frees with sh_free(p, (size_t)(*count > 0 ? *count : 1) * 3 * sizeof(float))). NULL on out of
// memory.
float* sh_mesh_unique_points(const sh_mesh* m, int* count);
// Merges vertices at exactly equal positions and remaps the triangles; false on out of memory.
bool sh_mesh_weld(sh_mesh* m);
