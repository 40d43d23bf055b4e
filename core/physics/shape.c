// Shapes: a body's hull moved so its centroid (the COM) is the local origin — done once per distinct
// source hull and cached per world, so a thousand cubes share one copy.
#include "world.h"

const sh_hull* sh_shape_get(sh_world* w, const sh_hull* source, sh_error* err)
{
    for (int i = 0; i < w->shapes.count; i++)
        if (w->shapes.data[i].source == source)
            return w->shapes.data[i].centred;
    if (!SH_ARRAY_RESERVE(w->shapes, w->shapes.count + 1))
        return sh_error_set(err, "out of memory"), NULL;
    sh_hull* c = sh_hull_clone_shifted(source, source->mass.centroid);
    if (c == NULL)
        return sh_error_set(err, "out of memory"), NULL;
    w->shapes.data[w->shapes.count++] = (sh_shape){source, c};
    return c;
}

void sh_shapes_free(sh_world* w)
{
    for (int i = 0; i < w->shapes.count; i++)
        sh_hull_free(w->shapes.data[i].centred);
    SH_ARRAY_FREE(w->shapes);
}
