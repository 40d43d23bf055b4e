// Narrow phase (core/physics/manifold.c): SAT + clipping on hand-built hulls with known answers,
// feature-id stability, argument symmetry, a random fuzz with independent checks, and timings
// (printed, never asserted: the machine is shared).

#include "manifold.h"
#include "shapes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_checks, g_failures;

#define CHECK(cond, ...)                                                                                     \
    do                                                                                                       \
    {                                                                                                        \
        ++g_checks;                                                                                          \
        if (!(cond))                                                                                         \
        {                                                                                                    \
            ++g_failures;                                                                                    \
            fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond);                                       \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fputc('\n', stderr);                                                                             \
        }                                                                                                    \
    } while (0)

#define NEAR(a, b, tol) (fabs((double)(a) - (double)(b)) <= (tol))

// ---------------------------------------------------------------------------------------------
// Hand-built hulls. Faces are given as CCW (from outside) vertex lists; normals by Newell's
// method, offsets from the face centre, edges derived from the directed face boundaries: a face
// lies to the left of its own CCW edges, so for the edge v0→v1 with v0 < v1 the face walking
// v0→v1 is face_a and the face walking v1→v0 is face_b.

typedef struct test_hull
{
    sh_hull h;
    vec3 verts[256];
    sh_hull_face faces[256];
    sh_hull_edge edges[512];
    uint16_t indices[1024];
} test_hull;

static test_hull* hull_from_faces(const float (*v)[3], int nv, const int* face_sizes, const int* idx, int nf)
{
    test_hull* t = calloc(1, sizeof *t);
    t->h.vertex_count = nv;
    t->h.face_count = nf;
    t->h.vertices = t->verts;
    t->h.faces = t->faces;
    t->h.edges = t->edges;
    t->h.face_indices = t->indices;
    for (int i = 0; i < nv; ++i)
        glm_vec3_copy((float*)v[i], t->verts[i]);
    int at = 0;
    for (int f = 0; f < nf; ++f)
    {
        int n = face_sizes[f];
        t->faces[f].first = (uint16_t)at;
        t->faces[f].count = (uint16_t)n;
        vec3 nrm = {0, 0, 0}, centre = {0, 0, 0};
        for (int k = 0; k < n; ++k)
        {
            const float* p = v[idx[at + k]];
            const float* q = v[idx[at + (k + 1) % n]];
            nrm[0] += (p[1] - q[1]) * (p[2] + q[2]);
            nrm[1] += (p[2] - q[2]) * (p[0] + q[0]);
            nrm[2] += (p[0] - q[0]) * (p[1] + q[1]);
            glm_vec3_add(centre, (float*)p, centre);
            t->indices[at + k] = (uint16_t)idx[at + k];
        }
        glm_vec3_normalize(nrm);
        glm_vec3_scale(centre, 1.0f / (float)n, centre);
        glm_vec3_copy(nrm, t->faces[f].normal);
        t->faces[f].offset = glm_vec3_dot(nrm, centre);
        at += n;
    }
    t->h.index_count = at;
    // Edges: first pass creates (v0 < v1) from the face walking v0→v1, second fills face_b.
    int ne = 0;
    at = 0;
    for (int f = 0; f < nf; ++f)
    {
        int n = face_sizes[f];
        for (int k = 0; k < n; ++k)
        {
            int a = idx[at + k], b = idx[at + (k + 1) % n];
            if (a < b)
                t->edges[ne++] = (sh_hull_edge){(uint16_t)a, (uint16_t)b, (uint16_t)f, 0xFFFF};
        }
        at += n;
    }
    at = 0;
    for (int f = 0; f < nf; ++f)
    {
        int n = face_sizes[f];
        for (int k = 0; k < n; ++k)
        {
            int a = idx[at + k], b = idx[at + (k + 1) % n];
            if (a > b)
                for (int e = 0; e < ne; ++e)
                    if (t->edges[e].v0 == b && t->edges[e].v1 == a)
                        t->edges[e].face_b = (uint16_t)f;
        }
        at += n;
    }
    for (int e = 0; e < ne; ++e)
        if (t->edges[e].face_b == 0xFFFF)
        {
            fprintf(stderr, "test hull: open edge %d\n", e);
            abort();
        }
    t->h.edge_count = ne;
    for (int i = 0; i < nv; ++i)
        for (int c = 0; c < 3; ++c)
        {
            t->h.aabb_min[c] = i == 0 || v[i][c] < t->h.aabb_min[c] ? v[i][c] : t->h.aabb_min[c];
            t->h.aabb_max[c] = i == 0 || v[i][c] > t->h.aabb_max[c] ? v[i][c] : t->h.aabb_max[c];
        }
    return t;
}

static test_hull* make_box(float hx, float hy, float hz)
{
    float p[24];
    sh_box_corners(hx, hy, hz, p);
    static const int sizes[6] = {4, 4, 4, 4, 4, 4};
    // CCW seen from outside: -x, +x, -y, +y, -z, +z.
    static const int idx[24] = {0, 4, 6, 2, 1, 3, 7, 5, 0, 1, 5, 4, 2, 6, 7, 3, 0, 2, 3, 1, 4, 5, 7, 6};
    return hull_from_faces((const float(*)[3])p, 8, sizes, idx, 6);
}

// Regular n-gon prism of radius r, half height hz.
static test_hull* make_prism(int n, float r, float hz)
{
    float v[256][3];
    int sizes[130], idx[1024];
    if (n < 3 || n > 126)
        abort();
    for (int k = 0; k < n; ++k)
    {
        float a = 2.0f * (float)M_PI * (float)k / (float)n;
        v[k][0] = v[n + k][0] = r * cosf(a);
        v[k][1] = v[n + k][1] = r * sinf(a);
        v[k][2] = -hz;
        v[n + k][2] = hz;
    }
    int at = 0, f = 0;
    sizes[f++] = n; // bottom: CCW from below = clockwise from above
    for (int k = 0; k < n; ++k)
        idx[at++] = n - 1 - k;
    sizes[f++] = n;
    for (int k = 0; k < n; ++k)
        idx[at++] = n + k;
    for (int k = 0; k < n; ++k)
    {
        int k1 = (k + 1) % n;
        sizes[f++] = 4;
        idx[at++] = k;
        idx[at++] = k1;
        idx[at++] = n + k1;
        idx[at++] = n + k;
    }
    return hull_from_faces((const float(*)[3])v, 2 * n, sizes, idx, f);
}

// Tetrahedron with its apex at the bottom, centred on its centroid.
static test_hull* make_tet(void)
{
    float v[4][3] = {{0, 0, 0}, {1, 0, 1}, {-0.5f, 0.8660254f, 1}, {-0.5f, -0.8660254f, 1}};
    for (int i = 0; i < 4; ++i)
        v[i][2] -= 0.75f; // centroid z = 3/4
    static const int sizes[4] = {3, 3, 3, 3};
    static const int idx[12] = {1, 2, 3, 0, 2, 1, 0, 3, 2, 0, 1, 3};
    return hull_from_faces((const float(*)[3])v, 4, sizes, idx, 4);
}

static sh_transform xf(float x, float y, float z, float angle, float ax, float ay, float az)
{
    sh_transform t;
    vec3 axis = {ax, ay, az};
    glm_quatv(t.q, angle, axis);
    t.p[0] = x;
    t.p[1] = y;
    t.p[2] = z;
    return t;
}

static bool finite3(const float* v)
{
    return isfinite(v[0]) && isfinite(v[1]) && isfinite(v[2]);
}

// Largest plane distance of a world point to hull h at transform t (<= 0 inside, 0 on the surface).
static float hull_distance(const sh_hull* h, const sh_transform* t, const float* world)
{
    vec3 local;
    sh_transform_inv_point(t, world, local);
    float best = -INFINITY;
    for (int f = 0; f < h->face_count; ++f)
    {
        float d = glm_vec3_dot(h->faces[f].normal, local) - h->faces[f].offset;
        best = d > best ? d : best;
    }
    return best;
}

// Generic checks every manifold must pass.
static void check_manifold(const char* name, const sh_hull* a, const sh_transform* ta, const sh_hull* b,
                           const sh_transform* tb, float spec, const sh_manifold* m, float tol)
{
    CHECK(m->point_count >= 0 && m->point_count <= 4, "%s: count %d", name, m->point_count);
    CHECK(finite3(m->normal), "%s: normal not finite", name);
    if (m->point_count == 0)
        return;
    float len = glm_vec3_norm((float*)m->normal);
    CHECK(NEAR(len, 1.0, 1e-4), "%s: |normal| = %g", name, len);
    for (int k = 0; k < m->point_count; ++k)
    {
        const sh_manifold_point* p = &m->points[k];
        CHECK(finite3(p->point_a) && finite3(p->point_b) && isfinite(p->separation),
              "%s: point %d not finite", name, k);
        vec3 d;
        glm_vec3_sub((float*)p->point_b, (float*)p->point_a, d);
        float s = glm_vec3_dot(d, (float*)m->normal);
        CHECK(NEAR(s, p->separation, tol), "%s: point %d separation %g, (pb - pa)·n = %g", name, k,
              p->separation, s);
        CHECK(p->separation < spec + tol, "%s: point %d separation %g beyond speculative %g", name, k,
              p->separation, spec);
        float da = fabsf(hull_distance(a, ta, p->point_a));
        float db = fabsf(hull_distance(b, tb, p->point_b));
        CHECK(da <= tol, "%s: point_a %d is %g off A's surface", name, k, da);
        CHECK(db <= tol, "%s: point_b %d is %g off B's surface", name, k, db);
        for (int j = 0; j < k; ++j)
            CHECK(m->points[j].id != p->id, "%s: points %d and %d share id %08x", name, j, k, p->id);
    }
}

static float min_separation(const sh_manifold* m)
{
    float s = INFINITY;
    for (int k = 0; k < m->point_count; ++k)
        s = fminf(s, m->points[k].separation);
    return s;
}

// ---------------------------------------------------------------------------------------------

static void test_box_on_ground(void)
{
    test_hull* ground = make_box(10, 10, 1);
    test_hull* box = make_box(0.5f, 0.5f, 0.5f);
    sh_transform tg = xf(0, 0, -1, 0, 0, 0, 1);
    sh_transform tb = xf(2, 3, 0.49f, 0, 0, 0, 1);
    sh_manifold m;
    int n = sh_collide_hulls(&ground->h, &tg, &box->h, &tb, 0.02f, NULL, &m);
    check_manifold("box on ground", &ground->h, &tg, &box->h, &tb, 0.02f, &m, 1e-4f);
    CHECK(n == 4, "box on ground: %d points", n);
    CHECK(NEAR(m.normal[0], 0, 1e-6) && NEAR(m.normal[1], 0, 1e-6) && NEAR(m.normal[2], 1, 1e-6),
          "box on ground: normal %g %g %g", m.normal[0], m.normal[1], m.normal[2]);
    int corners = 0;
    for (int k = 0; k < n; ++k)
    {
        const sh_manifold_point* p = &m.points[k];
        CHECK(NEAR(p->separation, -0.01, 1e-5), "box on ground: separation %g", p->separation);
        CHECK(NEAR(p->point_a[2], 0, 1e-5) && NEAR(p->point_b[2], -0.01, 1e-5), "box on ground: z %g %g",
              p->point_a[2], p->point_b[2]);
        if (NEAR(fabsf(p->point_b[0] - 2), 0.5, 1e-5) && NEAR(fabsf(p->point_b[1] - 3), 0.5, 1e-5))
            corners |= 1 << ((p->point_b[0] > 2) + 2 * (p->point_b[1] > 3));
    }
    CHECK(corners == 15, "box on ground: corners mask %x", corners);
    free(ground);
    free(box);
}

// The reversed call makes the small box's bottom the reference face (A's face preferred): the big
// incident face is clipped down to the small square, and the points must be the same.
static void test_swap(void)
{
    test_hull* ground = make_box(10, 10, 1);
    test_hull* box = make_box(0.5f, 0.5f, 0.5f);
    sh_transform tg = xf(0, 0, -1, 0, 0, 0, 1);
    sh_transform tb = xf(2, 3, 0.49f, 0.3f, 0, 0, 1);
    sh_manifold m1, m2;
    int n1 = sh_collide_hulls(&ground->h, &tg, &box->h, &tb, 0.02f, NULL, &m1);
    int n2 = sh_collide_hulls(&box->h, &tb, &ground->h, &tg, 0.02f, NULL, &m2);
    check_manifold("swap 1", &ground->h, &tg, &box->h, &tb, 0.02f, &m1, 1e-4f);
    check_manifold("swap 2", &box->h, &tb, &ground->h, &tg, 0.02f, &m2, 1e-4f);
    CHECK(n1 == 4 && n2 == 4, "swap: %d and %d points", n1, n2);
    CHECK(NEAR(m1.normal[2], 1, 1e-6) && NEAR(m2.normal[2], -1, 1e-6), "swap: normals %g %g", m1.normal[2],
          m2.normal[2]);
    for (int k = 0; k < n1; ++k)
    {
        int match = -1;
        for (int j = 0; j < n2; ++j)
            if (glm_vec3_distance(m1.points[k].point_a, m2.points[j].point_b) < 1e-4f &&
                glm_vec3_distance(m1.points[k].point_b, m2.points[j].point_a) < 1e-4f)
                match = j;
        CHECK(match >= 0, "swap: point %d has no swapped twin", k);
        if (match >= 0)
            CHECK(NEAR(m1.points[k].separation, m2.points[match].separation, 1e-5), "swap: separations %g %g",
                  m1.points[k].separation, m2.points[match].separation);
    }
    // Edge contact swapped.
    test_hull* c = make_box(0.5f, 0.5f, 0.5f);
    sh_transform ta = xf(0, 0, 0, (float)M_PI / 4, 1, 0, 0);
    sh_transform tc = xf(0, 0, 2 * 0.70710678f - 0.01f, (float)M_PI / 4, 0, 1, 0);
    n1 = sh_collide_hulls(&c->h, &ta, &box->h, &tc, 0.02f, NULL, &m1);
    n2 = sh_collide_hulls(&box->h, &tc, &c->h, &ta, 0.02f, NULL, &m2);
    CHECK(n1 == 1 && n2 == 1, "swap edges: %d and %d points", n1, n2);
    if (n1 == 1 && n2 == 1)
    {
        CHECK(glm_vec3_distance(m1.points[0].point_a, m2.points[0].point_b) < 1e-4f &&
                  glm_vec3_distance(m1.points[0].point_b, m2.points[0].point_a) < 1e-4f,
              "swap edges: points not swapped");
        CHECK(NEAR(m1.normal[2], -m2.normal[2], 1e-5), "swap edges: normals %g %g", m1.normal[2],
              m2.normal[2]);
    }
    free(c);
    free(ground);
    free(box);
}

// Twice the area of the convex quad / triangle spanned by the points, in the xy plane (max over the
// orderings, so the caller need not sort).
static float area_xy(const float (*p)[2], int n)
{
    if (n < 3)
        return 0;
    int perm[4] = {0, 1, 2, 3};
    float best = 0;
    for (int a = 1; a < n; ++a)
        for (int b = 1; b < n; ++b)
            for (int c = 1; c < n; ++c)
            {
                if (a == b || b == c || a == c || (n == 3 && (a == 3 || b == 3 || c == 3)))
                    continue;
                perm[1] = a;
                perm[2] = b;
                perm[3] = c;
                float s = 0;
                for (int k = 0; k < n; ++k)
                {
                    const float* u = p[perm[k]];
                    const float* v = p[perm[(k + 1) % n]];
                    s += u[0] * v[1] - u[1] * v[0];
                }
                best = fmaxf(best, fabsf(s));
            }
    return best * 0.5f;
}

static void test_rotated_45(void)
{
    test_hull* a = make_box(0.5f, 0.5f, 0.5f);
    test_hull* b = make_box(0.5f, 0.5f, 0.5f);
    sh_transform ta = xf(0, 0, 0, 0, 0, 0, 1);
    sh_transform tb = xf(0, 0, 0.99f, (float)M_PI / 4, 0, 0, 1);
    sh_manifold m;
    int n = sh_collide_hulls(&a->h, &ta, &b->h, &tb, 0.02f, NULL, &m);
    check_manifold("45 deg", &a->h, &ta, &b->h, &tb, 0.02f, &m, 1e-4f);
    CHECK(n == 4, "45 deg: %d points", n);
    CHECK(NEAR(m.normal[2], 1, 1e-6), "45 deg: normal z %g", m.normal[2]);
    // The clipped octagon: (±0.5, ±c) and (±c, ±0.5), c = √2/2 - 1/2.
    float c = 0.70710678f - 0.5f;
    float oct[8][2] = {{0.5f, c},   {c, 0.5f},   {-c, 0.5f}, {-0.5f, c},
                       {-0.5f, -c}, {-c, -0.5f}, {c, -0.5f}, {0.5f, -c}};
    float best = 0;
    for (int i = 0; i < 8; ++i)
        for (int j = i + 1; j < 8; ++j)
            for (int k = j + 1; k < 8; ++k)
                for (int l = k + 1; l < 8; ++l)
                {
                    float q[4][2] = {{oct[i][0], oct[i][1]},
                                     {oct[j][0], oct[j][1]},
                                     {oct[k][0], oct[k][1]},
                                     {oct[l][0], oct[l][1]}};
                    best = fmaxf(best, area_xy((const float(*)[2])q, 4));
                }
    float got[4][2];
    for (int k = 0; k < n && k < 4; ++k)
    {
        got[k][0] = m.points[k].point_a[0];
        got[k][1] = m.points[k].point_a[1];
        bool on_octagon = false;
        for (int i = 0; i < 8; ++i)
            on_octagon |= NEAR(got[k][0], oct[i][0], 1e-4) && NEAR(got[k][1], oct[i][1], 1e-4);
        CHECK(on_octagon, "45 deg: point (%g, %g) is not an octagon vertex", got[k][0], got[k][1]);
        CHECK(NEAR(m.points[k].separation, -0.01, 1e-5), "45 deg: separation %g", m.points[k].separation);
    }
    float area = area_xy((const float(*)[2])got, n < 4 ? n : 4);
    // The greedy reduction is not guaranteed optimal in general; on this symmetric octagon it is.
    CHECK(area >= 0.999f * best, "45 deg: area %g, best quad %g", area, best);
    free(a);
    free(b);
}

// An octagonal prism tilted slightly on the ground: 8 clipped points, the deepest must be kept
// whatever its index, and the kept area must be close to the best quad.
static void test_deepest_kept(void)
{
    test_hull* ground = make_box(10, 10, 1);
    test_hull* prism = make_prism(8, 0.5f, 0.25f);
    sh_transform tg = xf(0, 0, -1, 0, 0, 0, 1);
    for (int trial = 0; trial < 16; ++trial)
    {
        float yaw = 0.37f * (float)trial;
        vec3 axis = {cosf(yaw), sinf(yaw), 0};
        sh_transform tp;
        glm_quatv(tp.q, 0.01f, axis);
        tp.p[0] = 0.3f;
        tp.p[1] = -0.2f;
        tp.p[2] = 0.25f - 0.005f;
        // Expected: the lowest bottom vertex, computed independently. The reduction takes the first
        // point within 0.5 mm (a tenth of the linear slop) of the deepest, for stable ids (see reduce
        // in manifold.c); when the two lowest vertices differ by more, the deepest must be exact.
        float deepest = INFINITY, second = INFINITY;
        for (int k = 0; k < 8; ++k)
        {
            vec3 w;
            sh_transform_point(&tp, prism->verts[k], w);
            if (w[2] < deepest)
            {
                second = deepest;
                deepest = w[2];
            }
            else if (w[2] < second)
                second = w[2];
        }
        sh_manifold m;
        int n = sh_collide_hulls(&ground->h, &tg, &prism->h, &tp, 0.02f, NULL, &m);
        check_manifold("deepest", &ground->h, &tg, &prism->h, &tp, 0.02f, &m, 1e-4f);
        CHECK(n == 4, "deepest %d: %d points", trial, n);
        float tie = second - deepest > 0.0006f ? 1e-5f : 0.0005f + 1e-5f;
        CHECK(min_separation(&m) >= deepest - 1e-5f && min_separation(&m) <= deepest + tie,
              "deepest %d: min separation %g, lowest vertex %g (next %g)", trial, min_separation(&m), deepest,
              second);
        // Best quad of the octagon contains the deepest vertex: 4 alternate vertices give 2r² = 0.5;
        // the greedy choice must stay within 10 % of the regular octagon's best (r² · 2 = 0.5).
        float q[4][2];
        for (int k = 0; k < n && k < 4; ++k)
        {
            q[k][0] = m.points[k].point_a[0];
            q[k][1] = m.points[k].point_a[1];
        }
        float area = area_xy((const float(*)[2])q, n < 4 ? n : 4);
        CHECK(area > 0.9f * 0.5f, "deepest %d: area %g", trial, area);
    }
    free(ground);
    free(prism);
}

static void test_edge_edge(void)
{
    test_hull* a = make_box(0.5f, 0.5f, 0.5f);
    test_hull* b = make_box(0.5f, 0.5f, 0.5f);
    // A rotated 45° about x puts an edge along x on top at z = √2/2; B rotated 45° about y puts an
    // edge along y at its bottom. The edges cross at x = y = 0.
    sh_transform ta = xf(0, 0, 0, (float)M_PI / 4, 1, 0, 0);
    float h = 2 * 0.70710678f - 0.01f;
    sh_transform tb = xf(0.1f, -0.05f, h, (float)M_PI / 4, 0, 1, 0);
    sh_manifold m;
    int n = sh_collide_hulls(&a->h, &ta, &b->h, &tb, 0.02f, NULL, &m);
    check_manifold("edge-edge", &a->h, &ta, &b->h, &tb, 0.02f, &m, 1e-4f);
    CHECK(n == 1, "edge-edge: %d points", n);
    CHECK(NEAR(m.normal[0], 0, 1e-5) && NEAR(m.normal[1], 0, 1e-5) && NEAR(m.normal[2], 1, 1e-5),
          "edge-edge: normal %g %g %g", m.normal[0], m.normal[1], m.normal[2]);
    if (n == 1)
    {
        CHECK(NEAR(m.points[0].separation, -0.01, 1e-5), "edge-edge: separation %g", m.points[0].separation);
        CHECK(NEAR(m.points[0].point_a[0], 0.1, 1e-4) && NEAR(m.points[0].point_a[1], 0, 1e-4) &&
                  NEAR(m.points[0].point_a[2], 0.70710678, 1e-4),
              "edge-edge: point_a %g %g %g", m.points[0].point_a[0], m.points[0].point_a[1],
              m.points[0].point_a[2]);
        CHECK(NEAR(m.points[0].point_b[0], 0.1, 1e-4) && NEAR(m.points[0].point_b[1], 0, 1e-4),
              "edge-edge: point_b %g %g", m.points[0].point_b[0], m.points[0].point_b[1]);
        CHECK((m.points[0].id & 0x80000000u) != 0, "edge-edge: id %08x not an edge id", m.points[0].id);
    }
    free(a);
    free(b);
}

static void test_separated(void)
{
    test_hull* a = make_box(0.5f, 0.5f, 0.5f);
    test_hull* b = make_box(0.5f, 0.5f, 0.5f);
    sh_transform ta = xf(0, 0, 0, 0, 0, 0, 1);
    sh_transform tb = xf(0.2f, 0, 1.1f, 0.1f, 0, 0, 1);
    sh_sat_cache cache = {0};
    sh_manifold m;
    int n = sh_collide_hulls(&a->h, &ta, &b->h, &tb, 0.02f, &cache, &m);
    CHECK(n == 0 && m.point_count == 0, "separated: %d points", n);
    CHECK(cache.kind != 0 && cache.separation > 0.02f, "separated: cache kind %d separation %g", cache.kind,
          cache.separation);
    CHECK(NEAR(cache.separation, 0.1, 1e-5), "separated: cached separation %g", cache.separation);
    // Second call: served by the cache, same answer.
    n = sh_collide_hulls(&a->h, &ta, &b->h, &tb, 0.02f, &cache, &m);
    CHECK(n == 0, "separated (cached): %d points", n);

    // Within the speculative distance: speculative points with positive separation.
    tb = xf(0.2f, 0, 1.01f, 0.1f, 0, 0, 1);
    n = sh_collide_hulls(&a->h, &ta, &b->h, &tb, 0.02f, &cache, &m);
    check_manifold("speculative", &a->h, &ta, &b->h, &tb, 0.02f, &m, 1e-4f);
    CHECK(n == 4, "speculative: %d points", n);
    for (int k = 0; k < n; ++k)
        CHECK(NEAR(m.points[k].separation, 0.01, 1e-5), "speculative: separation %g", m.points[k].separation);
    // Cache now points at a non-separating axis: a move away must still be detected.
    tb = xf(0.2f, 0, 1.5f, 0.1f, 0, 0, 1);
    n = sh_collide_hulls(&a->h, &ta, &b->h, &tb, 0.02f, &cache, &m);
    CHECK(n == 0, "moved away: %d points", n);
    // And back into contact with a stale cache: must not early out.
    tb = xf(0.2f, 0, 0.99f, 0.1f, 0, 0, 1);
    n = sh_collide_hulls(&a->h, &ta, &b->h, &tb, 0.02f, &cache, &m);
    CHECK(n == 4, "back in contact: %d points", n);
    // Separated sideways (x), by an edge axis when rotated.
    tb = xf(1.3f, 0, 0, 0.7f, 1, 1, 0);
    n = sh_collide_hulls(&a->h, &ta, &b->h, &tb, 0.02f, &cache, &m);
    CHECK(n == 0, "sideways: %d points", n);
    free(a);
    free(b);
}

static void test_deep(void)
{
    test_hull* ground = make_box(10, 10, 1);
    test_hull* box = make_box(0.5f, 0.5f, 0.5f);
    test_hull* small = make_box(0.2f, 0.2f, 0.2f);
    sh_transform tg = xf(0, 0, -1, 0, 0, 0, 1);
    sh_transform tb = xf(0, 0, 0.1f, 0, 0, 0, 1);
    sh_manifold m;
    int n = sh_collide_hulls(&ground->h, &tg, &box->h, &tb, 0.02f, NULL, &m);
    check_manifold("deep", &ground->h, &tg, &box->h, &tb, 0.02f, &m, 1e-4f);
    CHECK(n == 4 && NEAR(m.normal[2], 1, 1e-6), "deep: %d points, normal z %g", n, m.normal[2]);
    CHECK(NEAR(min_separation(&m), -0.4, 1e-5), "deep: separation %g", min_separation(&m));
    // Small box entirely inside the ground, its centre 0.5 below the top: the top face is the
    // shallowest way out (0.7 m), not the bottom (1.7 m).
    tb = xf(0.5f, 0.5f, -0.5f, 0, 0, 0, 1);
    n = sh_collide_hulls(&ground->h, &tg, &small->h, &tb, 0.02f, NULL, &m);
    check_manifold("inside", &ground->h, &tg, &small->h, &tb, 0.02f, &m, 1e-4f);
    CHECK(n == 4 && NEAR(m.normal[2], 1, 1e-6), "inside: %d points, normal z %g", n, m.normal[2]);
    CHECK(NEAR(min_separation(&m), -0.7, 1e-5), "inside: separation %g", min_separation(&m));
    // Identical coincident boxes: any face axis, separation -1 (the full width), no NaN.
    tb = xf(0, 0, 0, 0, 0, 0, 1);
    sh_transform t0 = xf(0, 0, 0, 0, 0, 0, 1);
    n = sh_collide_hulls(&box->h, &t0, &box->h, &tb, 0.02f, NULL, &m);
    check_manifold("coincident", &box->h, &t0, &box->h, &tb, 0.02f, &m, 1e-4f);
    CHECK(n == 4, "coincident: %d points", n);
    CHECK(NEAR(min_separation(&m), -1.0, 1e-5), "coincident: separation %g", min_separation(&m));
    // Coincident centres, one rotated: still finite, sane.
    tb = xf(0, 0, 0, 0.9f, 1, 2, 3);
    n = sh_collide_hulls(&box->h, &t0, &box->h, &tb, 0.02f, NULL, &m);
    check_manifold("coincident rotated", &box->h, &t0, &box->h, &tb, 0.02f, &m, 1e-4f);
    CHECK(n >= 1, "coincident rotated: %d points", n);
    free(ground);
    free(box);
    free(small);
}

static void test_tet_vertex(void)
{
    test_hull* ground = make_box(10, 10, 1);
    test_hull* tet = make_tet();
    sh_transform tg = xf(0, 0, -1, 0, 0, 0, 1);
    sh_transform tt = xf(1, 1, 0.75f - 0.01f, 0, 0, 0, 1);
    sh_manifold m;
    int n = sh_collide_hulls(&ground->h, &tg, &tet->h, &tt, 0.02f, NULL, &m);
    check_manifold("tet", &ground->h, &tg, &tet->h, &tt, 0.02f, &m, 1e-4f);
    CHECK(n == 1, "tet: %d points", n);
    CHECK(NEAR(m.normal[2], 1, 1e-6), "tet: normal z %g", m.normal[2]);
    if (n == 1)
    {
        CHECK(NEAR(m.points[0].separation, -0.01, 1e-5), "tet: separation %g", m.points[0].separation);
        CHECK(NEAR(m.points[0].point_b[0], 1, 1e-5) && NEAR(m.points[0].point_b[1], 1, 1e-5),
              "tet: point %g %g", m.points[0].point_b[0], m.points[0].point_b[1]);
    }
    free(ground);
    free(tet);
}

static bool same_ids(const sh_manifold* a, const sh_manifold* b)
{
    if (a->point_count != b->point_count)
        return false;
    for (int i = 0; i < a->point_count; ++i)
    {
        bool found = false;
        for (int j = 0; j < b->point_count; ++j)
            found |= a->points[i].id == b->points[j].id;
        if (!found)
            return false;
    }
    return true;
}

static void test_ids_stable(void)
{
    test_hull* ground = make_box(10, 10, 1);
    test_hull* box = make_box(0.5f, 0.5f, 0.5f);
    struct
    {
        const char* name;
        const sh_hull* a;
        sh_transform ta;
        const sh_hull* b;
        sh_transform tb;
    } cases[] = {
        {"resting", &ground->h, xf(0, 0, -1, 0, 0, 0, 1), &box->h, xf(0, 0, 0.495f, 0.2f, 0, 0, 1)},
        {"reversed", &box->h, xf(0, 0, 0.495f, 0.2f, 0, 0, 1), &ground->h, xf(0, 0, -1, 0, 0, 0, 1)},
        {"45 deg", &box->h, xf(0, 0, 0, 0, 0, 0, 1), &box->h, xf(0, 0, 0.99f, (float)M_PI / 4, 0, 0, 1)},
        {"offset", &box->h, xf(0, 0, 0, 0, 0, 0, 1), &box->h, xf(0.6f, 0.3f, 0.99f, 0.1f, 0, 0, 1)},
        // Equal boxes stacked exactly: every incident vertex lies on a side plane of the reference
        // face, where float noise must not flip it between "vertex" and "clipped point" ids.
        {"aligned stack", &box->h, xf(0, 0, 0.5f, 0, 0, 0, 1), &box->h, xf(0, 0, 1.495f, 0, 0, 0, 1)},
        {"aligned stack, reversed", &box->h, xf(0, 0, 1.495f, 0, 0, 0, 1), &box->h,
         xf(0, 0, 0.5f, 0, 0, 0, 1)},
        {"edges", &box->h, xf(0, 0, 0, (float)M_PI / 4, 1, 0, 0), &box->h,
         xf(0, 0, 2 * 0.70710678f - 0.01f, (float)M_PI / 4, 0, 1, 0)},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c)
    {
        sh_manifold m0, m1;
        sh_collide_hulls(cases[c].a, &cases[c].ta, cases[c].b, &cases[c].tb, 0.02f, NULL, &m0);
        CHECK(m0.point_count > 0, "ids %s: no points", cases[c].name);
        for (int trial = 0; trial < 8; ++trial)
        {
            sh_transform tb = cases[c].tb;
            // 1e-4 m translation and 1e-4 rad rotation in varying directions.
            tb.p[0] += 1e-4f * cosf((float)trial);
            tb.p[1] += 1e-4f * sinf((float)trial);
            tb.p[2] += 1e-4f * (float)((trial & 1) ? 1 : -1);
            versor dq, q;
            vec3 axis = {sinf(trial * 1.3f), cosf(trial * 0.7f), 0.5f};
            glm_quatv(dq, 1e-4f, axis);
            glm_quat_mul(dq, tb.q, q);
            glm_quat_copy(q, tb.q);
            sh_collide_hulls(cases[c].a, &cases[c].ta, cases[c].b, &tb, 0.02f, NULL, &m1);
            CHECK(same_ids(&m0, &m1), "ids %s trial %d: ids changed (%d -> %d points)", cases[c].name, trial,
                  m0.point_count, m1.point_count);
        }
    }
    free(ground);
    free(box);
}

// ---------------------------------------------------------------------------------------------
// Fuzz: random boxes, prisms and tetrahedra at random poses near each other.

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

static float frand(float lo, float hi)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return lo + (hi - lo) * (float)((g_rng >> 40) * (1.0 / 16777216.0));
}

static void random_pose(sh_transform* t, float spread)
{
    versor q = {frand(-1, 1), frand(-1, 1), frand(-1, 1), frand(-1, 1)};
    if (glm_quat_norm(q) < 1e-3f)
        q[3] = 1;
    glm_quat_normalize(q);
    glm_quat_copy(q, t->q);
    t->p[0] = frand(-spread, spread);
    t->p[1] = frand(-spread, spread);
    t->p[2] = frand(-spread, spread);
}

// Is any vertex of b strictly inside a (by margin)? Then they overlap and contacts are required.
static bool vertex_inside(const sh_hull* a, const sh_transform* ta, const sh_hull* b, const sh_transform* tb,
                          float margin)
{
    for (int i = 0; i < b->vertex_count; ++i)
    {
        vec3 w;
        sh_transform_point(tb, b->vertices[i], w);
        if (hull_distance(a, ta, w) < -margin)
            return true;
    }
    return false;
}

static void fuzz(sh_hull** shapes, int shape_count, int pairs, const char* name)
{
    int contacts = 0, required = 0, missed = 0;
    for (int i = 0; i < pairs; ++i)
    {
        const sh_hull* a = shapes[(int)frand(0, (float)shape_count - 0.001f)];
        const sh_hull* b = shapes[(int)frand(0, (float)shape_count - 0.001f)];
        sh_transform ta, tb;
        random_pose(&ta, 0.1f);
        random_pose(&tb, 1.2f);
        if (i % 10 == 0)
            glm_vec3_copy(ta.p, tb.p); // coincident centres
        if (i % 10 == 1)
            glm_quat_copy(ta.q, tb.q); // aligned: parallel faces and edges
        float spec = frand(0, 0.05f);
        sh_sat_cache cache = {0};
        sh_manifold m;
        int n = sh_collide_hulls(a, &ta, b, &tb, spec, &cache, &m);
        check_manifold(name, a, &ta, b, &tb, spec, &m, 2e-4f);
        if (g_failures > 20)
            return;
        contacts += n > 0;
        if (vertex_inside(a, &ta, b, &tb, 1e-3f) || vertex_inside(b, &tb, a, &ta, 1e-3f))
        {
            ++required;
            if (n == 0)
            {
                ++missed;
                if (getenv("SH_FUZZ_DEBUG"))
                    printf("miss %s %d: hulls %d/%d faces %d/%d cache kind %d idx %d/%d sep %g spec %g\n",
                           name, i, a->vertex_count, b->vertex_count, a->face_count, b->face_count,
                           cache.kind, cache.index_a, cache.index_b, cache.separation, spec);
            }
        }
        // A cached second call at the same pose gives the same count.
        int n2 = sh_collide_hulls(a, &ta, b, &tb, spec, &cache, &m);
        CHECK(n2 == n, "%s %d: cached call gives %d points, first %d", name, i, n2, n);
    }
    CHECK(missed == 0, "%s: %d of %d overlapping pairs got no contact", name, missed, required);
    printf("fuzz %s: %d pairs, %d with contacts, %d overlapping by vertex\n", name, pairs, contacts,
           required);
}

// Anchored reuse (sh_sat_cache): a box slid in 0.3 mm steps over the edge of another, with the
// cache, must agree with a fresh SAT at every step (same count and normal, separations within the
// documented bound), and must notice when it slides off (the feature changes or contact ends).
static void test_anchor_sliding(void)
{
    test_hull* box = make_box(0.5f, 0.5f, 0.5f);
    sh_transform ta = xf(0, 0, 0, 0, 0, 0, 1);
    sh_sat_cache cache = {0};
    int disagreements = 0, steps = 0, off_edge_step = -1;
    for (float x = 0.90f; x < 1.10f; x += 3e-4f, ++steps)
    {
        sh_transform tb = xf(x, 0.1f, 0.995f, 0.002f * x, 0, 0, 1);
        sh_manifold mc, mf;
        int nc = sh_collide_hulls(&box->h, &ta, &box->h, &tb, 0.02f, &cache, &mc);
        int nf = sh_collide_hulls(&box->h, &ta, &box->h, &tb, 0.02f, NULL, &mf);
        check_manifold("anchor sliding", &box->h, &ta, &box->h, &tb, 0.02f, &mc, 1e-4f);
        bool same = nc == nf && (nc == 0 || (glm_vec3_dot(mc.normal, mf.normal) > 0.9999f &&
                                             fabsf(min_separation(&mc) - min_separation(&mf)) < 2e-3f));
        disagreements += !same;
        if (!same)
            fprintf(stderr, "anchor sliding x=%.4f: cached %d points (%g), fresh %d (%g), normals z %g %g\n",
                    x, nc, nc ? min_separation(&mc) : 0, nf, nf ? min_separation(&mf) : 0, mc.normal[2],
                    mf.normal[2]);
        if (nf == 0 && off_edge_step < 0)
            off_edge_step = steps;
    }
    CHECK(disagreements == 0, "anchor sliding: %d of %d steps disagree with a fresh SAT", disagreements,
          steps);
    CHECK(off_edge_step > 0, "anchor sliding: never slid off (steps %d)", steps);
    free(box);
}

// Random pairs moved by up to 0.5 mm / 0.5 mrad after a cached call: the reused feature gives a
// manifold as valid as a fresh SAT's, with the deepest separation within the reuse bound.
static void test_anchor_fuzz(sh_hull** shapes, int shape_count, int pairs)
{
    int reused_contacts = 0, bad = 0;
    for (int i = 0; i < pairs; ++i)
    {
        const sh_hull* a = shapes[(int)frand(0, (float)shape_count - 0.001f)];
        const sh_hull* b = shapes[(int)frand(0, (float)shape_count - 0.001f)];
        sh_transform ta, tb;
        random_pose(&ta, 0.1f);
        random_pose(&tb, 1.0f);
        sh_sat_cache cache = {0};
        sh_manifold m0, mc, mf;
        if (sh_collide_hulls(a, &ta, b, &tb, 0.02f, &cache, &m0) == 0)
            continue;
        tb.p[0] += frand(-5e-4f, 5e-4f);
        tb.p[1] += frand(-5e-4f, 5e-4f);
        versor dq, q;
        vec3 axis = {frand(-1, 1), frand(-1, 1), frand(-1, 1)};
        glm_quatv(dq, frand(0, 5e-4f), axis);
        glm_quat_mul(dq, tb.q, q);
        glm_quat_copy(q, tb.q);
        int nc = sh_collide_hulls(a, &ta, b, &tb, 0.02f, &cache, &mc);
        int nf = sh_collide_hulls(a, &ta, b, &tb, 0.02f, NULL, &mf);
        check_manifold("anchor fuzz", a, &ta, b, &tb, 0.02f, &mc, 2e-4f);
        if (nc > 0)
            ++reused_contacts;
        // Both agree on contact unless the fresh SAT is at the speculative edge. Depths agree to the
        // feature preference band the SAT itself applies (an edge must beat the faces by 10 % of the
        // depth + 2.5 mm, manifold.c EDGE_REL_TOL/ABS_TOL: the fresh SAT can switch inside that band
        // under any small motion) plus the 1 mm of motion.
        if (nf > 0 && nc > 0)
        {
            float tol = 3.5e-3f + 0.10f * fabsf(min_separation(&mf));
            if (fabsf(min_separation(&mc) - min_separation(&mf)) > tol)
            {
                ++bad;
                if (bad < 5)
                    fprintf(stderr, "anchor fuzz %d: cached %g fresh %g\n", i, min_separation(&mc),
                            min_separation(&mf));
            }
        }
        else if ((nf > 0) != (nc > 0) &&
                 fminf(nf ? min_separation(&mf) : 1, nc ? min_separation(&mc) : 1) < 0.015f)
            ++bad;
    }
    CHECK(bad == 0, "anchor fuzz: %d of %d reused manifolds disagree with a fresh SAT", bad, reused_contacts);
    printf("anchor fuzz: %d pairs in contact re-collided after a small motion\n", reused_contacts);
}

// Degenerate input: paper-thin and tiny hulls, huge ones, NaN and non-unit poses. Nothing may come
// back non-finite; NaN poses give no contact.
static void test_degenerate(void)
{
    test_hull* thin = make_box(0.5f, 0.5f, 1e-5f);
    test_hull* tiny = make_box(1e-3f, 1e-3f, 1e-3f);
    test_hull* huge = make_box(1000, 1000, 1000);
    test_hull* box = make_box(0.5f, 0.5f, 0.5f);
    sh_hull* shapes[] = {&thin->h, &tiny->h, &huge->h, &box->h};
    int nonfinite = 0;
    for (int i = 0; i < 4000; ++i)
    {
        const sh_hull* a = shapes[i % 4];
        const sh_hull* b = shapes[(i / 4) % 4];
        sh_transform ta, tb;
        random_pose(&ta, 0.01f);
        random_pose(&tb, a == &huge->h || b == &huge->h ? 1000.0f : 0.6f);
        if (i % 7 == 0)
            glm_vec3_copy(ta.p, tb.p);
        sh_sat_cache cache = {0};
        sh_manifold m;
        for (int rep = 0; rep < 2; ++rep)
        {
            int n = sh_collide_hulls(a, &ta, b, &tb, 0.02f, &cache, &m);
            nonfinite += !finite3(m.normal);
            for (int k = 0; k < n; ++k)
                nonfinite += !finite3(m.points[k].point_a) || !finite3(m.points[k].point_b) ||
                             !isfinite(m.points[k].separation);
            // Huge hulls: float32 carries ~6e-8 relative, so across a 3464 m diagonal and the ~20
            // rounding steps of a transform and a clip the error is a few mm; the bound scales with it.
            float tol = (a == &huge->h || b == &huge->h) ? 5e-3f : 2e-4f;
            check_manifold("degenerate", a, &ta, b, &tb, 0.02f, &m, tol);
        }
    }
    CHECK(nonfinite == 0, "degenerate: %d non-finite values", nonfinite);

    sh_transform t0 = xf(0, 0, 0, 0, 0, 0, 1), tn = xf(0, 0, 0.5f, 0, 0, 0, 1);
    sh_manifold m;
    tn.p[0] = NAN;
    CHECK(sh_collide_hulls(&box->h, &t0, &box->h, &tn, 0.02f, NULL, &m) == 0 && finite3(m.normal),
          "NaN position");
    tn = xf(0, 0, 0.99f, 0, 0, 0, 1);
    tn.q[3] = INFINITY;
    CHECK(sh_collide_hulls(&box->h, &t0, &box->h, &tn, 0.02f, NULL, &m) == 0 && finite3(m.normal),
          "inf rotation");
    // A quaternion scaled by 2 still means the same rotation.
    tn = xf(0, 0, 0.99f, 0.3f, 0, 0, 1);
    sh_manifold m1;
    int n1 = sh_collide_hulls(&box->h, &t0, &box->h, &tn, 0.02f, NULL, &m1);
    glm_vec4_scale(tn.q, 2.0f, tn.q);
    int n2 = sh_collide_hulls(&box->h, &t0, &box->h, &tn, 0.02f, NULL, &m);
    CHECK(n1 == 4 && n2 == 4 && NEAR(min_separation(&m), min_separation(&m1), 1e-5),
          "scaled quaternion: %d %d", n1, n2);
    // NaN speculative distance: treated as 0.
    tn = xf(0, 0, 0.99f, 0, 0, 0, 1);
    CHECK(sh_collide_hulls(&box->h, &t0, &box->h, &tn, NAN, NULL, &m) == 4, "NaN speculative distance");
    // Empty hull: no contact.
    sh_hull empty = {0};
    CHECK(sh_collide_hulls(&empty, &t0, &box->h, &tn, 0.02f, NULL, &m) == 0, "empty hull");
    free(thin);
    free(tiny);
    free(huge);
    free(box);
}

// ---------------------------------------------------------------------------------------------
// Hulls from the real builder (core/assets/hull.c), centred on their centroid as the world does.

static sh_hull* centred(sh_hull* h)
{
    if (h == NULL)
        return NULL;
    sh_hull* c = sh_hull_clone_shifted(h, h->mass.centroid);
    sh_hull_free(h);
    return c;
}

static sh_hull* built_from_points(const float* xyz, int n)
{
    sh_hull* h = NULL;
    sh_error err;
    if (!sh_hull_build(xyz, n, &h, &err))
    {
        fprintf(stderr, "sh_hull_build: %s\n", err.message);
        return NULL;
    }
    return centred(h);
}

static sh_hull* built_from_mesh(sh_mesh* m)
{
    sh_hull* h = built_from_points(m->xyz, m->vertex_count);
    sh_mesh_free(m);
    return h;
}

static sh_hull* built_icosphere(float radius, int subdivisions)
{
    sh_mesh m = {0};
    if (!sh_shape_icosphere(&m, radius, subdivisions))
        return NULL;
    return built_from_mesh(&m);
}

static sh_hull* built_box(float sx, float sy, float sz)
{
    sh_mesh m = {0};
    if (!sh_shape_box(&m, sx, sy, sz))
        return NULL;
    return built_from_mesh(&m);
}

static sh_hull* built_tet(float edge)
{
    sh_mesh m = {0};
    if (!sh_shape_tetrahedron(&m, edge))
        return NULL;
    return built_from_mesh(&m);
}

// n random points on an ellipsoid (plus jitter inside), as the convex_pile bench hull.
static sh_hull* built_random(int n, float rx, float ry, float rz)
{
    float xyz[3 * 256];
    for (int i = 0; i < n; ++i)
    {
        float x, y, z, l;
        do
        {
            x = frand(-1, 1);
            y = frand(-1, 1);
            z = frand(-1, 1);
            l = x * x + y * y + z * z;
        } while (l < 1e-3f || l > 1);
        float r = (i % 4 == 0 ? frand(0.7f, 1.0f) : 1.0f) / sqrtf(l);
        xyz[3 * i] = rx * x * r;
        xyz[3 * i + 1] = ry * y * r;
        xyz[3 * i + 2] = rz * z * r;
    }
    return built_from_points(xyz, n);
}

// The builder's box must collide exactly like the hand-built one (same conventions).
static void test_builder_box_parity(void)
{
    sh_hull* built = built_box(1, 1, 1);
    test_hull* hand = make_box(0.5f, 0.5f, 0.5f);
    test_hull* ground = make_box(10, 10, 1);
    CHECK(built != NULL, "builder box");
    if (built == NULL)
        return;
    sh_transform tg = xf(0, 0, -1, 0, 0, 0, 1);
    for (int trial = 0; trial < 200; ++trial)
    {
        sh_transform ta, tb;
        random_pose(&ta, 0.1f);
        random_pose(&tb, 1.1f);
        if (trial < 20)
            ta = tg;
        sh_manifold m1, m2;
        int n1 = sh_collide_hulls(&hand->h, &ta, &hand->h, &tb, 0.02f, NULL, &m1);
        int n2 = sh_collide_hulls(built, &ta, built, &tb, 0.02f, NULL, &m2);
        check_manifold("builder box", built, &ta, built, &tb, 0.02f, &m2, 1e-4f);
        CHECK(n1 == n2, "builder box %d: %d points, hand-built %d", trial, n2, n1);
        if (n1 == n2 && n1 > 0)
        {
            CHECK(NEAR(min_separation(&m1), min_separation(&m2), 1e-5), "builder box %d: separation %g vs %g",
                  trial, min_separation(&m2), min_separation(&m1));
            CHECK(glm_vec3_dot(m1.normal, m2.normal) > 0.9999f, "builder box %d: normals differ", trial);
        }
    }
    sh_hull_free(built);
    free(hand);
    free(ground);
}

static void test_icosphere(void)
{
    sh_hull* ico = built_icosphere(0.5f, 2);
    test_hull* ground = make_box(10, 10, 1);
    CHECK(ico != NULL && ico->vertex_count == 162, "icosphere: %d vertices", ico ? ico->vertex_count : -1);
    if (ico == NULL)
        return;
    sh_transform tg = xf(0, 0, -1, 0, 0, 0, 1);
    for (int trial = 0; trial < 50; ++trial)
    {
        sh_transform ts;
        random_pose(&ts, 0.0f);
        ts.p[0] = frand(-3, 3);
        ts.p[1] = frand(-3, 3);
        ts.p[2] = 0.5f - frand(0, 0.02f);
        float lowest = INFINITY;
        for (int i = 0; i < ico->vertex_count; ++i)
        {
            vec3 w;
            sh_transform_point(&ts, ico->vertices[i], w);
            lowest = fminf(lowest, w[2]);
        }
        sh_manifold m;
        int n = sh_collide_hulls(&ground->h, &tg, ico, &ts, 0.02f, NULL, &m);
        check_manifold("icosphere on ground", &ground->h, &tg, ico, &ts, 0.02f, &m, 1e-4f);
        if (lowest < 0.02f)
        {
            CHECK(n >= 1, "icosphere %d: %d points (lowest vertex %g)", trial, n, lowest);
            // The lowest vertex is the contact: a face of the sphere or the ground's top face is the
            // reference; either way the deepest point is that vertex (within the reduction's 0.5 mm tie).
            CHECK(n == 0 || (min_separation(&m) >= lowest - 1e-5f && min_separation(&m) <= lowest + 5.1e-4f),
                  "icosphere %d: min separation %g, lowest vertex %g", trial, min_separation(&m), lowest);
            CHECK(n == 0 || fabsf(m.normal[2]) > 0.9f, "icosphere %d: normal z %g", trial, m.normal[2]);
        }
    }
    // Sphere on sphere: the normal joins the centres (within the facet angle, ~10° for 320 faces).
    for (int trial = 0; trial < 50; ++trial)
    {
        sh_transform ta, tb;
        random_pose(&ta, 0.0f);
        random_pose(&tb, 0.0f);
        vec3 dir = {frand(-1, 1), frand(-1, 1), frand(-1, 1)};
        glm_vec3_normalize(dir);
        glm_vec3_scale(dir, 0.97f, tb.p);
        sh_manifold m;
        int n = sh_collide_hulls(ico, &ta, ico, &tb, 0.02f, NULL, &m);
        check_manifold("icosphere pair", ico, &ta, ico, &tb, 0.02f, &m, 1e-4f);
        CHECK(n >= 1, "icosphere pair %d: %d points", trial, n);
        CHECK(glm_vec3_dot(m.normal, dir) > 0.95f, "icosphere pair %d: normal·dir %g", trial,
              glm_vec3_dot(m.normal, dir));
    }
    sh_hull_free(ico);
    free(ground);
}

// Tetrahedron from the builder, vertex down into the ground (one face down in its own frame:
// flipped over, a vertex points down).
static void test_built_tet(void)
{
    sh_hull* tet = built_tet(1.0f);
    test_hull* ground = make_box(10, 10, 1);
    if (tet == NULL)
    {
        CHECK(false, "builder tetrahedron");
        return;
    }
    sh_transform tg = xf(0, 0, -1, 0, 0, 0, 1);
    sh_transform tt = xf(0.3f, 0.2f, 0, (float)M_PI, 1, 0, 0);
    float lowest = INFINITY;
    for (int i = 0; i < tet->vertex_count; ++i)
    {
        vec3 w;
        sh_transform_point(&tt, tet->vertices[i], w);
        lowest = fminf(lowest, w[2]);
    }
    tt.p[2] = -lowest - 0.01f; // apex 1 cm into the ground
    sh_manifold m;
    int n = sh_collide_hulls(&ground->h, &tg, tet, &tt, 0.02f, NULL, &m);
    check_manifold("built tet", &ground->h, &tg, tet, &tt, 0.02f, &m, 1e-4f);
    CHECK(n == 1, "built tet: %d points", n);
    CHECK(n == 1 && NEAR(m.points[0].separation, -0.01, 1e-5) && NEAR(m.normal[2], 1, 1e-6),
          "built tet: separation %g normal z %g", n ? m.points[0].separation : 0, m.normal[2]);
    sh_hull_free(tet);
    free(ground);
}

// Large face (100-gon prism): faces beyond MAX_POLY vertices are sampled; contacts stay on the surface.
static void test_big_faces(void)
{
    test_hull* prism = make_prism(100, 0.5f, 0.2f);
    test_hull* ground = make_box(10, 10, 1);
    sh_transform tg = xf(0, 0, -1, 0, 0, 0, 1);
    sh_transform tp = xf(0, 0, 0.19f, 0.01f, 1, 0, 0);
    sh_manifold m;
    int n = sh_collide_hulls(&ground->h, &tg, &prism->h, &tp, 0.02f, NULL, &m);
    check_manifold("100-gon on ground", &ground->h, &tg, &prism->h, &tp, 0.02f, &m, 1e-4f);
    CHECK(n == 4, "100-gon on ground: %d points", n);
    n = sh_collide_hulls(&prism->h, &tp, &ground->h, &tg, 0.02f, NULL, &m);
    check_manifold("ground under 100-gon", &prism->h, &tp, &ground->h, &tg, 0.02f, &m, 1e-4f);
    CHECK(n == 4, "ground under 100-gon: %d points", n);
    n = sh_collide_hulls(&prism->h, &tp, &prism->h, &tp, 0.02f, NULL, &m);
    check_manifold("100-gon coincident", &prism->h, &tp, &prism->h, &tp, 0.02f, &m, 1e-4f);
    CHECK(n >= 3, "100-gon coincident: %d points", n);
    free(prism);
    free(ground);
}

// ---------------------------------------------------------------------------------------------
// Timing (printed only).

static int g_time_case = -1; // --time-only N: run only the N-th timing (profiling)

static void time_pair(const char* name, const sh_hull* a, const sh_hull* b, sh_transform ta, sh_transform tb,
                      float spec, bool use_cache, int iters)
{
#if defined(SH_DEBUG)
    iters = iters / 50 + 1; // sanitizer/debug builds: exercise the loop, the numbers mean nothing
#endif
    static int case_index = 0;
    if (g_time_case >= 0 && case_index++ != g_time_case)
        return;
    sh_sat_cache cache = {0};
    sh_manifold m;
    volatile int sink = 0;
    // Tiny motion each call so nothing is hoisted out of the loop.
    double t0 = sh_now();
    for (int i = 0; i < iters; ++i)
    {
        tb.p[0] += (i & 1) ? 1e-6f : -1e-6f;
        sink += sh_collide_hulls(a, &ta, b, &tb, spec, use_cache ? &cache : NULL, &m);
    }
    double t1 = sh_now();
    printf("time %-48s %8.1f ns/call (%d points)\n", name, 1e9 * (t1 - t0) / iters, sink / iters);
}

static void timings(void)
{
    test_hull* box = make_box(0.5f, 0.5f, 0.5f);
    test_hull* ground = make_box(400, 400, 1);
    test_hull* prism = make_prism(32, 0.5f, 0.5f);
    sh_hull* ico = built_icosphere(0.5f, 2);
    sh_hull* rnd = built_random(32, 1, 1, 1);
    sh_transform t0 = xf(0, 0, 0, 0, 0, 0, 1);
    sh_transform tg = xf(0, 0, -1, 0, 0, 0, 1);
    // Lower a 32-point hull onto another until it touches, then 5 mm more.
    sh_transform tr = xf(0.3f, 0.2f, 2.5f, 0.3f, 1, 0, 0);
    sh_manifold m;
    while (rnd != NULL && tr.p[2] > 0 && sh_collide_hulls(rnd, &t0, rnd, &tr, 0.0f, NULL, &m) == 0)
        tr.p[2] -= 0.001f;
    tr.p[2] -= 0.005f;
    struct
    {
        const char* name;
        const sh_hull* a;
        sh_transform ta;
        const sh_hull* b;
        sh_transform tb;
        int iters;
    } cases[] = {
        {"box-box resting", &box->h, t0, &box->h, xf(0.1f, 0.05f, 0.995f, 0, 0, 0, 1), 200000},
        {"box-box resting, rotated 0.3 rad", &box->h, t0, &box->h, xf(0.1f, 0.05f, 0.995f, 0.3f, 0, 0, 1),
         200000},
        {"box on ground", &ground->h, tg, &box->h, xf(3, 2, 0.495f, 0.1f, 0, 0, 1), 200000},
        {"box-box edge contact", &box->h, xf(0, 0, 0, (float)M_PI / 4, 1, 0, 0), &box->h,
         xf(0, 0, 2 * 0.70710678f - 0.01f, (float)M_PI / 4, 0, 1, 0), 200000},
        {"box-box separated 2 cm", &box->h, t0, &box->h, xf(0.1f, 0.05f, 1.04f, 0.3f, 0, 0, 1), 200000},
        {"32-gon prism pair", &prism->h, t0, &prism->h, xf(0.1f, 0.05f, 0.995f, 0.3f, 0, 0, 1), 20000},
        {"icosphere-162 pair", ico, t0, ico, xf(0.1f, 0.05f, 0.99f, 0.3f, 0, 0, 1), 5000},
        {"icosphere-162 on ground", &ground->h, tg, ico, xf(0.1f, 0.05f, 0.495f, 0.3f, 0, 0, 1), 20000},
        {"32-point hull pair", rnd, t0, rnd, tr, 20000},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k)
    {
        if (cases[k].a == NULL || cases[k].b == NULL)
            continue;
        char name[96];
        snprintf(name, sizeof name, "%s, cached", cases[k].name);
        time_pair(name, cases[k].a, cases[k].b, cases[k].ta, cases[k].tb, 0.02f, true, cases[k].iters);
        snprintf(name, sizeof name, "%s, full SAT", cases[k].name);
        time_pair(name, cases[k].a, cases[k].b, cases[k].ta, cases[k].tb, 0.02f, false, cases[k].iters);
    }
    sh_hull_free(ico);
    sh_hull_free(rnd);
    free(box);
    free(ground);
    free(prism);
}

int main(int argc, char** argv)
{
    // --time-only: just the timings (for perf stat / perf record).
    if (argc > 1 && strcmp(argv[1], "--time-only") == 0)
    {
        g_time_case = argc > 2 ? atoi(argv[2]) : -1;
        timings();
        return 0;
    }
    test_box_on_ground();
    test_swap();
    test_rotated_45();
    test_deepest_kept();
    test_edge_edge();
    test_separated();
    test_deep();
    test_tet_vertex();
    test_ids_stable();
    test_anchor_sliding();
    test_degenerate();

    test_builder_box_parity();
    test_icosphere();
    test_built_tet();
    test_big_faces();

    test_hull* hand[] = {make_box(0.5f, 0.5f, 0.5f), make_box(1.0f, 0.2f, 0.4f), make_box(0.05f, 0.6f, 0.3f),
                         make_prism(5, 0.6f, 0.3f),  make_prism(12, 0.4f, 0.7f), make_tet()};
    enum
    {
        hand_count = sizeof hand / sizeof hand[0]
    };
    sh_hull* shapes[hand_count];
    for (int i = 0; i < hand_count; ++i)
        shapes[i] = &hand[i]->h;
    fuzz(shapes, hand_count, 10000, "hand-built");
    test_anchor_fuzz(shapes, hand_count, 5000);

    sh_hull* built[] = {built_icosphere(0.5f, 2),
                        built_icosphere(0.3f, 1),
                        built_box(1, 2, 0.5f),
                        built_tet(0.8f),
                        built_random(32, 1, 1, 1),
                        built_random(32, 0.5f, 1.2f, 0.3f),
                        built_random(12, 0.4f, 0.4f, 0.8f),
                        built_random(200, 0.7f, 0.7f, 0.7f)};
    enum
    {
        built_count = sizeof built / sizeof built[0]
    };
    bool all_built = true;
    for (int i = 0; i < built_count; ++i)
        all_built &= built[i] != NULL;
    CHECK(all_built, "builder hulls");
    if (all_built)
    {
        fuzz(built, built_count, 10000, "built");
        test_anchor_fuzz(built, built_count, 3000);
    }
    for (int i = 0; i < built_count; ++i)
        sh_hull_free(built[i]);
    for (int i = 0; i < hand_count; ++i)
        free(hand[i]);

    timings();
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
