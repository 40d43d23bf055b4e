#pragma once
// Recycles integer slots: freed ids are handed out again (last freed first), new ones count up.

#include "simhost/base.h"

typedef struct sh_id_pool
{
    int* free_ids;
    int free_count, free_capacity;
    int next; // ids handed out so far, never reused: next one is `next`
} sh_id_pool;

void sh_id_pool_init(sh_id_pool* p, int first);
void sh_id_pool_destroy(sh_id_pool* p);
// -1 on out of memory (only possible when freeing grew the list; alloc itself never allocates).
int sh_id_pool_alloc(sh_id_pool* p);
bool sh_id_pool_free(sh_id_pool* p, int id);
