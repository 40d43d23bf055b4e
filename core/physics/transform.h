#pragma once
// Rigid transform: world = q · local + p. Quaternion in cglm order (x, y, z, w), unit.
// Shared by the narrow phase and the solver; header-only so hot loops inline it.

#include <cglm/cglm.h>

typedef struct sh_transform
{
    versor q; // rotation body-local → world
    vec3 p;   // position of the body origin (its centre of mass), world (m)
} sh_transform;

static inline void sh_transform_point(const sh_transform* x, const vec3 local, vec3 out)
{
    vec3 r;
    glm_quat_rotatev((float*)x->q, (float*)local, r);
    glm_vec3_add(r, (float*)x->p, out);
}

static inline void sh_transform_inv_point(const sh_transform* x, const vec3 world, vec3 out)
{
    vec3 d;
    versor qi;
    glm_vec3_sub((float*)world, (float*)x->p, d);
    glm_quat_conjugate((float*)x->q, qi);
    glm_quat_rotatev(qi, d, out);
}

static inline void sh_transform_vector(const sh_transform* x, const vec3 local, vec3 out)
{
    glm_quat_rotatev((float*)x->q, (float*)local, out);
}

static inline void sh_transform_inv_vector(const sh_transform* x, const vec3 world, vec3 out)
{
    versor qi;
    glm_quat_conjugate((float*)x->q, qi);
    glm_quat_rotatev(qi, (float*)world, out);
}
