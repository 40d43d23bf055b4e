// Dynamic AABB tree (insertion by the surface-area heuristic descent and AVL-style rotations, the
// classic Box2D v2.4 b2DynamicTree design, written afresh in 3-D).
#include "broad_phase.h"

#include <string.h>

static float area(const sh_aabb* b)
{
    float x = b->hi[0] - b->lo[0], y = b->hi[1] - b->lo[1], z = b->hi[2] - b->lo[2];
    return 2.0f * (x * y + y * z + z * x);
}

static void combine(const sh_aabb* a, const sh_aabb* b, sh_aabb* out)
{
    for (int i = 0; i < 3; i++)
    {
        out->lo[i] = a->lo[i] < b->lo[i] ? a->lo[i] : b->lo[i];
        out->hi[i] = a->hi[i] > b->hi[i] ? a->hi[i] : b->hi[i];
    }
}

void sh_tree_init(sh_tree* t)
{
    memset(t, 0, sizeof *t);
    t->root = -1;
    t->free_list = -1;
}

void sh_tree_destroy(sh_tree* t)
{
    sh_free(t->nodes, (size_t)t->capacity * sizeof *t->nodes);
    sh_tree_init(t);
}

static int alloc_node(sh_tree* t)
{
    if (t->free_list < 0)
    {
        int cap = t->capacity ? 2 * t->capacity : 64;
        sh_tree_node* n = sh_realloc(t->nodes, (size_t)t->capacity * sizeof *n, (size_t)cap * sizeof *n);
        if (n == NULL)
            return -1;
        for (int i = t->capacity; i < cap; i++)
        {
            n[i].parent = i + 1 < cap ? i + 1 : -1;
            n[i].height = -1;
        }
        t->nodes = n;
        t->free_list = t->capacity;
        t->capacity = cap;
    }
    int id = t->free_list;
    sh_tree_node* n = t->nodes + id;
    t->free_list = n->parent;
    n->parent = n->child1 = n->child2 = -1;
    n->height = 0;
    n->user = -1;
    t->count++;
    return id;
}

static void free_node(sh_tree* t, int id)
{
    t->nodes[id].parent = t->free_list;
    t->nodes[id].height = -1;
    t->free_list = id;
    t->count--;
}

// Rotates the subtree at a if it is out of balance; returns the new subtree root.
static int balance(sh_tree* t, int ia)
{
    sh_tree_node* n = t->nodes;
    sh_tree_node* a = n + ia;
    if (a->height < 2)
        return ia;
    int ib = a->child1, ic = a->child2;
    sh_tree_node* b = n + ib;
    sh_tree_node* c = n + ic;
    int bal = c->height - b->height;
    if (bal > 1)
    {
        // Rotate c up.
        int i_f = c->child1, ig = c->child2;
        sh_tree_node* f = n + i_f;
        sh_tree_node* g = n + ig;
        c->child1 = ia;
        c->parent = a->parent;
        a->parent = ic;
        if (c->parent != -1)
        {
            if (n[c->parent].child1 == ia)
                n[c->parent].child1 = ic;
            else
                n[c->parent].child2 = ic;
        }
        else
            t->root = ic;
        if (f->height > g->height)
        {
            c->child2 = i_f;
            a->child2 = ig;
            g->parent = ia;
            combine(&b->box, &g->box, &a->box);
            combine(&a->box, &f->box, &c->box);
            a->height = 1 + (b->height > g->height ? b->height : g->height);
            c->height = 1 + (a->height > f->height ? a->height : f->height);
        }
        else
        {
            c->child2 = ig;
            a->child2 = i_f;
            f->parent = ia;
            combine(&b->box, &f->box, &a->box);
            combine(&a->box, &g->box, &c->box);
            a->height = 1 + (b->height > f->height ? b->height : f->height);
            c->height = 1 + (a->height > g->height ? a->height : g->height);
        }
        return ic;
    }
    if (bal < -1)
    {
        // Rotate b up.
        int id = b->child1, ie = b->child2;
        sh_tree_node* d = n + id;
        sh_tree_node* e = n + ie;
        b->child1 = ia;
        b->parent = a->parent;
        a->parent = ib;
        if (b->parent != -1)
        {
            if (n[b->parent].child1 == ia)
                n[b->parent].child1 = ib;
            else
                n[b->parent].child2 = ib;
        }
        else
            t->root = ib;
        if (d->height > e->height)
        {
            b->child2 = id;
            a->child1 = ie;
            e->parent = ia;
            combine(&c->box, &e->box, &a->box);
            combine(&a->box, &d->box, &b->box);
            a->height = 1 + (c->height > e->height ? c->height : e->height);
            b->height = 1 + (a->height > d->height ? a->height : d->height);
        }
        else
        {
            b->child2 = ie;
            a->child1 = id;
            d->parent = ia;
            combine(&c->box, &d->box, &a->box);
            combine(&a->box, &e->box, &b->box);
            a->height = 1 + (c->height > d->height ? c->height : d->height);
            b->height = 1 + (a->height > e->height ? a->height : e->height);
        }
        return ib;
    }
    return ia;
}

static void refit_up(sh_tree* t, int i)
{
    sh_tree_node* n = t->nodes;
    while (i != -1)
    {
        i = balance(t, i);
        int c1 = n[i].child1, c2 = n[i].child2;
        n[i].height = 1 + (n[c1].height > n[c2].height ? n[c1].height : n[c2].height);
        combine(&n[c1].box, &n[c2].box, &n[i].box);
        i = n[i].parent;
    }
}

int sh_tree_insert(sh_tree* t, const sh_aabb* box, int user)
{
    int leaf = alloc_node(t);
    if (leaf < 0)
        return -1;
    sh_tree_node* n = t->nodes;
    n[leaf].box = *box;
    n[leaf].user = user;
    if (t->root == -1)
    {
        t->root = leaf;
        return leaf;
    }
    // Descend choosing the child that grows the total surface area least.
    int i = t->root;
    while (n[i].height > 0)
    {
        int c1 = n[i].child1, c2 = n[i].child2;
        float a = area(&n[i].box);
        sh_aabb comb;
        combine(&n[i].box, box, &comb);
        float ca = area(&comb);
        float cost = 2.0f * ca;
        float inherit = 2.0f * (ca - a);
        float cost1, cost2;
        combine(box, &n[c1].box, &comb);
        cost1 = area(&comb) + inherit - (n[c1].height > 0 ? area(&n[c1].box) : 0.0f);
        combine(box, &n[c2].box, &comb);
        cost2 = area(&comb) + inherit - (n[c2].height > 0 ? area(&n[c2].box) : 0.0f);
        if (cost < cost1 && cost < cost2)
            break;
        i = cost1 < cost2 ? c1 : c2;
    }
    int sibling = i;
    int old_parent = n[sibling].parent;
    int np = alloc_node(t);
    if (np < 0)
    {
        free_node(t, leaf);
        return -1;
    }
    n = t->nodes; // alloc may have moved the array
    n[np].parent = old_parent;
    combine(box, &n[sibling].box, &n[np].box);
    n[np].height = n[sibling].height + 1;
    n[np].child1 = sibling;
    n[np].child2 = leaf;
    n[sibling].parent = np;
    n[leaf].parent = np;
    if (old_parent != -1)
    {
        if (n[old_parent].child1 == sibling)
            n[old_parent].child1 = np;
        else
            n[old_parent].child2 = np;
    }
    else
        t->root = np;
    refit_up(t, n[leaf].parent);
    return leaf;
}

void sh_tree_remove(sh_tree* t, int leaf)
{
    sh_tree_node* n = t->nodes;
    if (leaf == t->root)
    {
        t->root = -1;
        free_node(t, leaf);
        return;
    }
    int parent = n[leaf].parent;
    int grand = n[parent].parent;
    int sibling = n[parent].child1 == leaf ? n[parent].child2 : n[parent].child1;
    if (grand != -1)
    {
        if (n[grand].child1 == parent)
            n[grand].child1 = sibling;
        else
            n[grand].child2 = sibling;
        n[sibling].parent = grand;
        free_node(t, parent);
        refit_up(t, grand);
    }
    else
    {
        t->root = sibling;
        n[sibling].parent = -1;
        free_node(t, parent);
    }
    free_node(t, leaf);
}

int sh_tree_height(const sh_tree* t)
{
    return t->root == -1 ? 0 : t->nodes[t->root].height;
}

void sh_tree_query(const sh_tree* t, const sh_aabb* box, void (*fn)(void* ctx, int user), void* ctx)
{
    if (t->root == -1)
        return;
    // AVL balance keeps height <= ~1.44 log2(n): 256 entries suffice far beyond 2^64 leaves.
    int stack[256];
    int top = 0;
    stack[top++] = t->root;
    while (top > 0)
    {
        int i = stack[--top];
        const sh_tree_node* nd = t->nodes + i;
        if (!sh_aabb_overlap(&nd->box, box))
            continue;
        if (nd->height == 0)
            fn(ctx, nd->user);
        else if (top + 2 <= 256)
        {
            stack[top++] = nd->child2;
            stack[top++] = nd->child1;
        }
    }
}

void sh_broad_phase_init(sh_broad_phase* bp)
{
    memset(bp, 0, sizeof *bp);
    sh_tree_init(&bp->dynamic_tree);
    sh_tree_init(&bp->static_tree);
}

void sh_broad_phase_destroy(sh_broad_phase* bp)
{
    sh_tree_destroy(&bp->dynamic_tree);
    sh_tree_destroy(&bp->static_tree);
    sh_free(bp->moved, (size_t)bp->moved_capacity * sizeof *bp->moved);
    memset(bp, 0, sizeof *bp);
}
