#include "contact_solver.h"

#include <float.h>
#include <math.h>

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
void sh_contact_tangents(const vec3 n, vec3 t1, vec3 t2)
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

static float make_row(const sh_solver_body* a, const sh_solver_body* b, const vec3 ra, const vec3 rb,
                      const vec3 dir, sh_jacobian_row* row)
{
    cross3(ra, dir, row->ja);
    cross3(rb, dir, row->jb);
    mat3_mulv3(a->inv_i, row->ja, row->ka);
    mat3_mulv3(b->inv_i, row->jb, row->kb);
    float k = a->inv_mass + b->inv_mass + glm_vec3_dot(row->ja, row->ka) + glm_vec3_dot(row->jb, row->kb);
    return k > 0.0f ? 1.0f / k : 0.0f;
}

// Relative velocity of B's point against A's along the row's direction d.
SH_INLINE float row_vel(const sh_solver_body* a, const sh_solver_body* b, const sh_jacobian_row* r,
                        const float* d)
{
    return (b->v[0] - a->v[0]) * d[0] + (b->v[1] - a->v[1]) * d[1] + (b->v[2] - a->v[2]) * d[2] +
           dot3(b->w, r->jb) - dot3(a->w, r->ja);
}

SH_INLINE void row_apply(sh_solver_body* a, sh_solver_body* b, const sh_jacobian_row* r, const float* d,
                         float p)
{
    const float pa = a->inv_mass * p, pb = b->inv_mass * p;
    for (int k = 0; k < 3; k++)
    {
        a->v[k] -= pa * d[k];
        a->w[k] -= p * r->ka[k];
        b->v[k] += pb * d[k];
        b->w[k] += p * r->kb[k];
    }
}

// The normal acceleration gravity gives the gap's closing (B towards A along n); positive closes it.
SH_INLINE float closing_accel(const sh_solver_body* a, const sh_solver_body* b, const float* g,
                              const float* n)
{
    float ga = a->inv_mass > 0.0f ? 1.0f : 0.0f, gb = b->inv_mass > 0.0f ? 1.0f : 0.0f;
    return -(gb - ga) * (g[0] * n[0] + g[1] * n[1] + g[2] * n[2]);
}

// Time until gravity's closing acceleration a brings a point with gap s and normal velocity vn into touch:
// the root of s + vn·t − a·t²/2 = 0, as 2s / (u + √(u² + 2as)) with u = −vn (no cancellation as a → 0);
// 0 for a point already touching, FLT_MAX for one that never gets there.
SH_INLINE float time_to_touch(float vn, float sep, float accel)
{
    if (!(sep > 0.0f))
        return 0.0f;
    float u = -vn;
    float disc = u * u + 2.0f * accel * sep;
    float den = sqrtf(max_f(disc, 0.0f)) + u;
    return disc >= 0.0f && den > 0.0f ? 2.0f * sep / den : FLT_MAX;
}

void sh_contact_solver_softness(const sh_contact_solver* s, const sh_world* w, sh_softness* soft,
                                sh_softness* static_soft)
{
    float substep_rate = s->inv_h;
    float hertz = min_f(w->def.contact_hertz, 0.25f * substep_rate);
    *soft = sh_make_soft(hertz, w->def.contact_damping_ratio, s->h);
    // Against a static (or not simulated) body the effective mass is only one body's: stiffer is stable.
    *static_soft = sh_make_soft(2.0f * hertz, w->def.contact_damping_ratio, s->h);
}

void sh_contact_solver_prepare_one(const sh_contact_solver* s, const sh_world* w, sh_softness soft,
                                   sh_softness static_soft, bool rows, sh_constraint* c)
{
    const sh_contact* ct = &w->contacts.data[c->contact];
    const sh_body* ba = &w->bodies.data[ct->body_a];
    const sh_body* bb = &w->bodies.data[ct->body_b];
    sh_solver_body* a = &s->bodies[c->a];
    sh_solver_body* b = &s->bodies[c->b];
    c->soft = (a->inv_mass == 0.0f || b->inv_mass == 0.0f) ? static_soft : soft;
    c->friction = ct->friction;
    c->restitution = ct->restitution;
    copy3(ct->manifold.normal, c->normal);
    sh_contact_tangents(c->normal, c->t1, c->t2);
    c->point_count = ct->manifold.point_count;
    c->active = false;
    for (int j = 0; j < c->point_count; j++)
    {
        const sh_manifold_point* mp = &ct->manifold.points[j];
        const sh_contact_point_state* st = &ct->state[j];
        sh_constraint_point* cp = &c->points[j];
        vec3 mid;
        add3(mp->point_a, mp->point_b, mid);
        glm_vec3_scale(mid, 0.5f, mid);
        sub3(mid, ba->xf.p, cp->ra);
        sub3(mid, bb->xf.p, cp->rb);
        vec3 d;
        glm_vec3_sub(cp->rb, cp->ra, d);
        cp->base_separation = mp->separation - glm_vec3_dot(d, c->normal);
        cp->normal_impulse = st->normal_impulse;
        cp->tangent_impulse[0] = st->tangent_impulse[0];
        cp->tangent_impulse[1] = st->tangent_impulse[1];
        cp->max_normal_impulse = 0.0f;
        if (!rows)
            continue;
        cp->normal_mass = make_row(a, b, cp->ra, cp->rb, c->normal, &cp->row[0]);
        cp->tangent_mass[0] = make_row(a, b, cp->ra, cp->rb, c->t1, &cp->row[1]);
        cp->tangent_mass[1] = make_row(a, b, cp->ra, cp->rb, c->t2, &cp->row[2]);
        cp->relative_velocity = row_vel(a, b, &cp->row[0], c->normal);
    }
    if (!rows)
        return;
    // A speculative face closes its gap under gravity during the step: its points' speeds at impact are
    // those at the instant its first point touches (exact for a free-flight approach), within the step.
    // Each point's own instant gave a face's points different targets: a polyhedral ball of restitution 1
    // landing tilted took its far points' later, faster speeds and bounced back 0.7 % faster at 33 ms.
    const float accel = closing_accel(a, b, w->def.gravity, c->normal);
    float first = s->h * (float)w->def.substeps;
    for (int j = 0; j < c->point_count; j++)
        first = min_f(
            first, time_to_touch(c->points[j].relative_velocity, ct->manifold.points[j].separation, accel));
    for (int j = 0; j < c->point_count; j++)
        c->points[j].relative_velocity -= accel * first;
}

void sh_contact_solver_prepare(sh_contact_solver* s, sh_world* w)
{
    sh_softness soft, static_soft;
    sh_contact_solver_softness(s, w, &soft, &static_soft);
    for (int i = 0; i < s->count; i++)
        sh_contact_solver_prepare_one(s, w, soft, static_soft, true, &s->constraints[i]);
}

SH_INLINE void warm_start_one(sh_contact_solver* s, const sh_constraint* c)
{
    sh_solver_body* a = &s->bodies[c->a];
    sh_solver_body* b = &s->bodies[c->b];
    for (int j = 0; j < c->point_count; j++)
    {
        const sh_constraint_point* cp = &c->points[j];
        row_apply(a, b, &cp->row[0], c->normal, cp->normal_impulse);
        row_apply(a, b, &cp->row[1], c->t1, cp->tangent_impulse[0]);
        row_apply(a, b, &cp->row[2], c->t2, cp->tangent_impulse[1]);
    }
}

void sh_contact_solver_approach(sh_contact_solver* s)
{
    for (int i = 0; i < s->count; i++)
    {
        sh_constraint* c = &s->constraints[i];
        if (c->active)
            continue;
        const sh_solver_body* a = &s->bodies[c->a];
        const sh_solver_body* b = &s->bodies[c->b];
        for (int j = 0; j < c->point_count; j++)
            c->points[j].approach_velocity = row_vel(a, b, &c->points[j].row[0], c->normal);
    }
}

void sh_contact_solver_warm_start(sh_contact_solver* s)
{
    for (int i = 0; i < s->count; i++)
        warm_start_one(s, &s->constraints[i]);
}

// Current separation from the bodies' motion since the collide (one collide per step, as Box2D v3).
SH_INLINE float current_separation(const sh_solver_body* a, const sh_solver_body* b,
                                   const sh_constraint_point* cp, const vec3 n)
{
    float pa[3], pb[3];
    quat_rotate(a->dq, cp->ra, pa);
    quat_rotate(b->dq, cp->rb, pb);
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
        float v1 = row_vel(a, b, &cp->row[1], c->t1), v2 = row_vel(a, b, &cp->row[2], c->t2);
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
        row_apply(a, b, &cp->row[1], c->t1, n1 - cp->tangent_impulse[0]);
        row_apply(a, b, &cp->row[2], c->t2, n2 - cp->tangent_impulse[1]);
        cp->tangent_impulse[0] = n1;
        cp->tangent_impulse[1] = n2;
    }
}

SH_INLINE void solve_one(sh_contact_solver* s, sh_constraint* c, bool use_bias)
{
    const float inv_h = s->inv_h;
    const float push_max = s->push_max;
    sh_solver_body* a = &s->bodies[c->a];
    sh_solver_body* b = &s->bodies[c->b];
    const int n = c->point_count;
    // Bias and softness per point, from the separation at the start of the pass.
    float bias[SH_MAX_MANIFOLD_POINTS], mass_scale[SH_MAX_MANIFOLD_POINTS],
        impulse_scale[SH_MAX_MANIFOLD_POINTS];
    for (int j = 0; j < n; j++)
    {
        float sep = current_separation(a, b, &c->points[j], c->normal);
        bias[j] = 0.0f;
        mass_scale[j] = 1.0f;
        impulse_scale[j] = 0.0f;
        if (sep > 0.0f)
            bias[j] = sep * inv_h; // speculative: allow closing exactly the gap, no softness
        else if (use_bias)
        {
            bias[j] = max_f(c->soft.bias_rate * sep, -push_max);
            mass_scale[j] = c->soft.mass_scale;
            impulse_scale[j] = c->soft.impulse_scale;
        }
    }
    bool pushed = false;
    // Alternate the point order pass by pass (symmetric Gauss-Seidel), and sweep the normal points
    // SH_INNER times: a fixed single sweep favours the first point of every face and rocks a stack.
    const int last = n - 1;
    for (int sweep = 0; sweep < SH_INNER; sweep++)
        for (int jj = 0; jj < n; jj++)
        {
            const int j = s->reverse ? last - jj : jj;
            sh_constraint_point* cp = &c->points[j];
            float vn = row_vel(a, b, &cp->row[0], c->normal);
            float imp =
                -cp->normal_mass * mass_scale[j] * (vn + bias[j]) - impulse_scale[j] * cp->normal_impulse;
            float next = max_f(cp->normal_impulse + imp, 0.0f);
            imp = next - cp->normal_impulse;
            pushed = pushed || imp > 0.0f;
            cp->normal_impulse = next;
            cp->max_normal_impulse = max_f(cp->max_normal_impulse, imp);
            row_apply(a, b, &cp->row[0], c->normal, imp);
        }
    if (!c->active && pushed)
    {
        c->active = true;
        for (int j = 0; j < n; j++)
            c->points[j].relative_velocity =
                min_f(c->points[j].relative_velocity, c->points[j].approach_velocity);
    }
    solve_friction(c, a, b, s->reverse);
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
                float vn = row_vel(a, b, &cp->row[0], c->normal);
                float imp = -cp->normal_mass * (vn + c->restitution * cp->relative_velocity);
                float next = max_f(cp->normal_impulse + imp, 0.0f);
                imp = next - cp->normal_impulse;
                cp->normal_impulse = next;
                cp->max_normal_impulse = max_f(cp->max_normal_impulse, imp);
                row_apply(a, b, &cp->row[0], c->normal, imp);
            }
            // Friction too: the restitution impulses of a face's points are uneven within a sweep and spin
            // the body a little; friction against that spin would otherwise be left unbalanced as a
            // sideways drift (measured 16 mm after a 1 m drop without it).
            solve_friction(c, a, b, false);
        }
}

SH_INLINE float residual_one(const sh_contact_solver* s, const sh_constraint* c)
{
    const sh_solver_body* a = &s->bodies[c->a];
    const sh_solver_body* b = &s->bodies[c->b];
    float worst = 0.0f;
    for (int j = 0; j < c->point_count; j++)
    {
        const sh_constraint_point* cp = &c->points[j];
        float vn = row_vel(a, b, &cp->row[0], c->normal);
        float err = 0.0f;
        if (cp->normal_impulse > 0.0f)
            err = fabsf(vn);
        else if (current_separation(a, b, cp, c->normal) < 0.0f)
            err = max_f(-vn, 0.0f);
        worst = max_f(worst, err);
    }
    return worst;
}

float sh_contact_solver_residual(const sh_contact_solver* s)
{
    float worst = 0.0f;
    for (int i = 0; i < s->count; i++)
        worst = max_f(worst, residual_one(s, &s->constraints[i]));
    return worst;
}

float sh_contact_solver_residual_list(const sh_contact_solver* s, const int* list, int count)
{
    float worst = 0.0f;
    for (int i = 0; i < count; i++)
        worst = max_f(worst, residual_one(s, &s->constraints[list[i]]));
    return worst;
}

SH_INLINE void store_one(const sh_constraint* c, sh_world* w)
{
    sh_contact* ct = &w->contacts.data[c->contact];
    for (int j = 0; j < c->point_count; j++)
    {
        ct->state[j].normal_impulse = c->points[j].normal_impulse;
        ct->state[j].tangent_impulse[0] = c->points[j].tangent_impulse[0];
        ct->state[j].tangent_impulse[1] = c->points[j].tangent_impulse[1];
        ct->state[j].max_normal_impulse = c->points[j].max_normal_impulse;
    }
}

void sh_contact_solver_store(sh_contact_solver* s, sh_world* w)
{
    for (int i = 0; i < s->count; i++)
        store_one(&s->constraints[i], w);
}

void sh_contact_solver_store_list(sh_contact_solver* s, sh_world* w, const int* list, int count)
{
    for (int i = 0; i < count; i++)
        store_one(&s->constraints[list[i]], w);
}
