#pragma once
// Generators of the default shapes (private to core/assets; the manifest in assets/default.txt names
// them, docs/assets.md documents each). All produce closed meshes wound CCW from outside, +Z up, centred
// on the bounding box centre except the pyramid (origin at its base centre). Each appends to an empty
// mesh and returns false on out of memory.

#include "simhost/assets.h"

bool sh_shape_box(sh_mesh* m, float sx, float sy, float sz);
// Icosahedron subdivided `subdivisions` times, projected on the sphere: 10·4^s + 2 vertices
// (s = 2: 162, s = 3: 642).
bool sh_shape_icosphere(sh_mesh* m, float radius, int subdivisions);
// Square base side × side at z = 0, apex at (0, 0, height).
bool sh_shape_pyramid(sh_mesh* m, float side, float height);
// Axis along Z, `segments` around.
bool sh_shape_cylinder(sh_mesh* m, float radius, float height, int segments);
// Cylinder of `length` between two hemispheres (total height length + 2·radius), axis along Z;
// `rings` latitude rings per hemisphere.
bool sh_shape_capsule(sh_mesh* m, float radius, float length, int segments, int rings);
// Ramp (a right-triangle prism): length along X, width along Y; the bottom at z = -height/2, a vertical
// back at x = +length/2 and the slope rising from the bottom edge at x = -length/2 to z = +height/2.
bool sh_shape_wedge(sh_mesh* m, float length, float width, float height);
// Regular tetrahedron of the given edge, centroid at the origin, one face down (normal −Z).
bool sh_shape_tetrahedron(sh_mesh* m, float edge);
