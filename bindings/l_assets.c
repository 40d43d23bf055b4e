// simhost.assets: the asset DB as a Lua userdata (metatable SH_L_ASSETS_META).
//   local db = simhost.assets.open(path)   -- error "PATH: no such file" / "PATH: not an asset DB"
//   db:list(), db:find(name), db:geometry(id_or_name), db:hull(id_or_name), db:count(), db:path(),
//   db:close(); __gc/__close safe on a closed DB, __tostring.
// A DB pushed with sh_l_push_assets(..., owned = false) is borrowed (the server's shared DB): Lua never
// closes it, and close() only detaches this handle.
#include "l_simhost.h"

#include "simhost/assets.h"

#include <stdbool.h>
#include <stdlib.h>

typedef struct l_assets
{
    sh_asset_db* db; // NULL once closed
    bool owned;
} l_assets;

static l_assets* to_assets(lua_State* L, int arg)
{
    return luaL_checkudata(L, arg, SH_L_ASSETS_META);
}

sh_asset_db* sh_l_check_assets(lua_State* L, int arg)
{
    l_assets* a = to_assets(L, arg);
    luaL_argcheck(L, a->db != NULL, arg, "asset DB is closed");
    return a->db;
}

void sh_l_push_assets(lua_State* L, sh_asset_db* db, bool owned)
{
    l_assets* a = lua_newuserdatauv(L, sizeof *a, 0);
    a->db = NULL;
    a->owned = owned;
    luaL_setmetatable(L, SH_L_ASSETS_META);
    a->db = db;
}

static int assets_open(lua_State* L)
{
    const char* path = luaL_checkstring(L, 1);
    // The userdata exists before the DB is opened, so an error (or out of memory) never leaks it.
    l_assets* a = lua_newuserdatauv(L, sizeof *a, 0);
    a->db = NULL;
    a->owned = true;
    luaL_setmetatable(L, SH_L_ASSETS_META);
    sh_error err = {{0}};
    if (!sh_assets_open(path, false, &a->db, &err))
        return luaL_error(L, "%s", err.message);
    return 1;
}

static void set_vec3(lua_State* L, const char* field, const float* v)
{
    lua_createtable(L, 3, 0);
    for (int k = 0; k < 3; k++)
    {
        lua_pushnumber(L, v[k]);
        lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, field);
}

static void push_info(lua_State* L, const sh_asset_info* in)
{
    lua_createtable(L, 0, 14);
    lua_pushinteger(L, in->asset_id);
    lua_setfield(L, -2, "asset_id");
    lua_pushstring(L, in->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, in->category);
    lua_setfield(L, -2, "category");
    lua_pushinteger(L, in->vertex_count);
    lua_setfield(L, -2, "vertex_count");
    lua_pushinteger(L, in->triangle_count);
    lua_setfield(L, -2, "triangle_count");
    lua_pushinteger(L, in->mesh_vertex_count);
    lua_setfield(L, -2, "mesh_vertex_count");
    lua_pushinteger(L, in->hull_vertex_count);
    lua_setfield(L, -2, "hull_vertex_count");
    lua_pushinteger(L, in->hull_face_count);
    lua_setfield(L, -2, "hull_face_count");
    lua_pushinteger(L, in->hull_edge_count);
    lua_setfield(L, -2, "hull_edge_count");
    lua_pushnumber(L, in->volume);
    lua_setfield(L, -2, "volume");
    if (in->mesh_volume > 0)
    {
        lua_pushnumber(L, in->mesh_volume);
        lua_setfield(L, -2, "mesh_volume");
    }
    set_vec3(L, "bounds_min", in->bounds_min);
    set_vec3(L, "bounds_max", in->bounds_max);
}

static int assets_list(lua_State* L)
{
    sh_asset_db* db = sh_l_check_assets(L, 1);
    int n = sh_assets_count(db);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++)
    {
        push_info(L, sh_assets_info_at(db, i));
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int assets_find(lua_State* L)
{
    sh_asset_db* db = sh_l_check_assets(L, 1);
    const sh_asset_info* in = sh_assets_find(db, luaL_checkstring(L, 2));
    if (in == NULL)
        lua_pushnil(L);
    else
        push_info(L, in);
    return 1;
}

static int assets_count(lua_State* L)
{
    lua_pushinteger(L, sh_assets_count(sh_l_check_assets(L, 1)));
    return 1;
}

static int assets_path(lua_State* L)
{
    lua_pushstring(L, sh_assets_path(sh_l_check_assets(L, 1)));
    return 1;
}

// An asset by id (integer) or name (string); unknown ones raise an argument error.
static const sh_asset_info* check_asset(lua_State* L, sh_asset_db* db, int arg)
{
    const sh_asset_info* in = NULL;
    if (lua_type(L, arg) == LUA_TNUMBER)
    {
        int ok = 0;
        lua_Integer id = lua_tointegerx(L, arg, &ok);
        if (!ok || id < 1 || id > 0x7fffffff)
            luaL_argerror(L, arg, "asset id must be a positive integer");
        in = sh_assets_find_id(db, (int)id);
        if (in == NULL)
            luaL_argerror(L, arg, lua_pushfstring(L, "unknown asset id %I", id));
    }
    else if (lua_type(L, arg) == LUA_TSTRING)
    {
        const char* name = lua_tostring(L, arg);
        in = sh_assets_find(db, name);
        if (in == NULL)
            luaL_argerror(L, arg, lua_pushfstring(L, "unknown asset '%s'", name));
    }
    else
        luaL_typeerror(L, arg, "asset id or name");
    return in;
}

static int assets_geometry(lua_State* L)
{
    sh_asset_db* db = sh_l_check_assets(L, 1);
    const sh_asset_info* in = check_asset(L, db, 2);
    int n = 0;
    sh_error err = {{0}};
    const float* xyz = sh_assets_triangles(db, in->asset_id, &n, &err);
    if (xyz == NULL)
        return luaL_error(L, "%s", err.message);
    lua_createtable(L, 0, 2);
    lua_createtable(L, 3 * n, 0);
    for (int i = 0; i < 3 * n; i++)
    {
        lua_pushnumber(L, xyz[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "positions");
    lua_pushinteger(L, n);
    lua_setfield(L, -2, "vertex_count");
    return 1;
}

// The hull for specs and tools: flat vertices, faces with 1-based corner lists, edges, mass properties.
static int assets_hull(lua_State* L)
{
    sh_asset_db* db = sh_l_check_assets(L, 1);
    const sh_asset_info* in = check_asset(L, db, 2);
    sh_error err = {{0}};
    const sh_hull* h = sh_assets_hull(db, in->asset_id, &err);
    if (h == NULL)
        return luaL_error(L, "%s", err.message);
    lua_createtable(L, 0, 10);
    lua_createtable(L, 3 * h->vertex_count, 0);
    for (int i = 0; i < h->vertex_count; i++)
        for (int k = 0; k < 3; k++)
        {
            lua_pushnumber(L, h->vertices[i][k]);
            lua_rawseti(L, -2, 3 * i + k + 1);
        }
    lua_setfield(L, -2, "vertices");
    lua_pushinteger(L, h->vertex_count);
    lua_setfield(L, -2, "vertex_count");
    lua_createtable(L, h->face_count, 0);
    for (int f = 0; f < h->face_count; f++)
    {
        const sh_hull_face* face = &h->faces[f];
        lua_createtable(L, 0, 3);
        set_vec3(L, "normal", face->normal);
        lua_pushnumber(L, face->offset);
        lua_setfield(L, -2, "offset");
        lua_createtable(L, face->count, 0);
        for (int k = 0; k < face->count; k++)
        {
            lua_pushinteger(L, h->face_indices[face->first + k] + 1);
            lua_rawseti(L, -2, k + 1);
        }
        lua_setfield(L, -2, "vertices");
        lua_rawseti(L, -2, f + 1);
    }
    lua_setfield(L, -2, "faces");
    lua_createtable(L, h->edge_count, 0);
    for (int e = 0; e < h->edge_count; e++)
    {
        const sh_hull_edge* ed = &h->edges[e];
        lua_createtable(L, 0, 4);
        lua_pushinteger(L, ed->v0 + 1);
        lua_setfield(L, -2, "v0");
        lua_pushinteger(L, ed->v1 + 1);
        lua_setfield(L, -2, "v1");
        lua_pushinteger(L, ed->face_a + 1);
        lua_setfield(L, -2, "face_a");
        lua_pushinteger(L, ed->face_b + 1);
        lua_setfield(L, -2, "face_b");
        lua_rawseti(L, -2, e + 1);
    }
    lua_setfield(L, -2, "edges");
    lua_pushnumber(L, h->mass.volume);
    lua_setfield(L, -2, "volume");
    set_vec3(L, "centroid", h->mass.centroid);
    lua_createtable(L, 3, 0); // rows of the symmetric tensor (cglm stores columns)
    for (int r = 0; r < 3; r++)
    {
        const float row[3] = {h->mass.inertia[0][r], h->mass.inertia[1][r], h->mass.inertia[2][r]};
        lua_createtable(L, 3, 0);
        for (int c = 0; c < 3; c++)
        {
            lua_pushnumber(L, row[c]);
            lua_rawseti(L, -2, c + 1);
        }
        lua_rawseti(L, -2, r + 1);
    }
    lua_setfield(L, -2, "inertia");
    set_vec3(L, "aabb_min", h->aabb_min);
    set_vec3(L, "aabb_max", h->aabb_max);
    return 1;
}

static int assets_close(lua_State* L)
{
    l_assets* a = to_assets(L, 1);
    if (a->db != NULL && a->owned)
        sh_assets_close(a->db);
    a->db = NULL;
    return 0;
}

static int assets_tostring(lua_State* L)
{
    l_assets* a = to_assets(L, 1);
    if (a->db == NULL)
        lua_pushliteral(L, "simhost.assets (closed)");
    else
        lua_pushfstring(L, "simhost.assets (%s, %d assets)", sh_assets_path(a->db), sh_assets_count(a->db));
    return 1;
}

static const luaL_Reg assets_methods[] = {
    {"list", assets_list},   {"find", assets_find}, {"geometry", assets_geometry}, {"hull", assets_hull},
    {"count", assets_count}, {"path", assets_path}, {"close", assets_close},       {NULL, NULL},
};

static const luaL_Reg assets_meta[] = {
    {"__gc", assets_close},
    {"__close", assets_close},
    {"__tostring", assets_tostring},
    {NULL, NULL},
};

void sh_l_assets_register(lua_State* L)
{
    luaL_newmetatable(L, SH_L_ASSETS_META);
    luaL_setfuncs(L, assets_meta, 0);
    luaL_newlib(L, assets_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, assets_open);
    lua_setfield(L, -2, "open");
    lua_setfield(L, -2, "assets");
}
