// Reads of a world's state for recordings (simhost/world_snapshot.h): mass distributions and the energy
// split. The world's serialize/restore for resume will live here too, away from the solver's files.
#include "simhost/world_snapshot.h"

#include "world.h"

#include <cglm/cglm.h>
#include <string.h>

bool sh_body_get_inertia(const sh_world* w, sh_body_id id, float local_center[3], float inertia[9])
{
    if (!sh_body_is_valid(w, id))
        return false;
    const sh_body* b = &w->bodies.data[id.index];
    memcpy(local_center, b->local_center, sizeof(float) * 3);
    // cglm's mat3 is column-major; the inertia tensor is symmetric, so rows and columns agree.
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            inertia[3 * r + c] = b->is_static ? 0.0f : b->inertia_local[c][r];
    return true;
}

void sh_world_energy_parts(const sh_world* w, sh_energy_parts* out)
{
    double g = glm_vec3_norm((float*)w->def.gravity);
    double lin = 0.0, rot = 0.0, pe = 0.0;
    for (int i = 1; i < w->bodies.count; i++)
    {
        const sh_body* b = &w->bodies.data[i];
        if (!b->in_use || b->is_static)
            continue;
        // ½ ωᵀ I_w ω with I_w ω = R I (Rᵀ ω).
        versor qc;
        vec3 wb, iw;
        glm_quat_conjugate((float*)b->xf.q, qc);
        glm_quat_rotatev(qc, (float*)b->w, wb);
        glm_mat3_mulv((vec3*)b->inertia_local, wb, iw);
        lin += 0.5 * b->mass * glm_vec3_norm2((float*)b->v);
        rot += 0.5 * (double)glm_vec3_dot(wb, iw);
        pe += b->mass * g * b->xf.p[2];
    }
    out->linear = lin;
    out->rotational = rot;
    out->potential = pe;
}
