#include "penetration.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

#define SH_PROJECT_ITERATIONS 8
// m: the most one point is moved in one go (Box2D v2's b2_maxLinearCorrection): with the arms' rotation
// linearised, a larger jump overshoots; the iterations take the rest.
#define SH_MAX_CORRECTION 0.2f
// Rounds of fresh manifolds and projection: a projection's turns can bring another corner down, so the
// contacts of the bodies it moved are measured again. Measured on scenario 20 over 1.5 … 3 s: one round
// left 17.6 cm at worst, two 2.4 cm (a pair the broad phase had not found yet); a third measured no
// better there and cost convex_pile's landings more.
#define SH_PROJECT_ROUNDS 2
// m: contacts whose points are this close join the projected group (a body pushed up must not be pushed
// unseen into a neighbour a few millimetres away), and fresh manifolds report points this far apart.
#define SH_PROJECT_MARGIN 0.05f
// Mass ratio from which a body pressed by a heavier one gets projected: the default wrecking ball (50 kg on
// 10 kg bricks) stays with the soft step alone, 200 kg and more on a brick do not.
#define SH_DEEP_RATIO 10.0f
// Contacts from a deep one to the edge of the projected group (the bodies beyond stay fixed): a light
// body's push goes into the heavy one on it, on to what that one touches, and one further.
#define SH_GROUP_HOPS 3
// New collides a step may run (the rest carry the manifold they had).
#define SH_FRESH_BUDGET 256
// m: relative motion in a step (translation along the normal plus rotation chords) from which a deep
// contact counts as made by that motion (a spinning body's corner). Measured lower: at 5 mm (the slop)
// some of the settling 5050 pyramid's 8 … 20 mm deep contacts qualified and the projection fought their
// soft equilibrium until the pyramid fell; at 2 cm the slow turns of convex_pile's 2 m hulls qualified
// thousands of its contacts a step.
#define SH_DEEP_MOTION 0.05f

// A lower bound on the separation of a contact now, from its separation s0 at the collide: along the
// collide's normal (when the manifold had points) the bodies' support distance moved by the relative
// translation along it, less each rotation's chord 2·r·sin(θ/2) = 2·r·|dq.xyz|; and the depth of any new
// contact is at most the overlap along that axis. Without a normal, the whole relative translation counts.
// Relative, so bodies falling side by side, a landing stopped at its gap, or a column sliding as one stay
// out. NULL is a body that did not move; a body whose step went non-finite counts as still.
static float separation_bound(float s0, const float* normal, const sh_solver_body* a, float reach_a,
                              const sh_solver_body* b, float reach_b, float* moved, float* turned)
{
    vec3 d = {0.0f, 0.0f, 0.0f};
    float chord = 0.0f;
    const sh_solver_body* ends[2] = {a, b};
    const float reach[2] = {reach_a, reach_b};
    for (int e = 0; e < 2; e++)
    {
        const sh_solver_body* s = ends[e];
        if (s == NULL)
            continue;
        muladds3(s->dp, e == 0 ? -1.0f : 1.0f, d);
        chord += 2.0f * reach[e] * sqrtf(s->dq[0] * s->dq[0] + s->dq[1] * s->dq[1] + s->dq[2] * s->dq[2]);
    }
    float closing = normal != NULL ? -dot3(d, normal) : norm3(d);
    float m = closing + chord;
    *moved = isfinite(m) ? m : 0.0f;
    *turned = isfinite(chord) ? chord : 0.0f;
    return s0 - *moved;
}

static float min_separation(const sh_manifold* m)
{
    float s = INFINITY;
    for (int j = 0; j < m->point_count; j++)
        s = min_f(s, m->points[j].separation);
    return s;
}

// One touching contact of the projected group: the manifold it is solved with, its points held in each
// body's frame (so they ride along as the projection moves the bodies), and its two nodes (0: the fixed
// world, every static or sleeping body; else the body index).
typedef struct item
{
    int contact;
    int node_a, node_b;
    int low, high; // the nodes' ranks, lower first: the sweep order (then the contact index)
    const sh_manifold* manifold;
    bool move_a, move_b;                 // which of the two the projection moves (shock order)
    bool level;                          // the normal within about 17° of horizontal
    bool stop_a, stop_b;                 // which of the two the velocity sweep changes
    bool pushed[SH_MAX_MANIFOLD_POINTS]; // the projection moved this point
    vec3 local_a[SH_MAX_MANIFOLD_POINTS], local_b[SH_MAX_MANIFOLD_POINTS];
} item;

static int by_rank(const void* x, const void* y)
{
    const item* p = x;
    const item* q = y;
    if (p->low != q->low)
        return p->low < q->low ? -1 : 1;
    if (p->high != q->high)
        return p->high < q->high ? -1 : 1;
    return (p->contact > q->contact) - (p->contact < q->contact);
}

// point (world) in b's frame as the body stands now.
static void to_local(const sh_body* b, const float* point, float* out)
{
    versor qc;
    vec3 d;
    sub3(point, b->xf.p, d);
    quat_conjugate(b->xf.q, qc);
    glm_quat_rotatev(qc, d, out);
}

static void to_world(const sh_body* b, const float* local, float* out)
{
    quat_rotate_normalised(b->xf.q, local, out);
    add3(out, b->xf.p, out);
}

// Moves b by the position impulse p (along n, at arm r): p·m⁻¹ and a turn by I⁻¹ (r × p), both times
// `scale` (the mobility the projection gives the body, see project).
static void shift(sh_body* b, const float* r, const float* n, float p, float scale)
{
    p *= scale;
    mat3 inv_i;
    vec3 rn, theta;
    sh_body_world_inv_inertia(b, inv_i);
    cross3(r, n, rn);
    glm_mat3_mulv(inv_i, rn, theta);
    muladds3(n, p * b->inv_mass, b->xf.p);
    glm_vec3_scale(theta, p, theta);
    versor wq = {theta[0], theta[1], theta[2], 0.0f}, d;
    glm_quat_mul(wq, b->xf.q, d);
    for (int k = 0; k < 4; k++)
        b->xf.q[k] += 0.5f * d[k];
    glm_quat_normalize(b->xf.q);
}

static float response(const sh_body* b, const float* r, const float* n, float scale)
{
    mat3 inv_i;
    vec3 rn, k;
    sh_body_world_inv_inertia(b, inv_i);
    cross3(r, n, rn);
    glm_mat3_mulv(inv_i, rn, k);
    return scale * (b->inv_mass + glm_vec3_dot(rn, k));
}

// Non-linear Gauss-Seidel on positions (each pass re-measures every point from the bodies' current
// poses), from the ground up: a point deeper than the slop is pushed back to it along the contact normal;
// between two ranks only the upper body moves, so a light body under a heavy one carries it.
static void project(sh_world* w, item* items, int count, bool* shifted)
{
    for (int i = 0; i < count; i++)
        for (int j = 0; j < SH_MAX_MANIFOLD_POINTS; j++)
            items[i].pushed[j] = false;
    for (int pass = 0; pass < SH_PROJECT_ITERATIONS; pass++)
        for (int i = 0; i < count; i++)
        {
            item* it = &items[i];
            const sh_contact* ct = &w->contacts.data[it->contact];
            sh_body* a = &w->bodies.data[ct->body_a];
            sh_body* b = &w->bodies.data[ct->body_b];
            const float* nrm = it->manifold->normal;
            const bool move_a = it->move_a, move_b = it->move_b;
            for (int j = 0; j < it->manifold->point_count; j++)
            {
                vec3 pa, pb, d, mid, ra, rb;
                to_world(a, it->local_a[j], pa);
                to_world(b, it->local_b[j], pb);
                glm_vec3_sub(pb, pa, d);
                float c = max_f(dot3(d, nrm) + SH_DEEP_SLOP, -SH_MAX_CORRECTION);
                if (!(c < 0.0f))
                    continue;
                it->pushed[j] = true;
                glm_vec3_add(pa, pb, mid);
                glm_vec3_scale(mid, 0.5f, mid);
                glm_vec3_sub(mid, a->xf.p, ra);
                glm_vec3_sub(mid, b->xf.p, rb);
                // Both moving across a level normal (one rank, a side contact): each as mobile as the other,
                // masses aside. A position fix moves no momentum, and level no height either (on a slope it
                // would lift the heavy body: measured, 4 more wrecking runs over the energy audit);
                // mass-weighted, a light body squeezed between two heavy ones is pushed from one into the
                // other, pass after pass (measured: 11.6 kg between 6 t and 5 t, 16 mm deep for seconds).
                float sa = 1.0f, sb_ = 1.0f;
                if (move_a && move_b && a->inv_mass > 0.0f && b->inv_mass > 0.0f && it->level)
                {
                    float even = sqrtf(a->inv_mass * b->inv_mass);
                    sa = even / a->inv_mass;
                    sb_ = even / b->inv_mass;
                }
                float k =
                    (move_a ? response(a, ra, nrm, sa) : 0.0f) + (move_b ? response(b, rb, nrm, sb_) : 0.0f);
                if (!(k > 0.0f))
                    continue;
                float lambda = -c / k;
                if (move_a)
                    shift(a, ra, nrm, -lambda, sa);
                if (move_b)
                    shift(b, rb, nrm, lambda, sb_);
                shifted[it->node_a] = shifted[it->node_a] || move_a;
                shifted[it->node_b] = shifted[it->node_b] || move_b;
            }
        }
}

// Normal velocity of b's point at arm r along n.
static float point_velocity(const sh_body* b, const float* r, const float* n)
{
    vec3 wr;
    cross3(b->w, r, wr);
    return dot3(b->v, n) + dot3(wr, n);
}

static void kick(sh_body* b, const float* r, const float* n, float p)
{
    mat3 inv_i;
    vec3 rn, dw;
    sh_body_world_inv_inertia(b, inv_i);
    cross3(r, n, rn);
    glm_mat3_mulv(inv_i, rn, dw);
    muladds3(n, p * b->inv_mass, b->v);
    glm_vec3_muladds(dw, p, b->w);
}

// The same shock order on velocities, at the points the projection pushed: whatever still closes there is
// what sank them (Gauss-Seidel could not stop the heavy body), and left alone it sinks them again next
// step, to be lifted again: potential energy from nothing, step after step (a 2000 kg ball on a 10 kg
// brick: 1.3 % of the scene's energy in one step). Between two ranks the upper body alone is stopped, and
// only down to resting on the lower one or to standing still along the normal, whichever is less: so every
// impulse here meets a point moving against it and takes kinetic energy out (ΔE = p·(u + u')/2 with
// u ≤ u' ≤ 0 along the push), never puts it in, even where the lower body moves up. Within one rank, the
// ordinary inelastic impulse of both bodies.
static void stop_sinking(sh_world* w, const item* items, int count, const bool* outweighed)
{
    // A contact the projection pushed, of a body pressed by a much heavier one, forgets the impulses the
    // solver stored on it: they were its answer to the state just undone (a heavy body's blow or weight
    // held by a light one), and warm-started next step they drive the light body into the ground and the
    // heavy one gets lifted out again: potential energy from nothing. Measured on the wrecking ball
    // (200 … 2000 kg, 5 … 30 m/s, 10/16/33 ms steps): with them kept, 6 of 36 runs broke the energy audit
    // (a step gaining 1.1e-3 … 1.8e-2 of E0); forgotten, 1 did (1.09e-3); 9 of 36 before this file (and
    // 5 with the one-rank rule for vertical contacts below, which lifts heavy bodies more often). Next
    // step's Gauss-Seidel rebuilds them from zero; the contact is deep and watched, so what that lets sink
    // is projected again. Between like masses the stored impulses are sound and kept: forgotten there too,
    // a domino's push was rebuilt from zero and the row gained 1.2e-3 of its energy in a step (dominoes
    // at 33 ms).
    for (int i = 0; i < count; i++)
    {
        bool any = false;
        for (int j = 0; j < items[i].manifold->point_count; j++)
            any = any || items[i].pushed[j];
        sh_contact* ct = &w->contacts.data[items[i].contact];
        int ia = w->bodies.data[ct->body_a].solver_index, ib = w->bodies.data[ct->body_b].solver_index;
        if (!any || !((ia >= 0 && outweighed[ia]) || (ib >= 0 && outweighed[ib])))
            continue;
        for (int j = 0; j < SH_MAX_MANIFOLD_POINTS; j++)
        {
            ct->state[j].normal_impulse = 0.0f;
            ct->state[j].tangent_impulse[0] = 0.0f;
            ct->state[j].tangent_impulse[1] = 0.0f;
        }
    }
    for (int pass = 0; pass < SH_PROJECT_ITERATIONS; pass++)
        for (int i = 0; i < count; i++)
        {
            const item* it = &items[i];
            const sh_contact* ct = &w->contacts.data[it->contact];
            sh_body* a = &w->bodies.data[ct->body_a];
            sh_body* b = &w->bodies.data[ct->body_b];
            const float* nrm = it->manifold->normal;
            const bool move_a = it->stop_a, move_b = it->stop_b;
            for (int j = 0; j < it->manifold->point_count; j++)
            {
                if (!it->pushed[j])
                    continue;
                vec3 pa, pb, mid, ra, rb;
                to_world(a, it->local_a[j], pa);
                to_world(b, it->local_b[j], pb);
                glm_vec3_add(pa, pb, mid);
                glm_vec3_scale(mid, 0.5f, mid);
                glm_vec3_sub(mid, a->xf.p, ra);
                glm_vec3_sub(mid, b->xf.p, rb);
                float ua = point_velocity(a, ra, nrm), ub = point_velocity(b, rb, nrm);
                float closing = ua - ub; // > 0: the points approach
                if (!(closing > 0.0f))
                    continue;
                float target = closing;
                if (move_b && !move_a)
                    target = min_f(closing, max_f(-ub, 0.0f));
                else if (move_a && !move_b)
                    target = min_f(closing, max_f(ua, 0.0f));
                float k = (move_a ? response(a, ra, nrm, 1.0f) : 0.0f) +
                          (move_b ? response(b, rb, nrm, 1.0f) : 0.0f);
                if (!(k > 0.0f) || !(target > 0.0f))
                    continue;
                float p = target / k;
                if (move_a)
                    kick(a, ra, nrm, -p);
                if (move_b)
                    kick(b, rb, nrm, p);
            }
        }
}

// The collide's manifold carried through the step's motion (dp, dq) to the bodies' final poses.
static void carry_manifold(const sh_world* w, const sh_solver_body* sb, const sh_contact* ct,
                           sh_manifold* out)
{
    *out = ct->manifold;
    const sh_body* ends[2] = {&w->bodies.data[ct->body_a], &w->bodies.data[ct->body_b]};
    for (int j = 0; j < out->point_count; j++)
    {
        sh_manifold_point* mp = &out->points[j];
        float* points[2] = {mp->point_a, mp->point_b};
        for (int e = 0; e < 2; e++)
        {
            if (ends[e]->solver_index < 0)
                continue;
            const sh_solver_body* s = &sb[ends[e]->solver_index];
            vec3 start_p, r;
            sub3(ends[e]->xf.p, s->dp, start_p);
            glm_vec3_sub(points[e], start_p, r);
            quat_rotate_normalised(s->dq, r, r);
            add3(ends[e]->xf.p, r, points[e]);
        }
        vec3 d;
        glm_vec3_sub(mp->point_b, mp->point_a, d);
        mp->separation = glm_vec3_dot(d, out->normal);
    }
}

// A manifold current before the last projection, carried through what it moved: each shifted body's
// points by its pose change since the snapshot (position, then quaternion, per node).
static void carry_shift(const sh_world* w, const sh_contact* ct, const bool* shifted, const float* snapshot,
                        sh_manifold* m)
{
    const int nodes[2] = {w->bodies.data[ct->body_a].solver_index < 0 ? 0 : ct->body_a,
                          w->bodies.data[ct->body_b].solver_index < 0 ? 0 : ct->body_b};
    for (int j = 0; j < m->point_count; j++)
    {
        sh_manifold_point* mp = &m->points[j];
        float* points[2] = {mp->point_a, mp->point_b};
        for (int e = 0; e < 2; e++)
        {
            if (nodes[e] == 0 || !shifted[nodes[e]])
                continue;
            const sh_body* b = &w->bodies.data[nodes[e]];
            const float* before = &snapshot[7 * nodes[e]];
            versor q0 = {before[3], before[4], before[5], before[6]}, qc, rel; // aligned copy for cglm
            vec3 r;
            glm_quat_conjugate(q0, qc);
            quat_mul(b->xf.q, qc, rel);
            sub3(points[e], before, r);
            glm_quat_rotatev(rel, r, r);
            add3(b->xf.p, r, points[e]);
        }
        vec3 d;
        glm_vec3_sub(mp->point_b, mp->point_a, d);
        mp->separation = glm_vec3_dot(d, m->normal);
    }
}

// A contact's manifold in the projection: fresh at the bodies' current poses when they may have moved far
// since the step's collide, else the collide's, carried through the step's motion.
static const sh_manifold* manifold_of(const sh_world* w, int contact, const int* fresh_of,
                                      const sh_manifold* fresh)
{
    return fresh_of[contact] >= 0 ? &fresh[fresh_of[contact]] : &w->contacts.data[contact].manifold;
}

static void make_item(const sh_world* w, int contact, const int* fresh_of, const sh_manifold* fresh, item* it)
{
    const sh_contact* ct = &w->contacts.data[contact];
    const sh_body* a = &w->bodies.data[ct->body_a];
    const sh_body* b = &w->bodies.data[ct->body_b];
    const sh_manifold* m = manifold_of(w, contact, fresh_of, fresh);
    it->contact = contact;
    it->node_a = a->solver_index < 0 ? 0 : ct->body_a;
    it->node_b = b->solver_index < 0 ? 0 : ct->body_b;
    it->manifold = m;
}

// The item's points in its bodies' frames (only for the swept ones: the rest only rank and group).
static void make_locals(const sh_world* w, const sh_solver_body* sb, const int* fresh_of, item* it)
{
    const sh_contact* ct = &w->contacts.data[it->contact];
    const sh_body* a = &w->bodies.data[ct->body_a];
    const sh_body* b = &w->bodies.data[ct->body_b];
    const sh_manifold* m = it->manifold;
    const int contact = it->contact;
    for (int j = 0; j < m->point_count; j++)
    {
        const sh_manifold_point* mp = &m->points[j];
        const sh_body* ends[2] = {a, b};
        const float* points[2] = {mp->point_a, mp->point_b};
        float* locals[2] = {it->local_a[j], it->local_b[j]};
        for (int e = 0; e < 2; e++)
        {
            vec3 now, r;
            copy3(points[e], now);
            if (fresh_of[contact] < 0 && ends[e]->solver_index >= 0)
            {
                // Found at the step's start pose: carried through the step's motion (dp, dq) to the final
                // one.
                const sh_solver_body* s = &sb[ends[e]->solver_index];
                vec3 start_p;
                sub3(ends[e]->xf.p, s->dp, start_p);
                glm_vec3_sub(now, start_p, r);
                quat_rotate_normalised(s->dq, r, r);
                add3(ends[e]->xf.p, r, now);
            }
            to_local(ends[e], now, locals[e]);
        }
    }
}

// Breadth-first walk over the items' graph from the nodes already queued (queue[0 … tail-1], dist 0 or
// set): dist gets each reached node's distance, up to `limit` steps, over touching items only when
// `touching` (ranks), else over all and never into the fixed world node 0 (groups).
static void walk(const item* items, const int* first, const int* edges, int* queue, int tail, int* dist,
                 bool touching, int limit)
{
    int head = 0;
    while (head < tail)
    {
        int u = queue[head++];
        if (dist[u] >= limit)
            continue;
        for (int e = first[u]; e < first[u + 1]; e++)
        {
            const item* it = &items[edges[e]];
            int v = it->node_a == u ? it->node_b : it->node_a;
            if (dist[v] != INT_MAX || (touching && !(min_separation(it->manifold) < SH_TOUCH_TOLERANCE)) ||
                (!touching && v == 0))
                continue;
            dist[v] = dist[u] + 1;
            queue[tail++] = v;
        }
    }
}

int sh_penetration_project(sh_world* w, const sh_solver_body* sb, const int* body_of, int n)
{
    sh_arena* arena = &w->arena;
    const int contact_count = w->contacts.count, node_count = w->bodies.count;
    int* fresh_of = NULL; // [contact]: its fresh manifold, -1 none
    sh_manifold* fresh = NULL;
    bool* moved = NULL; // [node]: shifted by the last round's projection
    int fresh_count = 0, swept = 0;
    bool* seed = NULL; // [contact]: measured fresh and may start a group (in a group when also deep)
    // 0. Can anything qualify (step 1)? Only with masses SH_DEEP_RATIO apart among the simulated bodies, or
    //    a body that moved far enough: a point within its reach (extent, plus half a speculative gap:
    //    taken as up to twice the extent) moves at most |dp| + 2·reach·|dq.xyz|, and a contact's relative
    //    motion is at most the sum of its two bodies'. The 5050 pyramid (one mass,
    //    millimetres a step) stops here after one pass over its bodies instead of two over its 15 000
    //    contacts (measured: 1.0 ms of its 20 ms step).
    float lo = INFINITY, hi = 0.0f, fastest = 0.0f;
    for (int i = 0; i < n; i++)
    {
        const sh_solver_body* s = &sb[i];
        if (s->inv_mass > 0.0f)
        {
            lo = min_f(lo, s->inv_mass);
            hi = max_f(hi, s->inv_mass);
        }
        float q = sqrtf(s->dq[0] * s->dq[0] + s->dq[1] * s->dq[1] + s->dq[2] * s->dq[2]);
        float m = norm3(s->dp) + 4.0f * w->bodies.data[body_of[i]].extent * q;
        fastest = max_f(fastest, isfinite(m) ? m : 0.0f);
    }
    bool ratios = hi >= SH_DEEP_RATIO * lo;
    if (!ratios && !(2.0f * fastest > SH_DEEP_MOTION))
        return 0;
    // Which simulated bodies touch one at least SH_DEEP_RATIO times heavier (static ones have no mass to
    // compare; an asleep one would have been woken by the touch).
    bool* outweighed = sh_arena_alloc(arena, (size_t)(n + 1) * sizeof *outweighed);
    if (outweighed == NULL)
        return -1;
    for (int i = 0; i < n; i++)
        outweighed[i] = false;
    for (int i = 0; ratios && i < contact_count; i++)
    {
        const sh_contact* ct = &w->contacts.data[i];
        if (!ct->in_use || !(min_separation(&ct->manifold) < SH_TOUCH_TOLERANCE))
            continue;
        const sh_body* a = &w->bodies.data[ct->body_a];
        const sh_body* b = &w->bodies.data[ct->body_b];
        if (a->inv_mass == 0.0f || b->inv_mass == 0.0f)
            continue;
        if (a->solver_index >= 0 && a->inv_mass >= SH_DEEP_RATIO * b->inv_mass)
            outweighed[a->solver_index] = true;
        if (b->solver_index >= 0 && b->inv_mass >= SH_DEEP_RATIO * a->inv_mass)
            outweighed[b->solver_index] = true;
    }
    vec3 up = {0.0f, 0.0f, 0.0f}; // against gravity; zero gravity: no up, no shock order
    float g = glm_vec3_norm(w->def.gravity);
    if (g > 0.0f)
        glm_vec3_scale(w->def.gravity, -1.0f / g, up);
    int collides = 0;
    float* snapshot = NULL; // [7 · node]: poses of the last projected group before it was projected
    for (int round = 0; round < SH_PROJECT_ROUNDS && (round == 0 || collides < SH_FRESH_BUDGET); round++)
    {
        // 1. Which contacts may be deep now? In the first round, a screen from the step-start separation
        //    (for a pair without points, the narrow phase's last separating distance) less how far each
        //    body can have moved keeps the resting thousands of a pyramid out at the cost of a compare; in
        //    later rounds, the contacts of every body the last round moved. These get a fresh manifold at
        //    the current poses: one found at the start of the step misses the corner a spinning body brings
        //    down during it, and the projection's own turns bring down others.
        bool any_deep = false;
        for (int i = 0; i < contact_count; i++)
        {
            const sh_contact* ct = &w->contacts.data[i];
            if (!ct->in_use)
                continue;
            const sh_body* a = &w->bodies.data[ct->body_a];
            const sh_body* b = &w->bodies.data[ct->body_b];
            if (a->solver_index < 0 && b->solver_index < 0)
                continue;
            float turned = INFINITY; // rotation chords since the manifold was found (later rounds: unknown)
            if (round == 0)
            {
                float s0 = ct->manifold.point_count > 0 ? min_separation(&ct->manifold)
                           : ct->cache.kind != 0        ? ct->cache.separation
                                                        : 0.0f;
                // An anchor (the midpoint of a point pair) lies within a body's extent when the pair
                // overlaps (both points are in the body's ball) and half the gap outside it when not.
                float reach = 0.5f * max_f(s0, 0.0f);
                float moved_by = 0.0f;
                float bound = separation_bound(
                    s0, ct->manifold.point_count > 0 ? ct->manifold.normal : NULL,
                    a->solver_index < 0 ? NULL : &sb[a->solver_index], a->extent + reach,
                    b->solver_index < 0 ? NULL : &sb[b->solver_index], b->extent + reach, &moved_by, &turned);
                if (bound >= -SH_DEEP_SLOP)
                    continue;
                // Only depth the soft step cannot be trusted with: a body pressed by one at least
                // SH_DEEP_RATIO times heavier, or a contact whose own motion this step could have made it
                // (a corner a spinning body brought down). A resting pile of like masses sinks by its
                // load / (m·ω²) too, 8 to 20 mm at the bottom of the 5050 pyramid (measured); that is the
                // soft contact's design, kept as it is (the bench's sag, and no lift of the whole pile).
                if (!(moved_by > SH_DEEP_MOTION) && !(a->solver_index >= 0 && outweighed[a->solver_index]) &&
                    !(b->solver_index >= 0 && outweighed[b->solver_index]))
                    continue;
            }
            else if (!moved[a->solver_index < 0 ? 0 : ct->body_a] &&
                     !moved[b->solver_index < 0 ? 0 : ct->body_b])
                continue;
            if (fresh_of == NULL)
            {
                fresh_of = sh_arena_alloc(arena, (size_t)contact_count * sizeof *fresh_of);
                fresh = sh_arena_alloc(arena, (size_t)contact_count * sizeof *fresh);
                seed = sh_arena_alloc(arena, (size_t)contact_count * sizeof *seed);
                if (fresh_of == NULL || fresh == NULL || seed == NULL)
                    return -1;
                for (int k = 0; k < contact_count; k++)
                {
                    fresh_of[k] = -1;
                    seed[k] = false;
                }
            }
            // Turned less than the slop, the collide's points carried along are the contact still (a
            // translation moves no feature past another by more than the points already tell); turned
            // more, a new manifold, within the step's budget of new collides (32-point hulls cost tens of
            // microseconds each: convex_pile's landings measured 50 ms a step without these two limits).
            bool carry =
                ct->manifold.point_count > 0 && (turned <= SH_DEEP_SLOP || collides >= SH_FRESH_BUDGET);
            if (!carry && collides >= SH_FRESH_BUDGET)
                continue;
            bool had = fresh_of[i] >= 0;
            if (!had)
                fresh_of[i] = fresh_count++;
            seed[i] = true;
            sh_manifold* m = &fresh[fresh_of[i]];
            if (carry)
            {
                // Carried: from the collide through the step's motion, then (in a later round) through
                // what the last projection moved.
                if (round == 0 || !had)
                    carry_manifold(w, sb, ct, m);
                if (round > 0)
                    carry_shift(w, ct, moved, snapshot, m);
            }
            else
            {
                int count = sh_collide_hulls(a->hull, &a->xf, b->hull, &b->xf, SH_PROJECT_MARGIN, NULL, m);
                m->point_count = count < 0 || count > SH_MAX_MANIFOLD_POINTS ? 0 : count;
                collides++;
            }
            any_deep = any_deep || min_separation(m) < -SH_DEEP_SLOP;
        }
        if (!any_deep)
            break;

        // 2. The contacts of simulated bodies with points within the margin, as a graph over nodes (0 the
        //    fixed world, every static or sleeping body; else the body index). A body's rank is its
        //    breadth-first distance from the fixed world over touching contacts.
        item* items = sh_arena_alloc(arena, (size_t)contact_count * sizeof *items);
        int* first = sh_arena_alloc(arena, (size_t)(node_count + 1) * sizeof *first);
        int* edges = sh_arena_alloc(arena, (size_t)(2 * contact_count + 1) * sizeof *edges);
        int* rank = sh_arena_alloc(arena, (size_t)node_count * sizeof *rank);
        int* queue = sh_arena_alloc(arena, (size_t)node_count * sizeof *queue);
        bool* in_group = sh_arena_alloc(arena, (size_t)node_count * sizeof *in_group);
        bool* shifted = sh_arena_alloc(arena, (size_t)node_count * sizeof *shifted);
        int* hops = sh_arena_alloc(arena, (size_t)node_count * sizeof *hops);
        if (!items || !first || !edges || !rank || !queue || !in_group || !shifted || !hops)
            return -1;
        int item_count = 0;
        for (int i = 0; i < contact_count; i++)
        {
            const sh_contact* ct = &w->contacts.data[i];
            if (!ct->in_use ||
                (w->bodies.data[ct->body_a].solver_index < 0 && w->bodies.data[ct->body_b].solver_index < 0))
                continue;
            if (!(min_separation(manifold_of(w, i, fresh_of, fresh)) < SH_PROJECT_MARGIN))
                continue;
            make_item(w, i, fresh_of, fresh, &items[item_count++]);
        }
        for (int i = 0; i <= node_count; i++)
            first[i] = 0;
        for (int i = 0; i < item_count; i++)
        {
            first[items[i].node_a + 1]++;
            first[items[i].node_b + 1]++;
        }
        for (int i = 0; i < node_count; i++)
            first[i + 1] += first[i];
        for (int i = 0; i < node_count; i++)
        {
            queue[i] = first[i]; // fill cursors, then the walks' queue
            rank[i] = INT_MAX;
            in_group[i] = false;
        }
        for (int i = 0; i < item_count; i++)
        {
            edges[queue[items[i].node_a]++] = i;
            edges[queue[items[i].node_b]++] = i;
        }
        rank[0] = 0;
        queue[0] = 0;
        walk(items, first, edges, queue, 1, rank, true, INT_MAX);
        // 3. The group: the bodies of the deep contacts and those up to SH_GROUP_HOPS contacts away, not
        //    through the fixed world. Projecting one deep contact pushes into its neighbours, and theirs;
        //    they must be in the sweep. Beyond that the group's edge is held fixed: the whole of a pile one
        //    fast hull lands on measured 35 ms a step (convex_pile), each round re-measuring it all.
        int tail = 0;
        for (int i = 0; i < node_count; i++)
            hops[i] = INT_MAX;
        for (int i = 0; i < item_count; i++)
        {
            if (!seed[items[i].contact] || !(min_separation(items[i].manifold) < -SH_DEEP_SLOP))
                continue;
            int ends[2] = {items[i].node_a, items[i].node_b};
            for (int e = 0; e < 2; e++)
                if (ends[e] != 0 && hops[ends[e]] == INT_MAX)
                {
                    hops[ends[e]] = 0;
                    queue[tail++] = ends[e];
                }
        }
        walk(items, first, edges, queue, tail, hops, false, SH_GROUP_HOPS);
        for (int i = 0; i < node_count; i++)
        {
            in_group[i] = hops[i] != INT_MAX;
            shifted[i] = false;
        }
        int work_count = 0;
        for (int i = 0; i < item_count; i++)
            if (in_group[items[i].node_a] || in_group[items[i].node_b])
            {
                item* it = &items[work_count++];
                *it = items[i];
                int ra = rank[it->node_a], rb = rank[it->node_b];
                it->low = ra < rb ? ra : rb;
                it->high = ra < rb ? rb : ra;
                // Positions: always in shock order. Moving the body further from the ground out of one
                // nearer to it moves no momentum and cannot fail on a mass ratio; mass-weighted, a light
                // body pressed between two heavy ones or under a heavy one on a slope is pushed to and fro
                // and the sweeps end with it still deep (measured on scenario 20: 19.5 mm left). Velocities:
                // shock order only where the upper rank rests on the lower one, the normal from the lower
                // body to the upper within 60° of up. Rank is distance in the graph, not height; across a
                // side contact (a ball swung into a brick of the wall's bottom row) it would make the
                // brick an immovable wall for the ball (measured: a 2000 kg ball stopped dead, 28 kJ).
                float rise = dot3(it->manifold->normal, up) * (ra < rb ? 1.0f : -1.0f);
                bool ordered = ra != rb && rise >= 0.5f;
                it->stop_a = it->node_a != 0 && (!ordered || ra > rb);
                it->stop_b = it->node_b != 0 && (!ordered || rb > ra);
                // Within one rank, a contact that is mostly vertical moves its upper body alone too: a light
                // body squeezed under a heavy one that also stands on the ground beside it (both rank 1)
                // was otherwise pushed up by the ground and back down by the heavy one, pass after pass
                // (measured: a 7.7 g box 12 cm deep under 64 kg, for seconds). The price is height: the heavy
                // body is what gets lifted, and 4 more of the 36 wrecking-ball runs above gain over 1e-3 of
                // their energy in some step (none of the shipped scenarios do); with it, scenario 20 (16
                // other seeds) ends within 5 mm on all, without it over 1 cm on 2 of 12.
                float up_n = dot3(it->manifold->normal, up); // > 0: B above A
                bool a_lower = ra < rb || (ra == rb && up_n >= 0.5f);
                bool b_lower = rb < ra || (ra == rb && up_n <= -0.5f);
                it->level = fabsf(up_n) < 0.3f;
                it->move_a = in_group[it->node_a] && !a_lower;
                it->move_b = in_group[it->node_b] && !b_lower;
                it->stop_a = it->stop_a && in_group[it->node_a];
                it->stop_b = it->stop_b && in_group[it->node_b];
            }
        for (int i = 0; i < work_count; i++)
            make_locals(w, sb, fresh_of, &items[i]);
        qsort(items, (size_t)work_count, sizeof *items, by_rank);
        snapshot = sh_arena_alloc(arena, (size_t)node_count * 7 * sizeof *snapshot);
        if (snapshot == NULL)
            return -1;
        for (int i = 1; i < node_count; i++)
            if (in_group[i])
            {
                for (int k = 0; k < 3; k++)
                    snapshot[7 * i + k] = w->bodies.data[i].xf.p[k];
                for (int k = 0; k < 4; k++) // by element: cglm's vec4 copy wants 16-byte alignment
                    snapshot[7 * i + 3 + k] = w->bodies.data[i].xf.q[k];
            }
        project(w, items, work_count, shifted);
        stop_sinking(w, items, work_count, outweighed);
        swept += work_count;
        moved = shifted;
    }
    return swept;
}
