#pragma once
// Shared by the importer fuzz targets: what every mesh an importer accepts must satisfy (assets.h): at
// least one triangle, finite coordinates, every index names a vertex.
#include "simhost/assets.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fuzz_require(int ok, const char* what)
{
    if (!ok)
    {
        fprintf(stderr, "fuzz: %s\n", what);
        abort();
    }
}

static void check_mesh(const sh_mesh* m)
{
    fuzz_require(m->triangle_count > 0, "accepted a mesh without triangles");
    for (int i = 0; i < 3 * m->vertex_count; i++)
        fuzz_require(isfinite(m->xyz[i]), "accepted a non-finite coordinate");
    for (int i = 0; i < 3 * m->triangle_count; i++)
        fuzz_require(m->indices[i] < (uint32_t)m->vertex_count, "an index past the vertices");
}

// The importers need data[size] == '\0' (import.h).
static char* fuzz_terminated_copy(const uint8_t* data, size_t size)
{
    char* s = malloc(size + 1);
    if (s != NULL)
    {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}
