// The world: creation, the step's stages (pairs → collide → solve → broad-phase update → sleep), ids,
// diagnostics and reporting.
#include "contact_solver.h"

#include "simhost/world_snapshot.h"

#include <math.h>
#include <string.h>

sh_world_def sh_world_def_default(void)
{
    sh_world_def d;
    memset(&d, 0, sizeof d);
    d.gravity[2] = -9.81f;
    d.substeps = 4;
    d.enable_sleep = true;
    // Contact stiffness: a soft-contact stack sags in proportion to load/ω², so a 10-cube stack needs the
    // stiffest spring the sub-step allows (a quarter of its rate: 60 Hz at 4 × 60 Hz, Box2D's cap). With
    // one relax pass 45-60 Hz rocked and walked stacks sideways; two relax passes keep them still
    // (measured, 10-cube stack: 30 Hz sag 2.6 cm; 40 Hz 1.5 cm; 60 Hz + 2 relax passes < 1 cm, no drift).
    d.contact_hertz = 60.0f;
    d.contact_damping_ratio = 10.0f;
    d.contact_push_max = 3.0f;
    d.restitution_threshold = 1.0f;
    d.threads = 1;
    d.cookie = SH_WORLD_COOKIE;
    return d;
}

bool sh_world_create(const sh_world_def* def, sh_world** out, sh_error* err)
{
    *out = NULL;
    if (def == NULL || def->cookie != SH_WORLD_COOKIE)
        return sh_error_set(err, "world def not from sh_world_def_default()");
    if (!isfinite(def->gravity[0]) || !isfinite(def->gravity[1]) || !isfinite(def->gravity[2]))
        return sh_error_set(err, "gravity must be finite");
    if (def->substeps < 1 || def->substeps > 64)
        return sh_error_set(err, "substeps must be an integer in 1 … 64");
    if (!(def->contact_hertz >= 0.0f) || !(def->contact_damping_ratio >= 0.0f) ||
        !(def->contact_push_max >= 0.0f) || !(def->restitution_threshold >= 0.0f) ||
        !isfinite(def->contact_hertz + def->contact_damping_ratio + def->contact_push_max +
                  def->restitution_threshold))
        return sh_error_set(err, "contact parameters must be finite and >= 0");
    if (def->threads < 1 || def->threads > SH_WORLD_MAX_THREADS)
        return sh_error_set(err, "threads must be an integer in 1 … %d", SH_WORLD_MAX_THREADS);
    if ((def->enqueue_task == NULL) != (def->finish_task == NULL))
        return sh_error_set(err, "enqueue_task and finish_task are set together");
    sh_world* w = sh_alloc_zeroed(sizeof *w);
    if (w == NULL)
        return sh_error_set(err, "out of memory");
    w->def = *def;
    sh_id_pool_init(&w->body_pool, 1); // index 0 is the null id
    sh_id_pool_init(&w->contact_pool, 0);
    sh_id_pool_init(&w->island_pool, 0);
    sh_broad_phase_init(&w->bp);
    sh_arena_init(&w->arena);
    // Slot 0 exists so a body index is its slot.
    if (!SH_ARRAY_RESERVE(w->bodies, 1))
    {
        sh_world_destroy(w);
        return sh_error_set(err, "out of memory");
    }
    memset(&w->bodies.data[0], 0, sizeof(sh_body));
    w->bodies.count = 1;
    *out = w;
    return true;
}

void sh_world_destroy(sh_world* w)
{
    if (w == NULL)
        return;
    SH_ARRAY_FREE(w->bodies);
    SH_ARRAY_FREE(w->order);
    SH_ARRAY_FREE(w->islands);
    SH_ARRAY_FREE(w->touching);
    sh_id_pool_destroy(&w->body_pool);
    sh_id_pool_destroy(&w->island_pool);
    sh_contacts_free(w);
    sh_shapes_free(w);
    sh_broad_phase_destroy(&w->bp);
    sh_arena_destroy(&w->arena);
    sh_free(w, sizeof *w);
}

double sh_world_time(const sh_world* w)
{
    return w->time;
}

void sh_world_enable_sleep(sh_world* w, bool enable)
{
    w->def.enable_sleep = enable;
    if (!enable)
        for (int i = 0; i < w->islands.count; i++)
            if (w->islands.data[i].head >= 0)
                sh_island_wake(w, i);
}

bool sh_world_sleep_enabled(const sh_world* w)
{
    return w->def.enable_sleep;
}

void sh_world_get_gravity(const sh_world* w, vec3 out)
{
    copy3(w->def.gravity, out);
}

int sh_world_body_count(const sh_world* w)
{
    return w->order.count;
}

#define ARRAY_BYTES(a) ((size_t)(a).capacity * sizeof *(a).data)

static size_t tree_bytes(const sh_tree* t)
{
    return (size_t)t->capacity * sizeof *t->nodes;
}

static size_t pool_bytes(const sh_id_pool* p)
{
    return (size_t)p->free_capacity * sizeof *p->free_ids;
}

size_t sh_world_memory_bytes(const sh_world* w)
{
    size_t n = sizeof *w + ARRAY_BYTES(w->bodies) + ARRAY_BYTES(w->order) + ARRAY_BYTES(w->shapes) +
               ARRAY_BYTES(w->contacts) + ARRAY_BYTES(w->islands) + ARRAY_BYTES(w->touching);
    n += pool_bytes(&w->body_pool) + pool_bytes(&w->contact_pool) + pool_bytes(&w->island_pool);
    n += (size_t)w->pair_capacity * (sizeof *w->pair_keys + sizeof *w->pair_values);
    n += tree_bytes(&w->bp.dynamic_tree) + tree_bytes(&w->bp.static_tree);
    n += (size_t)w->bp.moved_capacity * sizeof *w->bp.moved;
    // The scratch block keeps the step's peak (arena.h), so its capacity is what stays held.
    n += w->arena.capacity > w->arena.peak ? w->arena.capacity : w->arena.peak;
    return n;
}

sh_body_id sh_world_body_at(const sh_world* w, int i)
{
    if (i < 0 || i >= w->order.count)
        return SH_NULL_BODY;
    int index = w->order.data[i];
    return (sh_body_id){index, w->bodies.data[index].generation};
}

typedef struct pair_query
{
    sh_world* w;
    int self;
    bool failed;
} pair_query;

static void on_overlap(void* ctx, int other)
{
    pair_query* q = ctx;
    if (other == q->self)
        return;
    sh_world* w = q->w;
    const sh_body* a = &w->bodies.data[q->self];
    const sh_body* b = &w->bodies.data[other];
    if (!sh_aabb_overlap(&a->fat_box, &b->fat_box))
        return;
    if (sh_contact_pair_exists(w, q->self, other))
        return;
    if (!sh_contact_create(w, q->self, other))
        q->failed = true;
}

// New pairs for every proxy that moved (was reinserted) since the last step; creation order follows the
// move buffer, which follows body index order, so it is deterministic.
bool sh_world_update_pairs(sh_world* w)
{
    pair_query q = {w, 0, false};
    for (int i = 0; i < w->bp.moved_count; i++)
    {
        int body = w->bp.moved[i];
        sh_body* b = &w->bodies.data[body];
        if (!b->in_use)
            continue;
        q.self = body;
        sh_tree_query(&w->bp.dynamic_tree, &b->fat_box, on_overlap, &q);
        sh_tree_query(&w->bp.static_tree, &b->fat_box, on_overlap, &q);
    }
    w->bp.moved_count = 0;
    return !q.failed;
}

static bool simulated(const sh_body* b)
{
    return !b->is_static && !b->sleeping;
}

void sh_world_run(const sh_world* w, sh_task_fn* fn, int count, int min_range, void* ctx)
{
    if (count <= 0)
        return;
    if (w->def.enqueue_task == NULL || w->def.threads <= 1 || count < 2 * min_range)
    {
        fn(0, count, 0, ctx);
        return;
    }
    void* task = w->def.enqueue_task(fn, count, min_range, ctx, w->def.task_context);
    if (task != NULL)
        w->def.finish_task(task, w->def.task_context);
}

typedef struct collide_task
{
    sh_world* w;
    float dt;
    bool* updated; // [contact]: its manifold was updated by the parallel part
} collide_task;

// The parallel part of the narrow phase: every contact whose bodies are simulated and whose fat boxes
// overlap at the start of the stage gets its manifold. A contact reads its two bodies (never written here)
// and writes only itself (manifold, impulses, SAT cache), so ranges are independent.
static void collide_range(int begin, int end, int worker, void* ctx)
{
    (void)worker;
    collide_task* t = ctx;
    sh_world* w = t->w;
    for (int i = begin; i < end; i++)
    {
        sh_contact* c = &w->contacts.data[i];
        t->updated[i] = false;
        if (!c->in_use)
            continue;
        const sh_body* a = &w->bodies.data[c->body_a];
        const sh_body* b = &w->bodies.data[c->body_b];
        if ((!simulated(a) && !simulated(b)) || !sh_aabb_overlap(&a->fat_box, &b->fat_box))
            continue;
        sh_contact_update(w, c, t->dt);
        t->updated[i] = true;
    }
}

// The narrow phase. Manifolds are found in parallel (collide_range); then, in contact index order on the
// calling thread, pairs whose boxes parted are destroyed and sleeping bodies touched are woken, exactly
// as the sequential loop did: a wake only changes sleep state, never a pose, so a manifold found before
// it is the one the sequential loop found after it. A contact that became simulated by a wake earlier in
// the order is updated there, as before. Out of scratch memory the whole stage runs sequentially.
static void collide(sh_world* w, float dt)
{
    collide_task t = {w, dt, sh_arena_alloc(&w->arena, (size_t)(w->contacts.count + 1) * sizeof(bool))};
    if (t.updated != NULL)
        sh_world_run(w, collide_range, w->contacts.count, SH_TASK_MIN_CONTACTS, &t);
    bool woke = false;
    for (int i = 0; i < w->contacts.count; i++)
    {
        sh_contact* c = &w->contacts.data[i];
        if (!c->in_use)
            continue;
        sh_body* a = &w->bodies.data[c->body_a];
        sh_body* b = &w->bodies.data[c->body_b];
        if (!simulated(a) && !simulated(b))
            continue;
        if (!sh_aabb_overlap(&a->fat_box, &b->fat_box))
        {
            sh_contact_destroy(w, i);
            continue;
        }
        if (t.updated == NULL || !t.updated[i])
            sh_contact_update(w, c, dt);
        c->constraint = 0; // marks "updated this step" until the solver rewrites it
        if (c->touching && (a->sleeping || b->sleeping))
        {
            sh_body_wake(w, a->sleeping ? c->body_a : c->body_b);
            woke = true;
        }
    }
    if (!woke)
        return;
    // Islands woken above have contacts (with the ground, with each other) that were skipped: collide
    // them now so they are solved with fresh manifolds this step.
    for (int i = 0; i < w->contacts.count; i++)
    {
        sh_contact* c = &w->contacts.data[i];
        if (!c->in_use || c->constraint == 0)
            continue;
        sh_body* a = &w->bodies.data[c->body_a];
        sh_body* b = &w->bodies.data[c->body_b];
        if (!simulated(a) && !simulated(b))
            continue;
        sh_contact_update(w, c, dt);
    }
}

static bool push_moved(sh_broad_phase* bp, int body)
{
    if (bp->moved_count == bp->moved_capacity)
    {
        int cap = bp->moved_capacity ? 2 * bp->moved_capacity : 64;
        int* m = sh_realloc(bp->moved, (size_t)bp->moved_capacity * sizeof *m, (size_t)cap * sizeof *m);
        if (m == NULL)
            return false;
        bp->moved = m;
        bp->moved_capacity = cap;
    }
    bp->moved[bp->moved_count++] = body;
    return true;
}

// Proxies whose fat box no longer holds the body's swept box are reinserted and queued for pair search.
static void update_proxies(sh_world* w, float dt)
{
    for (int i = 1; i < w->bodies.count; i++)
    {
        sh_body* b = &w->bodies.data[i];
        if (!b->in_use || !simulated(b))
            continue;
        sh_aabb box;
        sh_body_compute_aabb(b, dt, &box);
        if (sh_aabb_contains(&b->fat_box, &box))
            continue;
        for (int k = 0; k < 3; k++)
        {
            box.lo[k] -= SH_AABB_MARGIN;
            box.hi[k] += SH_AABB_MARGIN;
        }
        b->fat_box = box;
        sh_tree_remove(&w->bp.dynamic_tree, b->proxy);
        b->proxy = sh_tree_insert(&w->bp.dynamic_tree, &box, i);
        push_moved(&w->bp, i);
    }
}

bool sh_world_step(sh_world* w, float dt, sh_error* err)
{
    if (!isfinite(dt) || dt <= 0.0f || dt > 1.0f)
        return sh_error_set(err, "dt must be a finite number of seconds in 0 … 1, above 0");
    double t0 = sh_now() * 1e3;
    sh_arena_reset(&w->arena);
    for (int i = 0; i < w->contacts.count; i++)
        w->contacts.data[i].constraint = -1;
    if (!sh_world_update_pairs(w))
        return sh_error_set(err, "out of memory");
    collide(w, dt);
    double t1 = sh_now() * 1e3;
    // Out of scratch memory in a stage: the stage says which and the step still runs to its end (the world
    // stays consistent); the first such error is what the step returns.
    bool ok = sh_solver_step(w, dt, err);
    update_proxies(w, dt);
    double t2 = sh_now() * 1e3;
    if (!sh_island_update_sleep(w, dt) && ok)
        ok = sh_error_set(err, "out of memory in the sleep stage");
    // Touching contacts, for reporting and stats.
    w->touching.count = 0;
    int points = 0;
    for (int i = 0; i < w->contacts.count; i++)
    {
        const sh_contact* c = &w->contacts.data[i];
        if (!c->in_use || !c->touching)
            continue;
        if (!SH_ARRAY_RESERVE(w->touching, w->touching.count + 1))
        {
            if (ok)
                ok = sh_error_set(err, "out of memory in the contact report");
            break;
        }
        w->touching.data[w->touching.count++] = i;
        points += c->manifold.point_count;
    }
    double t3 = sh_now() * 1e3;
    w->time += (double)dt;
    w->step_index++;
    sh_world_stats* s = &w->stats;
    s->bodies = w->order.count;
    s->pairs = w->pair_count;
    s->contacts = w->touching.count;
    s->contact_points = points;
    s->collide_ms = t1 - t0;
    s->solve_ms = t2 - t1;
    s->sleep_ms = t3 - t2;
    s->step_ms = t3 - t0;
    int awake = 0;
    for (int i = 1; i < w->bodies.count; i++)
        awake += w->bodies.data[i].in_use && simulated(&w->bodies.data[i]);
    s->awake_bodies = awake;
    return ok;
}

void sh_world_get_stats(const sh_world* w, sh_world_stats* out)
{
    *out = w->stats;
    out->bodies = w->order.count;
}

// The split sum (world_snapshot.c) is the one loop over the bodies: ½ m v² + ½ ωᵀ I_w ω + m·|g|·z.
void sh_world_energy(const sh_world* w, sh_energy* out)
{
    sh_energy_parts e;
    sh_world_energy_parts(w, &e);
    out->kinetic = e.linear + e.rotational;
    out->potential = e.potential;
    out->total = out->kinetic + out->potential;
}

int sh_world_contact_count(const sh_world* w)
{
    return w->touching.count;
}

bool sh_world_contact_at(const sh_world* w, int i, sh_contact_info* out)
{
    if (i < 0 || i >= w->touching.count)
        return false;
    const sh_contact* c = &w->contacts.data[w->touching.data[i]];
    out->body_a = (sh_body_id){c->body_a, w->bodies.data[c->body_a].generation};
    out->body_b = (sh_body_id){c->body_b, w->bodies.data[c->body_b].generation};
    copy3(c->manifold.normal, out->normal);
    out->point_count = c->manifold.point_count;
    out->penetration_depth = 0.0f;
    // The step collides before it solves, so this normal is the one the solver used (its tangents too).
    vec3 t1, t2;
    sh_contact_tangents(c->manifold.normal, t1, t2);
    // The state holds the last sub-step's impulses (what warm starting re-applies); reported per step
    // (× substeps), so a reader gets the force as impulse / dt: a resting 10 kg box sums 10·g·dt.
    const float per_step = (float)w->def.substeps;
    for (int j = 0; j < c->manifold.point_count; j++)
    {
        const sh_manifold_point* mp = &c->manifold.points[j];
        sh_contact_point_info* p = &out->points[j];
        copy3(mp->point_a, p->point_a);
        copy3(mp->point_b, p->point_b);
        p->depth = mp->separation < 0.0f ? -mp->separation : 0.0f;
        const float f1 = c->state[j].tangent_impulse[0] * per_step,
                    f2 = c->state[j].tangent_impulse[1] * per_step;
        p->normal_impulse = c->state[j].normal_impulse * per_step;
        p->friction_impulse = sqrtf(f1 * f1 + f2 * f2);
        glm_vec3_scale(t1, f1, p->friction_impulse_vector);
        glm_vec3_muladds(t2, f2, p->friction_impulse_vector);
        out->penetration_depth = fmaxf(out->penetration_depth, p->depth);
    }
    return true;
}
