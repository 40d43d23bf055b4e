#include "constraint_graph.h"

#include <string.h>

bool sh_constraint_graph_build(sh_constraint_graph* g, const sh_constraint* cons, const int* list, int count,
                               int body_count, sh_arena* arena)
{
    memset(g, 0, sizeof *g);
    g->body_count = body_count;
    // last[b]: the level of the latest constraint on body b (0: none yet); level[i] is 1-based.
    int* last = sh_arena_alloc(arena, (size_t)(body_count + 1) * sizeof *last);
    int* level = sh_arena_alloc(arena, (size_t)(count + 1) * sizeof *level);
    int* start = sh_arena_alloc(arena, (size_t)(count + 2) * sizeof *start);
    g->order = sh_arena_alloc(arena, (size_t)(count + 1) * sizeof *g->order);
    if (last == NULL || level == NULL || start == NULL || g->order == NULL)
        return false;
    memset(last, 0, (size_t)(body_count + 1) * sizeof *last);
    memset(start, 0, (size_t)(count + 2) * sizeof *start);
    int levels = 0;
    for (int i = 0; i < count; i++)
    {
        const sh_constraint* c = &cons[list != NULL ? list[i] : i];
        const int a = c->a, b = c->b;
        const int la = a < body_count ? last[a] : 0, lb = b < body_count ? last[b] : 0;
        const int l = (la > lb ? la : lb) + 1;
        if (a < body_count)
            last[a] = l;
        if (b < body_count)
            last[b] = l;
        level[i] = l;
        start[l]++; // counts, turned into offsets below
        levels = l > levels ? l : levels;
    }
    // Counting sort by level, stable (index order within a level). start[l] for l = 1 .. levels becomes the
    // offset of level l - 1 (0-based), start[levels + 1] the total.
    int sum = 0;
    for (int l = 1; l <= levels + 1; l++)
    {
        int n = start[l];
        start[l] = sum;
        sum += n;
    }
    for (int i = 0; i < count; i++)
        g->order[start[level[i]]++] = list != NULL ? list[i] : i;
    // After the fill start[l] is the end of level l, i.e. the start of 0-based level l.
    start[0] = 0;
    g->level_start = start;
    g->level_count = levels;
    return true;
}
