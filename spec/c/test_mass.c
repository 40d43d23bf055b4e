// Mass properties (core/assets/mass.c) against closed forms, at density 1 (so mass = volume).
#include "check.h"
#include "mesh.h"
#include "shapes.h"

#include "simhost/assets.h"

#include <string.h>

#define PI 3.14159265358979323846

static sh_mass_props props(const sh_mesh* m)
{
    sh_mass_props mp;
    memset(&mp, 0, sizeof mp);
    sh_error err = {{0}};
    bool ok = sh_mass_from_triangles(m->xyz, m->indices, m->triangle_count, &mp, &err);
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  %s\n", err.message);
    return mp;
}

// cglm is column-major: inertia[col][row]; the tensor is symmetric, so I(i, j) reads either way.
static double I(const sh_mass_props* mp, int i, int j)
{
    return mp->inertia[j][i];
}

static void check_diagonal(const sh_mass_props* mp, double ixx, double iyy, double izz, double rel)
{
    CHECK_NEAR(ixx, I(mp, 0, 0), rel * ixx);
    CHECK_NEAR(iyy, I(mp, 1, 1), rel * iyy);
    CHECK_NEAR(izz, I(mp, 2, 2), rel * izz);
    double scale = ixx + iyy + izz;
    CHECK_NEAR(0, I(mp, 0, 1), 1e-6 * scale);
    CHECK_NEAR(0, I(mp, 0, 2), 1e-6 * scale);
    CHECK_NEAR(0, I(mp, 1, 2), 1e-6 * scale);
}

static void test_unit_cube(void)
{
    sh_mesh m = {0};
    sh_shape_box(&m, 1, 1, 1);
    sh_mass_props mp = props(&m);
    CHECK_NEAR(1.0, mp.volume, 1e-6);
    for (int k = 0; k < 3; k++)
        CHECK_NEAR(0.0, mp.centroid[k], 1e-7);
    check_diagonal(&mp, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1e-6); // m·(1² + 1²)/12
    sh_mesh_free(&m);
}

static void test_box_1x2x3_shifted(void)
{
    sh_mesh m = {0};
    sh_shape_box(&m, 1, 2, 3);
    for (int i = 0; i < m.vertex_count; i++)
    {
        m.xyz[3 * i] += 5;
        m.xyz[3 * i + 1] -= 2;
        m.xyz[3 * i + 2] += 0.5f;
    }
    sh_mass_props mp = props(&m);
    CHECK_NEAR(6.0, mp.volume, 1e-5);
    CHECK_NEAR(5.0, mp.centroid[0], 1e-6);
    CHECK_NEAR(-2.0, mp.centroid[1], 1e-6);
    CHECK_NEAR(0.5, mp.centroid[2], 1e-6);
    // I = m/12 · (b² + c², a² + c², a² + b²), m = 6
    check_diagonal(&mp, 6.0 * (4 + 9) / 12, 6.0 * (1 + 9) / 12, 6.0 * (1 + 4) / 12, 1e-5);
    sh_mesh_free(&m);
}

static void test_regular_tetrahedron(void)
{
    const double a = 1.3;
    sh_mesh m = {0};
    sh_shape_tetrahedron(&m, (float)a);
    sh_mass_props mp = props(&m);
    double v = a * a * a / (6 * sqrt(2.0));
    CHECK_NEAR(v, mp.volume, 1e-6 * v);
    for (int k = 0; k < 3; k++)
        CHECK_NEAR(0.0, mp.centroid[k], 1e-6);
    double i = v * a * a / 20; // isotropic: m·a²/20 about any axis through the centroid
    check_diagonal(&mp, i, i, i, 1e-5);
    sh_mesh_free(&m);
}

// The corner tetrahedron (0, e1, e2, e3) scaled by s: Dirichlet's simplex integrals give
// ∫x² = s⁵/60, ∫xy = s⁵/120 about the origin, V = s³/6, centroid s/4·(1,1,1).
static void test_corner_tetrahedron(void)
{
    const double s = 2;
    sh_mesh m = {0};
    sh_mesh_add_vertex(&m, 0, 0, 0);
    sh_mesh_add_vertex(&m, (float)s, 0, 0);
    sh_mesh_add_vertex(&m, 0, (float)s, 0);
    sh_mesh_add_vertex(&m, 0, 0, (float)s);
    sh_mesh_add_triangle(&m, 0, 2, 1);
    sh_mesh_add_triangle(&m, 0, 1, 3);
    sh_mesh_add_triangle(&m, 0, 3, 2);
    sh_mesh_add_triangle(&m, 1, 2, 3);
    sh_mass_props mp = props(&m);
    double v = s * s * s / 6, c = s / 4, s5 = pow(s, 5);
    CHECK_NEAR(v, mp.volume, 1e-6);
    for (int k = 0; k < 3; k++)
        CHECK_NEAR(c, mp.centroid[k], 1e-6);
    double ixx = 2 * s5 / 60 - v * 2 * c * c; // ∫(y² + z²) shifted to the centroid
    double ixy = -(s5 / 120 - v * c * c);     // −∫(x − cx)(y − cy)
    CHECK_NEAR(ixx, I(&mp, 0, 0), 1e-5 * ixx);
    CHECK_NEAR(ixx, I(&mp, 2, 2), 1e-5 * ixx);
    CHECK_NEAR(ixy, I(&mp, 0, 1), 1e-5 * fabs(ixy));
    CHECK_NEAR(ixy, I(&mp, 1, 2), 1e-5 * fabs(ixy));
    CHECK_NEAR(I(&mp, 1, 0), I(&mp, 0, 1), 0);
    sh_mesh_free(&m);
}

static void test_square_pyramid(void)
{
    const double a = 1, h = 1;
    sh_mesh m = {0};
    sh_shape_pyramid(&m, (float)a, (float)h);
    sh_mass_props mp = props(&m);
    double v = a * a * h / 3;
    CHECK_NEAR(v, mp.volume, 1e-6);
    CHECK_NEAR(0, mp.centroid[0], 1e-7);
    CHECK_NEAR(0, mp.centroid[1], 1e-7);
    CHECK_NEAR(h / 4, mp.centroid[2], 1e-6); // h/4 above the base
    double ixx = v * (a * a / 20 + 3 * h * h / 80), izz = v * a * a / 10;
    check_diagonal(&mp, ixx, ixx, izz, 1e-5);

    // The hull of the same points stores the same props (computed from its fan-triangulated faces).
    sh_hull* hull = NULL;
    sh_error err = {{0}};
    CHECK(sh_hull_build(m.xyz, m.vertex_count, &hull, &err));
    if (hull != NULL)
    {
        CHECK_NEAR(v, hull->mass.volume, 1e-6);
        CHECK_NEAR(h / 4, hull->mass.centroid[2], 1e-6);
        check_diagonal(&hull->mass, ixx, ixx, izz, 1e-5);
    }
    sh_hull_free(hull);
    sh_mesh_free(&m);
}

static void test_icosphere(void)
{
    // Subdivision 3 (642 vertices) is what the default spheres use; within 2 % of the sphere.
    const double r = 2;
    sh_mesh m = {0};
    sh_shape_icosphere(&m, (float)r, 3);
    CHECK(m.vertex_count == 642);
    sh_mass_props mp = props(&m);
    double v = 4.0 / 3 * PI * r * r * r, i = 2.0 / 5 * v * r * r;
    CHECK_NEAR(v, mp.volume, 0.02 * v);
    check_diagonal(&mp, i, i, i, 0.02);
    for (int k = 0; k < 3; k++)
        CHECK_NEAR(0, mp.centroid[k], 1e-5);
    sh_mesh_free(&m);
}

static void test_cylinder(void)
{
    const double r = 0.5, h = 1;
    sh_mesh m = {0};
    sh_shape_cylinder(&m, (float)r, (float)h, 64);
    sh_mass_props mp = props(&m);
    double v = PI * r * r * h;
    CHECK_NEAR(v, mp.volume, 0.01 * v); // 64 segments: the polygon's area is 0.16 % short
    double ixx = v * (3 * r * r + h * h) / 12, izz = v * r * r / 2;
    check_diagonal(&mp, ixx, ixx, izz, 0.01);
    sh_mesh_free(&m);
}

static void test_bad_meshes(void)
{
    sh_mesh m = {0};
    sh_shape_box(&m, 1, 1, 1);
    for (int t = 0; t < m.triangle_count; t++) // inside out
    {
        uint32_t tmp = m.indices[3 * t + 1];
        m.indices[3 * t + 1] = m.indices[3 * t + 2];
        m.indices[3 * t + 2] = tmp;
    }
    sh_mass_props mp;
    sh_error err = {{0}};
    CHECK(!sh_mass_from_triangles(m.xyz, m.indices, m.triangle_count, &mp, &err));
    CHECK(strstr(err.message, "no volume") != NULL);
    CHECK(!sh_mass_from_triangles(m.xyz, m.indices, 2, &mp, &err));
    sh_mesh_free(&m);
}

int main(void)
{
    RUN(test_unit_cube);
    RUN(test_box_1x2x3_shifted);
    RUN(test_regular_tetrahedron);
    RUN(test_corner_tetrahedron);
    RUN(test_square_pyramid);
    RUN(test_icosphere);
    RUN(test_cylinder);
    RUN(test_bad_meshes);
    return CHECK_SUMMARY();
}
