#include "contact_solver.h"

#include <math.h>
// Normal points of a manifold are swept this many times per pass before friction: four points on a face
// are redundant for three degrees of freedom, and one Gauss-Seidel sweep leaves an uneven split that rocks
// a settling stack (measured: 1e-3 rad/s of rocking with one sweep, 1e-4 with three).
#define SH_INNER 3

sh_softness sh_make_soft(float hertz, float zeta, float h)
{
    // Soft constraint as a mass-spring-damper solved implicitly (Catto, "Solver2D"): bias rate, and how
    // much of the rigid impulse and of the accumulated impulse to apply.
    if (hertz <= 0.0f)
        return (sh_softness){0.0f, 1.0f, 0.0f};
    float omega = 2.0f * GLM_PIf * hertz;
    float a1 = 2.0f * zeta + h * omega;
    float a2 = h * omega * a1;
    float a3 = 1.0f / (1.0f + a2);
    return (sh_softness){omega / a1, a2 * a3, a3};
}

// Orthonormal tangents from the normal alone (Duff et al. 2017 branchless basis), so the same normal
// gives the same tangents next step and friction impulses warm-start in the right frame.
static void tangents(const vec3 n, vec3 t1, vec3 t2)
{
    float sign = copysignf(1.0f, n[2]);
    float a = -1.0f / (sign + n[2]);
    float b = n[0] * n[1] * a;
    t1[0] = 1.0f + sign * n[0] * n[0] * a;
    t1[1] = sign * b;
    t1[2] = -sign * n[0];
    t2[0] = b;
    t2[1] = sign + n[1] * n[1] * a;
    t2[2] = -n[1];
}

static float eff_mass(const sh_solver_body* a, const sh_solver_body* b, const vec3 ra, const vec3 rb,
                      const vec3 dir)
{
    vec3 ca, cb, ia, ib;
    glm_vec3_cross((float*)ra, (float*)dir, ca);
    glm_vec3_cross((float*)rb, (float*)dir, cb);
    glm_mat3_mulv((vec3*)a->inv_i, ca, ia);
    glm_mat3_mulv((vec3*)b->inv_i, cb, ib);
    float k = a->inv_mass + b->inv_mass + glm_vec3_dot(ca, ia) + glm_vec3_dot(cb, ib);
    return k > 0.0f ? 1.0f / k : 0.0f;
}

// Relative velocity of B's point against A's at the anchors.
SH_INLINE void rel_vel(const sh_solver_body* a, const sh_solver_body* b, const vec3 ra, const vec3 rb,
                       vec3 out)
{
    vec3 wa, wb;
    glm_vec3_cross((float*)a->w, (float*)ra, wa);
    glm_vec3_cross((float*)b->w, (float*)rb, wb);
    out[0] = b->v[0] + wb[0] - a->v[0] - wa[0];
    out[1] = b->v[1] + wb[1] - a->v[1] - wa[1];
    out[2] = b->v[2] + wb[2] - a->v[2] - wa[2];
}

SH_INLINE void apply(sh_solver_body* a, sh_solver_body* b, const vec3 ra, const vec3 rb, const vec3 p)
{
    vec3 ta, tb, da, db;
    glm_vec3_cross((float*)ra, (float*)p, ta);
    glm_vec3_cross((float*)rb, (float*)p, tb);
    glm_mat3_mulv(a->inv_i, ta, da);
    glm_mat3_mulv(b->inv_i, tb, db);
    for (int k = 0; k < 3; k++)
    {
        a->v[k] -= a->inv_mass * p[k];
        a->w[k] -= da[k];
        b->v[k] += b->inv_mass * p[k];
        b->w[k] += db[k];
    }
}

void sh_contact_solver_prepare(sh_contact_solver* s, sh_world* w)
{
    float substep_rate = s->inv_h;
    float hertz = min_f(w->def.contact_hertz, 0.25f * substep_rate);
    sh_softness soft = sh_make_soft(hertz, w->def.contact_damping_ratio, s->h);
    // Against a static (or not simulated) body the effective mass is only one body's: stiffer is stable.
    sh_softness static_soft = sh_make_soft(2.0f * hertz, w->def.contact_damping_ratio, s->h);
    for (int i = 0; i < s->count; i++)
    {
        sh_constraint* c = &s->constraints[i];
        const sh_contact* ct = &w->contacts.data[c->contact];
        const sh_body* ba = &w->bodies.data[ct->body_a];
        const sh_body* bb = &w->bodies.data[ct->body_b];
        sh_solver_body* a = &s->bodies[c->a];
        sh_solver_body* b = &s->bodies[c->b];
        c->soft = (a->inv_mass == 0.0f || b->inv_mass == 0.0f) ? static_soft : soft;
        c->friction = ct->friction;
        c->restitution = ct->restitution;
        glm_vec3_copy((float*)ct->manifold.normal, c->normal);
        tangents(c->normal, c->t1, c->t2);
        c->point_count = ct->manifold.point_count;
        c->active = false;
        for (int j = 0; j < c->point_count; j++)
        {
            const sh_manifold_point* mp = &ct->manifold.points[j];
            const sh_contact_point_state* st = &ct->state[j];
            sh_constraint_point* cp = &c->points[j];
            vec3 mid;
            glm_vec3_add((float*)mp->point_a, (float*)mp->point_b, mid);
            glm_vec3_scale(mid, 0.5f, mid);
            glm_vec3_sub(mid, (float*)ba->xf.p, cp->ra);
            glm_vec3_sub(mid, (float*)bb->xf.p, cp->rb);
            vec3 d;
            glm_vec3_sub(cp->rb, cp->ra, d);
            cp->base_separation = mp->separation - glm_vec3_dot(d, c->normal);
            cp->normal_impulse = st->normal_impulse;
            cp->tangent_impulse[0] = st->tangent_impulse[0];
            cp->tangent_impulse[1] = st->tangent_impulse[1];
            cp->max_normal_impulse = 0.0f;
            cp->normal_mass = eff_mass(a, b, cp->ra, cp->rb, c->normal);
            cp->tangent_mass[0] = eff_mass(a, b, cp->ra, cp->rb, c->t1);
            cp->tangent_mass[1] = eff_mass(a, b, cp->ra, cp->rb, c->t2);
            vec3 dv;
            rel_vel(a, b, cp->ra, cp->rb, dv);
            cp->relative_velocity = glm_vec3_dot(dv, c->normal);
            // A speculative point closes its gap under gravity during the step: the speed at impact is
            // sqrt(v0² + 2·a·s0) (a = closing acceleration from gravity), exact for a free-flight approach.
            if (mp->separation > 0.0f && cp->relative_velocity < 0.0f)
            {
                float ga = a->inv_mass > 0.0f ? 1.0f : 0.0f, gb = b->inv_mass > 0.0f ? 1.0f : 0.0f;
                float accel = -(gb - ga) * glm_vec3_dot(w->def.gravity, c->normal);
                float v2 = cp->relative_velocity * cp->relative_velocity + 2.0f * accel * mp->separation;
                cp->relative_velocity = -sqrtf(max_f(v2, 0.0f));
            }
        }
    }
}

void sh_contact_solver_warm_start(sh_contact_solver* s)
{
    for (int i = 0; i < s->count; i++)
    {
        sh_constraint* c = &s->constraints[i];
        sh_solver_body* a = &s->bodies[c->a];
        sh_solver_body* b = &s->bodies[c->b];
        for (int j = 0; j < c->point_count; j++)
        {
            const sh_constraint_point* cp = &c->points[j];
            vec3 p;
            for (int k = 0; k < 3; k++)
                p[k] = cp->normal_impulse * c->normal[k] + cp->tangent_impulse[0] * c->t1[k] +
                       cp->tangent_impulse[1] * c->t2[k];
            apply(a, b, cp->ra, cp->rb, p);
        }
    }
}

// Current separation from the bodies' motion since the collide (one collide per step, as Box2D v3).
SH_INLINE float current_separation(const sh_solver_body* a, const sh_solver_body* b,
                                   const sh_constraint_point* cp, const vec3 n)
{
    vec3 pa, pb;
    glm_quat_rotatev((float*)a->dq, (float*)cp->ra, pa);
    glm_quat_rotatev((float*)b->dq, (float*)cp->rb, pb);
    float d0 = b->dp[0] - a->dp[0] + pb[0] - pa[0];
    float d1 = b->dp[1] - a->dp[1] + pb[1] - pa[1];
    float d2 = b->dp[2] - a->dp[2] + pb[2] - pa[2];
    return d0 * n[0] + d1 * n[1] + d2 * n[2] + cp->base_separation;
}

// Friction: both tangents at once, clamped to the Coulomb disc mu*lambda_n of the point (isotropic, unlike
// two independent box limits).
SH_INLINE void solve_friction(sh_constraint* c, sh_solver_body* a, sh_solver_body* b, bool reverse)
{
    const int last = c->point_count - 1;
    for (int jj = 0; jj <= last; jj++)
    {
        sh_constraint_point* cp = &c->points[reverse ? last - jj : jj];
        vec3 dv;
        rel_vel(a, b, cp->ra, cp->rb, dv);
        float v1 = glm_vec3_dot(dv, c->t1), v2 = glm_vec3_dot(dv, c->t2);
        float n1 = cp->tangent_impulse[0] - cp->tangent_mass[0] * v1;
        float n2 = cp->tangent_impulse[1] - cp->tangent_mass[1] * v2;
        float lim = c->friction * cp->normal_impulse;
        float len2 = n1 * n1 + n2 * n2;
        if (len2 > lim * lim)
        {
            float sc = len2 > 0.0f ? lim / sqrtf(len2) : 0.0f;
            n1 *= sc;
            n2 *= sc;
        }
        float d1 = n1 - cp->tangent_impulse[0], d2 = n2 - cp->tangent_impulse[1];
        cp->tangent_impulse[0] = n1;
        cp->tangent_impulse[1] = n2;
        vec3 p;
        for (int k = 0; k < 3; k++)
            p[k] = d1 * c->t1[k] + d2 * c->t2[k];
        apply(a, b, cp->ra, cp->rb, p);
    }
}

SH_INLINE void solve_one(sh_contact_solver* s, sh_constraint* c, bool use_bias)
{
    const float inv_h = s->inv_h;
    const float push_max = s->push_max;
    {
        sh_solver_body* a = &s->bodies[c->a];
        sh_solver_body* b = &s->bodies[c->b];
        // Restitution wants the speed at impact, not at step start: gravity keeps accelerating a body
        // during the sub-steps before a speculative contact closes (1 m drop: 4.25 vs 4.41 m/s, 8 % of
        // bounce height). Until the constraint first pushes, remember every point's vn before the pass, so
        // all points of a face share the same instant (per-point instants would spin a flat landing).
        float vn_before[SH_MAX_MANIFOLD_POINTS];
        bool pushed = false;
        if (!c->active)
            for (int j = 0; j < c->point_count; j++)
            {
                vec3 dv;
                rel_vel(a, b, c->points[j].ra, c->points[j].rb, dv);
                vn_before[j] = glm_vec3_dot(dv, c->normal);
            }
        // Alternate the point order pass by pass (symmetric Gauss-Seidel): a fixed order favours the first
        // point of every face, which tilts a settling stack the same way each pass and walks it sideways.
        const int last = c->point_count - 1;
        for (int kk = 0; kk < SH_INNER * (last + 1); kk++)
        {
            const int jj = kk % (last + 1);
            const int j = s->reverse ? last - jj : jj;
            sh_constraint_point* cp = &c->points[j];
            float sep = current_separation(a, b, cp, c->normal);
            float bias = 0.0f, mass_scale = 1.0f, impulse_scale = 0.0f;
            if (sep > 0.0f)
                bias = sep * inv_h; // speculative: allow closing exactly the gap, no softness
            else if (use_bias)
            {
                bias = max_f(c->soft.bias_rate * sep, -push_max);
                mass_scale = c->soft.mass_scale;
                impulse_scale = c->soft.impulse_scale;
            }
            vec3 dv;
            rel_vel(a, b, cp->ra, cp->rb, dv);
            float vn = glm_vec3_dot(dv, c->normal);
            float imp = -cp->normal_mass * mass_scale * (vn + bias) - impulse_scale * cp->normal_impulse;
            float next = max_f(cp->normal_impulse + imp, 0.0f);
            imp = next - cp->normal_impulse;
            pushed = pushed || imp > 0.0f;
            cp->normal_impulse = next;
            cp->max_normal_impulse = max_f(cp->max_normal_impulse, imp);
            vec3 p;
            glm_vec3_scale(c->normal, imp, p);
            apply(a, b, cp->ra, cp->rb, p);
        }
        if (!c->active && pushed)
        {
            c->active = true;
            for (int j = 0; j < c->point_count; j++)
                c->points[j].relative_velocity = min_f(c->points[j].relative_velocity, vn_before[j]);
        }
        solve_friction(c, a, b, s->reverse);
    }
}

void sh_contact_solver_solve(sh_contact_solver* s, bool use_bias)
{
    for (int i = 0; i < s->count; i++)
        solve_one(s, &s->constraints[i], use_bias);
    s->reverse = !s->reverse;
}

void sh_contact_solver_solve_subset(sh_contact_solver* s, const int* list, int count, bool use_bias)
{
    for (int i = 0; i < count; i++)
        solve_one(s, &s->constraints[list[i]], use_bias);
    s->reverse = !s->reverse;
}

void sh_contact_solver_restitution(sh_contact_solver* s, const int* list, int count, int iterations)
{
    const float threshold = s->restitution_threshold;
    for (int it = 0; it < iterations; it++)
        for (int i = 0; i < count; i++)
        {
            sh_constraint* c = &s->constraints[list[i]];
            if (c->restitution == 0.0f)
                continue;
            sh_solver_body* a = &s->bodies[c->a];
            sh_solver_body* b = &s->bodies[c->b];
            for (int j = 0; j < c->point_count; j++)
            {
                sh_constraint_point* cp = &c->points[j];
                if (cp->relative_velocity > -threshold || cp->max_normal_impulse == 0.0f)
                    continue;
                vec3 dv;
                rel_vel(a, b, cp->ra, cp->rb, dv);
                float vn = glm_vec3_dot(dv, c->normal);
                float imp = -cp->normal_mass * (vn + c->restitution * cp->relative_velocity);
                float next = max_f(cp->normal_impulse + imp, 0.0f);
                imp = next - cp->normal_impulse;
                cp->normal_impulse = next;
                cp->max_normal_impulse = max_f(cp->max_normal_impulse, imp);
                vec3 p;
                glm_vec3_scale(c->normal, imp, p);
                apply(a, b, cp->ra, cp->rb, p);
            }
            // Friction too: the restitution impulses of a face's points are uneven within a sweep and spin
            // the body a little; friction against that spin would otherwise be left unbalanced as a
            // sideways drift (measured 16 mm after a 1 m drop without it).
            solve_friction(c, a, b, false);
        }
}

float sh_contact_solver_residual(const sh_contact_solver* s)
{
    float worst = 0.0f;
    for (int i = 0; i < s->count; i++)
    {
        const sh_constraint* c = &s->constraints[i];
        const sh_solver_body* a = &s->bodies[c->a];
        const sh_solver_body* b = &s->bodies[c->b];
        for (int j = 0; j < c->point_count; j++)
        {
            const sh_constraint_point* cp = &c->points[j];
            vec3 dv;
            rel_vel(a, b, cp->ra, cp->rb, dv);
            float vn = glm_vec3_dot(dv, (float*)c->normal);
            float err = 0.0f;
            if (cp->normal_impulse > 0.0f)
                err = fabsf(vn);
            else if (current_separation(a, b, cp, c->normal) < 0.0f)
                err = max_f(-vn, 0.0f);
            worst = max_f(worst, err);
        }
    }
    return worst;
}

void sh_contact_solver_store(sh_contact_solver* s, sh_world* w)
{
    for (int i = 0; i < s->count; i++)
    {
        const sh_constraint* c = &s->constraints[i];
        sh_contact* ct = &w->contacts.data[c->contact];
        for (int j = 0; j < c->point_count; j++)
        {
            ct->state[j].normal_impulse = c->points[j].normal_impulse;
            ct->state[j].tangent_impulse[0] = c->points[j].tangent_impulse[0];
            ct->state[j].tangent_impulse[1] = c->points[j].tangent_impulse[1];
            ct->state[j].max_normal_impulse = c->points[j].max_normal_impulse;
        }
    }
}
