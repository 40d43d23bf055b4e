// Bytes -> asset DB open (core/assets/db.c): the bytes are written to a file and opened read-only, as
// `simhost serve --assets FILE` would. An open that succeeds must give consistent lookups: every listed
// asset is found by id and by name, its triangles and hull are there with the counts its info gives,
// and every coordinate is finite.
#include "simhost/assets.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void require(int ok, const char* what)
{
    if (!ok)
    {
        fprintf(stderr, "fuzz_asset_db: %s\n", what);
        abort();
    }
}

static char path[64];

static void check_asset(sh_asset_db* db, const sh_asset_info* a)
{
    require(sh_assets_find_id(db, a->asset_id) == a, "id lookup disagrees with the list");
    require(sh_assets_find(db, a->name) != NULL, "name lookup misses a listed asset");
    sh_error err = {0};
    int n = 0;
    const float* xyz = sh_assets_triangles(db, a->asset_id, &n, &err);
    if (xyz != NULL)
    {
        require(n == a->vertex_count && n % 3 == 0, "triangle vertex count disagrees with the info");
        for (int i = 0; i < 3 * n; i++)
            require(isfinite(xyz[i]), "a non-finite render vertex");
    }
    else
        require(err.message[0] != '\0', "no triangles and no reason");
    if (sh_assets_hull(db, a->asset_id, &err) == NULL)
        require(err.message[0] != '\0', "no hull and no reason");
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (path[0] == '\0')
        snprintf(path, sizeof path, "/tmp/simhost-fuzz-db.%d", (int)getpid());
    FILE* f = fopen(path, "wb");
    if (f == NULL)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    sh_asset_db* db = NULL;
    sh_error err = {0};
    if (sh_assets_open(path, false, &db, &err))
    {
        for (int i = 0; i < sh_assets_count(db); i++)
            check_asset(db, sh_assets_info_at(db, i));
        sh_assets_close(db);
    }
    else
        require(err.message[0] != '\0', "a failed open without a message");
    unlink(path);
    return 0;
}
