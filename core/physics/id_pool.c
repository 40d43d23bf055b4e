#include "id_pool.h"

#include <string.h>

void sh_id_pool_init(sh_id_pool* p, int first)
{
    memset(p, 0, sizeof *p);
    p->next = first;
}

void sh_id_pool_destroy(sh_id_pool* p)
{
    sh_free(p->free_ids, (size_t)p->free_capacity * sizeof *p->free_ids);
    memset(p, 0, sizeof *p);
}

int sh_id_pool_alloc(sh_id_pool* p)
{
    if (p->free_count > 0)
        return p->free_ids[--p->free_count];
    return p->next++;
}

bool sh_id_pool_free(sh_id_pool* p, int id)
{
    if (p->free_count == p->free_capacity)
    {
        int cap = p->free_capacity ? 2 * p->free_capacity : 16;
        int* f = sh_realloc(p->free_ids, (size_t)p->free_capacity * sizeof *f, (size_t)cap * sizeof *f);
        if (f == NULL)
            return false;
        p->free_ids = f;
        p->free_capacity = cap;
    }
    p->free_ids[p->free_count++] = id;
    return true;
}
