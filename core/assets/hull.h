#pragma once
// Private to core/assets: allocating an empty hull block (used by the builder and by the DB loader).

#include "simhost/hull.h"

// One zeroed allocation holding the header and all arrays, pointers set, counts filled; NULL on OOM.
sh_hull* sh_hull_alloc(int vertex_count, int face_count, int edge_count, int index_count);
