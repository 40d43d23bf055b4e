// Mass properties of a closed triangle mesh at unit density, exactly (up to rounding): the solid is the
// signed sum of tetrahedra (r, a, b, c) over its triangles for a reference point r, and each tetrahedron's
// volume, first and second moments have closed forms (Tonon 2004, "Explicit exact formulas for the 3-D
// tetrahedron inertia tensor"). Everything runs in double; r is the first vertex so coordinates stay small
// relative to the shape (a mesh far from its origin would otherwise lose digits to cancellation).
#include "simhost/hull.h"

#include <math.h>

bool sh_mass_from_triangles(const float* xyz, const uint32_t* indices, int triangle_count, sh_mass_props* out,
                            sh_error* err)
{
    if (triangle_count < 4)
        return sh_error_set(err, "mesh encloses no volume (%d triangles)", triangle_count);
    double ref[3];
    for (int k = 0; k < 3; k++)
        ref[k] = xyz[3 * indices[0] + k];

    double volume = 0, first[3] = {0, 0, 0}, second[3][3] = {{0}};
    for (int t = 0; t < triangle_count; t++)
    {
        double v[3][3];
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++)
                v[j][k] = xyz[3 * indices[3 * t + j] + k] - ref[k];
        // 6 × signed volume of the tetrahedron (0, a, b, c).
        double det = v[0][0] * (v[1][1] * v[2][2] - v[1][2] * v[2][1]) -
                     v[0][1] * (v[1][0] * v[2][2] - v[1][2] * v[2][0]) +
                     v[0][2] * (v[1][0] * v[2][1] - v[1][1] * v[2][0]);
        volume += det / 6;
        double s[3];
        for (int k = 0; k < 3; k++)
        {
            s[k] = v[0][k] + v[1][k] + v[2][k]; // the fourth corner is the origin
            first[k] += det / 24 * s[k];        // volume × centroid: det/6 × s/4
        }
        // ∫ x_i x_j dV over the tetrahedron = det/120 × (Σ_corners v_i v_j + s_i s_j).
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                double sum = v[0][i] * v[0][j] + v[1][i] * v[1][j] + v[2][i] * v[2][j];
                second[i][j] += det / 120 * (sum + s[i] * s[j]);
            }
    }
    if (!isfinite(volume) || !(volume > 0))
        return sh_error_set(err, "mesh encloses no volume (not closed, or wound inside out)");

    double c[3];
    for (int k = 0; k < 3; k++)
        c[k] = first[k] / volume;
    // Second moments about the centroid (parallel-axis shift), then I = tr(C)·1 − C.
    double cc[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            cc[i][j] = second[i][j] - volume * c[i] * c[j];
    double trace = cc[0][0] + cc[1][1] + cc[2][2];
    out->volume = (float)volume;
    for (int k = 0; k < 3; k++)
        out->centroid[k] = (float)(c[k] + ref[k]);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            out->inertia[j][i] = (float)((i == j ? trace : 0) - cc[i][j]); // cglm: column j, row i
    for (int i = 0; i < 3; i++)
        if (!isfinite(out->centroid[i]) || !(out->inertia[i][i] > 0))
            return sh_error_set(err, "mesh mass properties are not finite");
    return true;
}
