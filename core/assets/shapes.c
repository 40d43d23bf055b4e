// Generators of the default shapes. Every shape here is convex, so each generator only lists corners and
// triangles and sh_mesh_orient_convex fixes the winding afterwards: right by construction.
#include "shapes.h"

#include "mesh.h"

#include <math.h>

#define PI 3.14159265358979323846

static bool vertex(sh_mesh* m, double x, double y, double z)
{
    return sh_mesh_add_vertex(m, (float)x, (float)y, (float)z) >= 0;
}

static bool quad(sh_mesh* m, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    return sh_mesh_add_triangle(m, a, b, c) && sh_mesh_add_triangle(m, a, c, d);
}

bool sh_shape_box(sh_mesh* m, float sx, float sy, float sz)
{
    for (int i = 0; i < 8; i++)
        if (!vertex(m, (i & 1 ? 0.5 : -0.5) * sx, (i & 2 ? 0.5 : -0.5) * sy, (i & 4 ? 0.5 : -0.5) * sz))
            return false;
    // Corner i has bit 0 = +x, bit 1 = +y, bit 2 = +z.
    bool ok = quad(m, 0, 1, 3, 2) && quad(m, 4, 5, 7, 6) && quad(m, 0, 1, 5, 4) && quad(m, 2, 3, 7, 6) &&
              quad(m, 0, 2, 6, 4) && quad(m, 1, 3, 7, 5);
    sh_mesh_orient_convex(m);
    return ok;
}

static bool unit_vertex(sh_mesh* m, double x, double y, double z)
{
    double len = sqrt(x * x + y * y + z * z);
    return vertex(m, x / len, y / len, z / len);
}

bool sh_shape_icosphere(sh_mesh* m, float radius, int subdivisions)
{
    const double g = (1 + sqrt(5.0)) / 2; // golden ratio
    const double ico[12][3] = {{-1, g, 0},  {1, g, 0},  {-1, -g, 0}, {1, -g, 0}, {0, -1, g},  {0, 1, g},
                               {0, -1, -g}, {0, 1, -g}, {g, 0, -1},  {g, 0, 1},  {-g, 0, -1}, {-g, 0, 1}};
    const uint32_t tri[20][3] = {{0, 11, 5}, {0, 5, 1},  {0, 1, 7},   {0, 7, 10}, {0, 10, 11},
                                 {1, 5, 9},  {5, 11, 4}, {11, 10, 2}, {10, 7, 6}, {7, 1, 8},
                                 {3, 9, 4},  {3, 4, 2},  {3, 2, 6},   {3, 6, 8},  {3, 8, 9},
                                 {4, 9, 5},  {2, 4, 11}, {6, 2, 10},  {8, 6, 7},  {9, 8, 1}};
    for (int i = 0; i < 12; i++)
        if (!unit_vertex(m, ico[i][0], ico[i][1], ico[i][2]))
            return false;
    for (int i = 0; i < 20; i++)
        if (!sh_mesh_add_triangle(m, tri[i][0], tri[i][1], tri[i][2]))
            return false;
    for (int s = 0; s < subdivisions; s++)
    {
        // Each triangle gets its own three midpoints; a midpoint is computed identically from both
        // triangles sharing the edge (float addition commutes), so welding merges them exactly.
        sh_mesh next = {0};
        bool ok = true;
        for (int t = 0; t < m->triangle_count && ok; t++)
        {
            const uint32_t* v = m->indices + 3 * t;
            uint32_t base = (uint32_t)next.vertex_count;
            for (int k = 0; k < 3 && ok; k++)
                ok = vertex(&next, m->xyz[3 * v[k]], m->xyz[3 * v[k] + 1], m->xyz[3 * v[k] + 2]);
            for (int k = 0; k < 3 && ok; k++)
            {
                const float *a = m->xyz + 3 * v[k], *b = m->xyz + 3 * v[(k + 1) % 3];
                ok = unit_vertex(&next, (double)a[0] + b[0], (double)a[1] + b[1], (double)a[2] + b[2]);
            }
            // corners base+0..2, midpoints base+3 (0-1), base+4 (1-2), base+5 (2-0)
            ok = ok && sh_mesh_add_triangle(&next, base, base + 3, base + 5) &&
                 sh_mesh_add_triangle(&next, base + 1, base + 4, base + 3) &&
                 sh_mesh_add_triangle(&next, base + 2, base + 5, base + 4) &&
                 sh_mesh_add_triangle(&next, base + 3, base + 4, base + 5);
        }
        if (!ok || !sh_mesh_weld(&next))
        {
            sh_mesh_free(&next);
            return false;
        }
        sh_mesh_free(m);
        *m = next;
    }
    for (int i = 0; i < 3 * m->vertex_count; i++)
        m->xyz[i] *= radius;
    sh_mesh_orient_convex(m);
    return true;
}

bool sh_shape_pyramid(sh_mesh* m, float side, float height)
{
    double h = side / 2.0;
    bool ok = vertex(m, -h, -h, 0) && vertex(m, h, -h, 0) && vertex(m, h, h, 0) && vertex(m, -h, h, 0) &&
              vertex(m, 0, 0, height) && quad(m, 0, 1, 2, 3);
    for (uint32_t i = 0; i < 4 && ok; i++)
        ok = sh_mesh_add_triangle(m, i, (i + 1) % 4, 4);
    sh_mesh_orient_convex(m);
    return ok;
}

// Two rings of `segments` corners at z0 and z1 joined by quads (corners 0..n-1 and n..2n-1 from `base`).
static bool ring_band(sh_mesh* m, uint32_t lower, uint32_t upper, int segments)
{
    for (int i = 0; i < segments; i++)
    {
        uint32_t j = (uint32_t)((i + 1) % segments);
        if (!quad(m, lower + (uint32_t)i, lower + j, upper + j, upper + (uint32_t)i))
            return false;
    }
    return true;
}

static bool ring(sh_mesh* m, double radius, double z, int segments)
{
    for (int i = 0; i < segments; i++)
    {
        double a = 2 * PI * i / segments;
        if (!vertex(m, radius * cos(a), radius * sin(a), z))
            return false;
    }
    return true;
}

// A fan from a centre/pole vertex to a ring.
static bool fan(sh_mesh* m, uint32_t centre, uint32_t ring_first, int segments)
{
    for (int i = 0; i < segments; i++)
        if (!sh_mesh_add_triangle(m, centre, ring_first + (uint32_t)i,
                                  ring_first + (uint32_t)((i + 1) % segments)))
            return false;
    return true;
}

bool sh_shape_cylinder(sh_mesh* m, float radius, float height, int segments)
{
    uint32_t n = (uint32_t)segments;
    bool ok = ring(m, radius, -height / 2.0, segments) && ring(m, radius, height / 2.0, segments) &&
              vertex(m, 0, 0, -height / 2.0) && vertex(m, 0, 0, height / 2.0) &&
              ring_band(m, 0, n, segments) && fan(m, 2 * n, 0, segments) && fan(m, 2 * n + 1, n, segments);
    sh_mesh_orient_convex(m);
    return ok;
}

bool sh_shape_capsule(sh_mesh* m, float radius, float length, int segments, int rings)
{
    // Rings from the top: latitude i·90°/rings below the top pole for i = 1..rings on the upper cap (the
    // last is the equator at z = +length/2), then mirrored on the lower cap.
    uint32_t n = (uint32_t)segments;
    bool ok = vertex(m, 0, 0, length / 2.0 + radius);
    for (int i = 1; i <= rings && ok; i++)
    {
        double lat = PI / 2 * i / rings;
        ok = ring(m, radius * sin(lat), length / 2.0 + radius * cos(lat), segments);
    }
    for (int i = rings; i >= 1 && ok; i--)
    {
        double lat = PI / 2 * i / rings;
        ok = ring(m, radius * sin(lat), -length / 2.0 - radius * cos(lat), segments);
    }
    uint32_t bottom = (uint32_t)m->vertex_count;
    ok = ok && vertex(m, 0, 0, -length / 2.0 - radius) && fan(m, 0, 1, segments);
    for (uint32_t r = 0; ok && r + 1 < 2 * (uint32_t)rings; r++)
        ok = ring_band(m, 1 + r * n, 1 + (r + 1) * n, segments);
    ok = ok && fan(m, bottom, bottom - n, segments);
    sh_mesh_orient_convex(m);
    return ok;
}

bool sh_shape_wedge(sh_mesh* m, float length, float width, float height)
{
    double x = length / 2.0, y = width / 2.0, z = height / 2.0;
    // 0-3: bottom rectangle, 4-5: top edge at the back (x = +length/2).
    bool ok = vertex(m, -x, -y, -z) && vertex(m, x, -y, -z) && vertex(m, x, y, -z) && vertex(m, -x, y, -z) &&
              vertex(m, x, -y, z) && vertex(m, x, y, z) && quad(m, 0, 1, 2, 3) && quad(m, 1, 2, 5, 4) &&
              quad(m, 0, 3, 5, 4) && sh_mesh_add_triangle(m, 0, 1, 4) && sh_mesh_add_triangle(m, 3, 2, 5);
    sh_mesh_orient_convex(m);
    return ok;
}

bool sh_shape_tetrahedron(sh_mesh* m, float edge)
{
    double h = edge * sqrt(2.0 / 3.0), r = edge / sqrt(3.0);
    bool ok = true;
    for (int i = 0; i < 3 && ok; i++)
    {
        double a = PI / 2 + 2 * PI * i / 3;
        ok = vertex(m, r * cos(a), r * sin(a), -h / 4);
    }
    ok = ok && vertex(m, 0, 0, 3 * h / 4) && sh_mesh_add_triangle(m, 0, 1, 2) &&
         sh_mesh_add_triangle(m, 0, 1, 3) && sh_mesh_add_triangle(m, 1, 2, 3) &&
         sh_mesh_add_triangle(m, 2, 0, 3);
    sh_mesh_orient_convex(m);
    return ok;
}
