// Bodies: creation from a def, state access, impulses. A body lives at its centre of mass; the asset
// origin's pose is derived on the way out (position = COM − R·centroid).
#include "world.h"

#include <math.h>
#include <string.h>

sh_body_def sh_body_def_default(void)
{
    sh_body_def d;
    memset(&d, 0, sizeof d);
    d.type = SH_BODY_DYNAMIC;
    glm_quat_identity(d.orientation);
    d.mass = 10.0f;
    d.restitution = 0.8f;
    d.friction = 0.5f;
    d.cookie = SH_BODY_COOKIE;
    return d;
}

static bool finite3(const float* v)
{
    return isfinite(v[0]) && isfinite(v[1]) && isfinite(v[2]);
}

void sh_body_world_inv_inertia(const sh_body* b, mat3 out)
{
    // I_w⁻¹ = R I⁻¹ Rᵀ
    mat3 r, rt, tmp;
    quat_to_mat3(b->xf.q, r);
    glm_mat3_transpose_to(r, rt);
    glm_mat3_mul(r, (vec3*)b->inv_inertia_local, tmp);
    glm_mat3_mul(tmp, rt, out);
}

void sh_body_compute_aabb(const sh_body* b, float dt, sh_aabb* out)
{
    // Local AABB rotated by |R| (cheap, exact for axis-aligned boxes), then swept by the step's motion so
    // a fast body's proxy covers where it will be (the broad phase must find pairs a speculative contact
    // needs).
    const sh_hull* h = b->hull;
    vec3 c, e;
    for (int i = 0; i < 3; i++)
    {
        c[i] = 0.5f * (h->aabb_min[i] + h->aabb_max[i]);
        e[i] = 0.5f * (h->aabb_max[i] - h->aabb_min[i]);
    }
    mat3 r;
    quat_to_mat3(b->xf.q, r);
    vec3 wc;
    glm_mat3_mulv(r, c, wc);
    for (int i = 0; i < 3; i++)
    {
        float ext = fabsf(r[0][i]) * e[0] + fabsf(r[1][i]) * e[1] + fabsf(r[2][i]) * e[2];
        float lo = b->xf.p[i] + wc[i] - ext, hi = b->xf.p[i] + wc[i] + ext;
        float d = b->v[i] * dt;
        if (d < 0)
            lo += d;
        else
            hi += d;
        out->lo[i] = lo;
        out->hi[i] = hi;
    }
}

// Bounds as in physics.h; the "at most" texts spell the caps out in the digits a user types.
static const struct
{
    const char* name;
    double lo, hi;
    bool open_lo;
    const char* what;    // non-finite or below lo
    const char* too_big; // above hi
} scalars[SH_BODY_SCALAR_COUNT] = {
    [SH_BODY_MASS] = {"mass", 0.0, SH_BODY_MASS_MAX, true, "a finite number > 0", "at most 1000000000"},
    [SH_BODY_RESTITUTION] = {"restitution", 0.0, 1.0, false, "a finite number in 0 … 1",
                             "a finite number in 0 … 1"},
    [SH_BODY_FRICTION] = {"friction", 0.0, SH_BODY_FRICTION_MAX, false, "a finite number >= 0",
                          "at most 1000000"},
};

const char* sh_body_scalar_name(sh_body_scalar which)
{
    return (int)which >= 0 && which < SH_BODY_SCALAR_COUNT ? scalars[which].name : "?";
}

const char* sh_body_scalar_check(sh_body_scalar which, double v)
{
    if ((int)which < 0 || which >= SH_BODY_SCALAR_COUNT)
        return "a known body field";
    if (!isfinite(v) || (scalars[which].open_lo ? v <= scalars[which].lo : v < scalars[which].lo))
        return scalars[which].what;
    return v > scalars[which].hi ? scalars[which].too_big : NULL;
}

static bool check_scalar(sh_body_scalar which, double v, sh_error* err)
{
    const char* what = sh_body_scalar_check(which, v);
    return what == NULL || sh_error_set(err, "%s must be %s", scalars[which].name, what);
}

static int max_i(int a, int b)
{
    return a > b ? a : b;
}

bool sh_body_create(sh_world* w, const sh_body_def* def, sh_body_id* out, sh_error* err)
{
    *out = SH_NULL_BODY;
    if (def == NULL || def->cookie != SH_BODY_COOKIE)
        return sh_error_set(err, "body def not from sh_body_def_default()");
    if (def->hull == NULL)
        return sh_error_set(err, "body def has no hull");
    if (!finite3(def->position) || !finite3(def->velocity) || !finite3(def->angular_velocity))
        return sh_error_set(err, "position and velocities must be finite");
    float qn = quat_norm(def->orientation);
    if (!isfinite(qn) || qn < 1e-6f)
        return sh_error_set(err, "orientation must be a finite non-zero quaternion");
    if ((def->type == SH_BODY_DYNAMIC && !check_scalar(SH_BODY_MASS, def->mass, err)) ||
        !check_scalar(SH_BODY_RESTITUTION, def->restitution, err) ||
        !check_scalar(SH_BODY_FRICTION, def->friction, err))
        return false;
    if (!(def->hull->mass.volume > 0.0f) || !isfinite(def->hull->mass.volume))
        return sh_error_set(err, "hull has no volume");
    const sh_hull* hull = sh_shape_get(w, def->hull, err);
    if (hull == NULL)
        return false;

    int index = sh_id_pool_alloc(&w->body_pool);
    if (!SH_ARRAY_RESERVE(w->bodies, index + 1) || !SH_ARRAY_RESERVE(w->order, w->order.count + 1))
    {
        sh_id_pool_free(&w->body_pool, index);
        return sh_error_set(err, "out of memory");
    }
    while (w->bodies.count <= index)
    {
        memset(&w->bodies.data[w->bodies.count], 0, sizeof(sh_body));
        w->bodies.count++;
    }
    sh_body* b = &w->bodies.data[index];
    uint32_t gen = b->in_use ? b->generation + 1 : b->generation;
    memset(b, 0, sizeof *b);
    b->generation = gen;
    b->in_use = true;
    b->hull = hull;
    b->is_static = def->type == SH_BODY_STATIC;
    b->restitution = def->restitution;
    b->friction = def->friction;
    quat_normalize_to(def->orientation, b->xf.q);
    copy3(def->hull->mass.centroid, b->local_center);
    vec3 rc;
    glm_quat_rotatev(b->xf.q, b->local_center, rc);
    add3(def->position, rc, b->xf.p);
    float extent2 = 0.0f;
    for (int i = 0; i < hull->vertex_count; i++)
    {
        float d2 = glm_vec3_norm2(hull->vertices[i]);
        extent2 = d2 > extent2 ? d2 : extent2;
    }
    b->extent = sqrtf(extent2);
    if (!b->is_static)
    {
        float density = def->mass / def->hull->mass.volume;
        b->mass = def->mass;
        b->inv_mass = 1.0f / def->mass;
        mat3_copy(def->hull->mass.inertia, b->inertia_local);
        glm_mat3_scale(b->inertia_local, density);
        // Guard a degenerate (needle/sliver) inertia: floor each diagonal so the inverse stays finite.
        float floor_i = 1e-6f * def->mass * (b->extent * b->extent + 1e-6f);
        for (int i = 0; i < 3; i++)
            if (!(b->inertia_local[i][i] > floor_i))
                b->inertia_local[i][i] = floor_i;
        glm_mat3_inv(b->inertia_local, b->inv_inertia_local);
        float tr = (b->inertia_local[0][0] + b->inertia_local[1][1] + b->inertia_local[2][2]) / 3.0f;
        float dev = 0.0f;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                dev = fmaxf(dev, fabsf(b->inertia_local[i][j] - (i == j ? tr : 0.0f)));
        b->isotropic = dev <= 1e-6f * tr;
        copy3(def->velocity, b->v);
        copy3(def->angular_velocity, b->w);
    }
    b->sleep_island = -1;
    b->island_next = -1;
    b->solver_index = -1;
    sh_aabb box;
    sh_body_compute_aabb(b, 0.0f, &box);
    for (int i = 0; i < 3; i++)
    {
        box.lo[i] -= SH_AABB_MARGIN;
        box.hi[i] += SH_AABB_MARGIN;
    }
    b->fat_box = box;
    sh_tree* tree = b->is_static ? &w->bp.static_tree : &w->bp.dynamic_tree;
    b->proxy = sh_tree_insert(tree, &box, index);
    if (b->proxy < 0)
    {
        b->in_use = false;
        sh_id_pool_free(&w->body_pool, index);
        return sh_error_set(err, "out of memory");
    }
    if (!b->is_static)
    {
        if (w->bp.moved_count == w->bp.moved_capacity)
        {
            int cap = max_i(64, 2 * w->bp.moved_capacity);
            int* m = sh_realloc(w->bp.moved, (size_t)w->bp.moved_capacity * sizeof(int),
                                (size_t)cap * sizeof(int));
            if (m == NULL)
            {
                sh_tree_remove(tree, b->proxy);
                b->in_use = false;
                sh_id_pool_free(&w->body_pool, index);
                return sh_error_set(err, "out of memory");
            }
            w->bp.moved = m;
            w->bp.moved_capacity = cap;
        }
        w->bp.moved[w->bp.moved_count++] = index;
    }
    if (def->start_asleep && !b->is_static)
    {
        // Its own sleeping island: the first touching contact or impulse wakes it like any sleeper.
        int island = sh_id_pool_alloc(&w->island_pool);
        if (SH_ARRAY_RESERVE(w->islands, island + 1))
        {
            while (w->islands.count <= island)
                w->islands.data[w->islands.count++] = (sh_island){-1, 0};
            w->islands.data[island] = (sh_island){index, 1};
            b->sleeping = true;
            b->sleep_island = island;
            b->island_next = -1;
        }
    }
    w->order.data[w->order.count++] = index;
    out->index = index;
    out->generation = gen;
    return true;
}

static sh_body* get(const sh_world* w, sh_body_id id)
{
    if (id.index <= 0 || id.index >= w->bodies.count)
        return NULL;
    sh_body* b = &w->bodies.data[id.index];
    if (!b->in_use || b->generation != id.generation)
        return NULL;
    return b;
}

bool sh_body_is_valid(const sh_world* w, sh_body_id id)
{
    return get(w, id) != NULL;
}

bool sh_body_get_state(const sh_world* w, sh_body_id id, sh_body_state* out)
{
    const sh_body* b = get(w, id);
    if (b == NULL)
        return false;
    vec3 rc;
    quat_rotate_normalised(b->xf.q, b->local_center, rc);
    sub3(b->xf.p, rc, out->position);
    quat_copy(b->xf.q, out->orientation);
    copy3(b->xf.p, out->center);
    copy3(b->v, out->velocity);
    copy3(b->w, out->angular_velocity);
    out->mass = b->mass;
    mat3_copy(b->inertia_local, out->inertia);
    out->restitution = b->restitution;
    out->friction = b->friction;
    out->is_static = b->is_static;
    out->sleeping = b->sleeping;
    return true;
}

void sh_body_wake(sh_world* w, int body)
{
    sh_body* b = &w->bodies.data[body];
    if (b->sleeping && b->sleep_island >= 0)
        sh_island_wake(w, b->sleep_island);
    b->sleep_time = 0.0f;
}

bool sh_body_set_velocity(sh_world* w, sh_body_id id, const vec3 v, const vec3 av, sh_error* err)
{
    sh_body* b = get(w, id);
    if (b == NULL)
        return sh_error_set(err, "unknown body id");
    if (b->is_static)
        return sh_error_set(err, "environment bodies do not move");
    if (!finite3(v) || !finite3(av))
        return sh_error_set(err, "velocities must be finite");
    sh_body_wake(w, id.index);
    copy3(v, b->v);
    copy3(av, b->w);
    return true;
}

bool sh_body_apply_impulse(sh_world* w, sh_body_id id, const vec3 impulse, const float* point, sh_error* err)
{
    sh_body* b = get(w, id);
    if (b == NULL)
        return sh_error_set(err, "unknown body id");
    if (!finite3(impulse) || (point != NULL && !finite3(point)))
        return sh_error_set(err, "impulse and point must be finite");
    if (b->is_static)
        return true; // an impulse on the environment changes nothing
    sh_body_wake(w, id.index);
    vec3 dv;
    scale3(impulse, b->inv_mass, dv);
    glm_vec3_add(b->v, dv, b->v);
    if (point != NULL)
    {
        vec3 r, torque, dw;
        mat3 inv_i;
        sub3(point, b->xf.p, r);
        cross3(r, impulse, torque);
        sh_body_world_inv_inertia(b, inv_i);
        glm_mat3_mulv(inv_i, torque, dw);
        glm_vec3_add(b->w, dw, b->w);
    }
    return true;
}
