#pragma once
// Rigid transform: world = q · local + p. Quaternion in cglm order (x, y, z, w), unit.
// Shared by the narrow phase and the solver; header-only so hot loops inline it.

#include "vmath.h"

#include <cglm/cglm.h>

typedef struct sh_transform
{
    versor q; // rotation body-local → world
    vec3 p;   // position of the body origin (its centre of mass), world (m)
} sh_transform;

static inline void sh_transform_point(const sh_transform* x, const vec3 local, vec3 out)
{
    vec3 r;
    quat_rotate_normalised(x->q, local, r);
    add3(r, x->p, out);
}

static inline void sh_transform_inv_point(const sh_transform* x, const vec3 world, vec3 out)
{
    vec3 d;
    versor qi;
    sub3(world, x->p, d);
    quat_conjugate(x->q, qi);
    glm_quat_rotatev(qi, d, out);
}

static inline void sh_transform_vector(const sh_transform* x, const vec3 local, vec3 out)
{
    quat_rotate_normalised(x->q, local, out);
}

static inline void sh_transform_inv_vector(const sh_transform* x, const vec3 world, vec3 out)
{
    versor qi;
    quat_conjugate(x->q, qi);
    quat_rotate_normalised(qi, world, out);
}
