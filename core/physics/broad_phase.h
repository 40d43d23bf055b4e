#pragma once
// Broad phase: two dynamic AABB trees (static bodies in their own, so a moving body queries both and
// static proxies never move) of fattened boxes, a move buffer, and the new pairs it finds. Which pairs
// already exist is the world's business (its pair set), so pairs persist between steps.

#include "simhost/base.h"

typedef struct sh_aabb
{
    float lo[3], hi[3];
} sh_aabb;

static inline bool sh_aabb_overlap(const sh_aabb* a, const sh_aabb* b)
{
    return a->lo[0] <= b->hi[0] && b->lo[0] <= a->hi[0] && a->lo[1] <= b->hi[1] && b->lo[1] <= a->hi[1] &&
           a->lo[2] <= b->hi[2] && b->lo[2] <= a->hi[2];
}

static inline bool sh_aabb_contains(const sh_aabb* outer, const sh_aabb* inner)
{
    return outer->lo[0] <= inner->lo[0] && outer->lo[1] <= inner->lo[1] && outer->lo[2] <= inner->lo[2] &&
           inner->hi[0] <= outer->hi[0] && inner->hi[1] <= outer->hi[1] && inner->hi[2] <= outer->hi[2];
}

typedef struct sh_tree_node
{
    sh_aabb box;
    int parent; // also the free-list link
    int child1, child2;
    int height; // leaf 0, free -1
    int user;   // body index for leaves
} sh_tree_node;

typedef struct sh_tree
{
    sh_tree_node* nodes;
    int root, capacity, count, free_list;
} sh_tree;

void sh_tree_init(sh_tree* t);
void sh_tree_destroy(sh_tree* t);
int sh_tree_insert(sh_tree* t, const sh_aabb* box, int user); // -1 on out of memory
void sh_tree_remove(sh_tree* t, int leaf);
int sh_tree_height(const sh_tree* t);
// Calls fn(ctx, user) for each leaf whose box overlaps; the traversal stack is on the C stack (depth
// bounded by the AVL balance).
void sh_tree_query(const sh_tree* t, const sh_aabb* box, void (*fn)(void* ctx, int user), void* ctx);

typedef struct sh_broad_phase
{
    sh_tree dynamic_tree, static_tree;
    int* moved; // proxies (dynamic tree leaves) reinserted this step
    int moved_count, moved_capacity;
} sh_broad_phase;

void sh_broad_phase_init(sh_broad_phase* bp);
void sh_broad_phase_destroy(sh_broad_phase* bp);
#define SH_AABB_MARGIN 0.1f // fattening (m): a body moves this far before its proxy is reinserted
