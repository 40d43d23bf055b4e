// The asset DB in C: create, import, reopen read-only, and concurrent reads from several threads (the
// live server shares one read-only DB among its workers; reads must be pure lookups).
#include "check.h"
#include "mesh.h"
#include "shapes.h"

#include "simhost/assets.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sh_asset_db* shared;
static int expected_vertices[4];
static float expected_volume[4];

static void* reader(void* arg)
{
    long mismatches = 0;
    unsigned seed = (unsigned)(size_t)arg;
    for (int i = 0; i < 20000; i++)
    {
        seed = seed * 1103515245u + 12345u;
        int id = 1 + (int)(seed >> 16) % 4;
        const sh_asset_info* in = sh_assets_find_id(shared, id);
        const sh_asset_info* by_name = in ? sh_assets_find(shared, in->name) : NULL;
        int n = 0;
        const float* tri = sh_assets_triangles(shared, id, &n, NULL);
        const sh_hull* h = sh_assets_hull(shared, id, NULL);
        if (in == NULL || by_name != in || tri == NULL || n != expected_vertices[id - 1] || h == NULL ||
            h->mass.volume != expected_volume[id - 1])
            mismatches++;
    }
    return (void*)mismatches;
}

static void test_create_import_reopen_threads(void)
{
    char dir[] = "/tmp/simhost-test-db.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/t.db", dir);

    sh_asset_db* db = NULL;
    sh_error err = {{0}};
    CHECK(sh_assets_create(path, &db, &err));
    sh_mesh m[4] = {{0}};
    sh_shape_box(&m[0], 1, 2, 3);
    sh_shape_pyramid(&m[1], 1, 1);
    sh_shape_icosphere(&m[2], 1, 2);
    sh_shape_capsule(&m[3], 0.5f, 1, 24, 6);
    const char* names[4] = {"box", "pyramid", "sphere", "capsule"};
    for (int i = 0; i < 4 && db != NULL; i++)
    {
        int id = 0;
        CHECK(sh_assets_import_mesh(db, names[i], "test", m[i].xyz, m[i].vertex_count, m[i].indices,
                                    m[i].triangle_count, &id, &err));
        CHECK(id == i + 1);
        expected_vertices[i] = 3 * m[i].triangle_count;
    }
    // Import-time validation.
    int id = 0;
    CHECK(!sh_assets_import_mesh(db, "box", "test", m[0].xyz, m[0].vertex_count, m[0].indices,
                                 m[0].triangle_count, &id, &err));
    CHECK(strstr(err.message, "already exists") != NULL);
    uint32_t bad[3] = {0, 1, 99};
    CHECK(!sh_assets_import_mesh(db, "bad", "test", m[0].xyz, m[0].vertex_count, bad, 1, &id, &err));
    CHECK(strstr(err.message, "missing vertex") != NULL);
    CHECK(!sh_assets_import_mesh(db, "with space", "test", m[0].xyz, m[0].vertex_count, m[0].indices,
                                 m[0].triangle_count, &id, &err));
    sh_assets_close(db);
    CHECK(!sh_assets_create(path, &db, &err)); // never overwrites
    CHECK(strstr(err.message, "already exists") != NULL);

    CHECK(sh_assets_open(path, false, &shared, &err));
    if (shared != NULL)
    {
        CHECK(sh_assets_count(shared) == 4);
        for (int i = 0; i < 4; i++)
        {
            const sh_asset_info* in = sh_assets_find(shared, names[i]);
            CHECK(in != NULL && in->asset_id == i + 1);
            expected_volume[i] = sh_assets_hull(shared, i + 1, NULL)->mass.volume;
        }
        CHECK_NEAR(6.0, expected_volume[0], 1e-5);
        CHECK(!sh_assets_import_mesh(shared, "x", "test", m[0].xyz, m[0].vertex_count, m[0].indices,
                                     m[0].triangle_count, &id, &err));
        CHECK(strstr(err.message, "read-only") != NULL);
        CHECK(sh_assets_find_id(shared, 5) == NULL && sh_assets_find_id(shared, 0) == NULL);
        CHECK(sh_assets_triangles(shared, 9, &id, &err) == NULL);

        pthread_t t[4];
        for (long i = 0; i < 4; i++)
            CHECK(pthread_create(&t[i], NULL, reader, (void*)(i + 1)) == 0);
        long total = 0;
        for (int i = 0; i < 4; i++)
        {
            void* r = NULL;
            pthread_join(t[i], &r);
            total += (long)r;
        }
        CHECK(total == 0);
        sh_assets_close(shared);
    }
    for (int i = 0; i < 4; i++)
        sh_mesh_free(&m[i]);
    unlink(path);
    rmdir(dir);
}

// Found by fuzz_asset_db: a schema whose asset_id is not the rowid ("PRIMARY" mutated) reads every id as
// NULL, so two assets shared id 0 and lookups by id answered the wrong one. Ids must be unique positive
// integers, ascending as loaded, or the DB is refused as corrupt.
static void test_ids_must_be_unique_positive(void)
{
    char dir[] = "/tmp/simhost-test-db.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/ids.db", dir);
    sh_asset_db* db = NULL;
    sh_error err = {{0}};
    CHECK(sh_assets_create(path, &db, &err));
    sh_mesh m = {0};
    sh_shape_box(&m, 1, 1, 1);
    int id = 0;
    CHECK(sh_assets_import_mesh(db, "a", "test", m.xyz, m.vertex_count, m.indices, m.triangle_count, &id,
                                &err));
    CHECK(sh_assets_import_mesh(db, "b", "test", m.xyz, m.vertex_count, m.indices, m.triangle_count, &id,
                                &err));
    sh_assets_close(db);
    sh_mesh_free(&m);
    static const char* const edits[] = {
        // asset_id no longer the rowid: the stored column is NULL
        "PRAGMA writable_schema=ON; UPDATE sqlite_schema SET sql = replace(sql, 'PRIMARY KEY', '') "
        "WHERE name = 'assets'",
        "UPDATE assets SET asset_id = 0 WHERE name = 'a'",           // not positive
        "UPDATE assets SET asset_id = 1 + (1 << 40) * (name = 'b')", // past int
    };
    for (int i = 0; i < 3; i++)
    {
        char copy[300];
        snprintf(copy, sizeof copy, "%s/copy%d.db", dir, i);
        char cmd[700];
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, copy);
        CHECK(system(cmd) == 0);
        sqlite3* sql = NULL;
        CHECK(sqlite3_open(copy, &sql) == SQLITE_OK);
        char* why = NULL;
        CHECK(sqlite3_exec(sql, edits[i], NULL, NULL, &why) == SQLITE_OK);
        if (why != NULL)
            fprintf(stderr, "edit %d: %s\n", i, why);
        sqlite3_free(why);
        sqlite3_close(sql);
        err.message[0] = '\0';
        CHECK(!sh_assets_open(copy, false, &db, &err));
        CHECK(strstr(err.message, "asset ids are not unique positive integers") != NULL);
        unlink(copy);
    }
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    RUN(test_create_import_reopen_threads);
    RUN(test_ids_must_be_unique_positive);
    return CHECK_SUMMARY();
}
