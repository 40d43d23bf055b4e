// Islands and sleep. Awake bodies are grouped each step by union-find over touching contacts between
// dynamic bodies (static bodies never join islands: a floor would merge everything). An island whose
// every body has been at rest for SH_SLEEP_TIME sleeps as a whole and is remembered as a linked list, so
// touching or pushing any member wakes exactly that group.
#include "world.h"

#include <math.h>

static int find(int* parent, int i)
{
    while (parent[i] != i)
    {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

void sh_island_wake(sh_world* w, int island)
{
    sh_island* is = &w->islands.data[island];
    for (int i = is->head; i != -1;)
    {
        sh_body* b = &w->bodies.data[i];
        int next = b->island_next;
        b->sleeping = false;
        b->sleep_time = 0.0f;
        b->sleep_island = -1;
        b->island_next = -1;
        i = next;
    }
    is->head = -1;
    is->count = 0;
    sh_id_pool_free(&w->island_pool, island);
}

bool sh_island_update_sleep(sh_world* w, float dt)
{
    int nb = w->bodies.count;
    // Per-body rest timers: max(|v|, |ω|·extent) is the fastest surface point's speed, roughly.
    for (int i = 1; i < nb; i++)
    {
        sh_body* b = &w->bodies.data[i];
        if (!b->in_use || b->is_static || b->sleeping)
            continue;
        float speed = fmaxf(glm_vec3_norm(b->v), glm_vec3_norm(b->w) * b->extent);
        b->sleep_time = speed > SH_SLEEP_VELOCITY ? 0.0f : b->sleep_time + dt;
    }
    if (!w->def.enable_sleep)
        return true;
    int* parent = sh_arena_alloc(&w->arena, (size_t)nb * sizeof *parent);
    float* min_time = sh_arena_alloc(&w->arena, (size_t)nb * sizeof *min_time);
    if (parent == NULL || min_time == NULL)
        return false;
    for (int i = 0; i < nb; i++)
        parent[i] = i;
    for (int i = 0; i < w->contacts.count; i++)
    {
        const sh_contact* c = &w->contacts.data[i];
        if (!c->in_use || !c->touching)
            continue;
        const sh_body* a = &w->bodies.data[c->body_a];
        const sh_body* b = &w->bodies.data[c->body_b];
        if (a->is_static || b->is_static || a->sleeping || b->sleeping)
            continue;
        int ra = find(parent, c->body_a), rb = find(parent, c->body_b);
        if (ra != rb)
        {
            // Smaller index as root: deterministic.
            if (ra < rb)
                parent[rb] = ra;
            else
                parent[ra] = rb;
        }
    }
    for (int i = 0; i < nb; i++)
        min_time[i] = INFINITY;
    for (int i = 1; i < nb; i++)
    {
        const sh_body* b = &w->bodies.data[i];
        if (!b->in_use || b->is_static || b->sleeping)
            continue;
        int r = find(parent, i);
        min_time[r] = fminf(min_time[r], b->sleep_time);
    }
    // Bodies are visited in index order and a root is its set's smallest index, so the root is met first
    // and creates the island its later members join.
    for (int i = 1; i < nb; i++)
    {
        sh_body* b = &w->bodies.data[i];
        if (!b->in_use || b->is_static || b->sleeping)
            continue;
        int r = find(parent, i);
        if (!(min_time[r] >= SH_SLEEP_TIME))
            continue;
        // Root r's island: created when its first member (the root itself, smallest index) is seen.
        int island;
        if (r == i)
        {
            island = sh_id_pool_alloc(&w->island_pool);
            if (!SH_ARRAY_RESERVE(w->islands, island + 1))
                return false;
            while (w->islands.count <= island)
                w->islands.data[w->islands.count++] = (sh_island){-1, 0};
            w->islands.data[island] = (sh_island){-1, 0};
        }
        else
            island = w->bodies.data[r].sleep_island;
        sh_island* is = &w->islands.data[island];
        b->sleeping = true;
        b->sleep_island = island;
        b->island_next = is->head;
        is->head = i;
        is->count++;
        glm_vec3_zero(b->v);
        glm_vec3_zero(b->w);
    }
    return true;
}
