// simhost.world — a physics world as a Lua userdata (docs/lua-api.md).
// The world pins its asset DB as user value 1 so the DB (and the hulls it caches, which the world's
// shapes were cloned from) outlives the world. Frames are written in C in one pass into a buffer the
// world owns and reuses (docs/modules.md, "One owner, one buffer").
#include "l_check.h"
#include "l_simhost.h"

#include "simhost/float_text.h"
#include "simhost/frame.h"
#include "simhost/physics.h"
#include "simhost/task_pool.h"

#include <cglm/cglm.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

// A hull the script built (spawn_box, hull_points): owned by the world userdata, freed after the world.
typedef struct custom_hull
{
    sh_hull* hull;
    int asset_id; // negative: -1, -2, … so it never collides with a DB id
    float key[4]; // spawn_box half extents (key[3] = 1), so equal boxes share one hull
} custom_hull;

// Which asset a body was spawned from: a bindings concept, so it lives here, not in the physics. One
// entry per body slot (bodies are never removed), the full id kept so a stale id is never matched.
typedef struct body_asset
{
    int64_t body_id;
    int asset_id; // > 0: the DB's; < 0: a custom hull of this world
} body_asset;

typedef struct lworld
{
    sh_world* world;
    sh_asset_db* db; // may be NULL (custom hulls only)
    custom_hull* customs;
    int custom_count, custom_capacity;
    body_asset* assets; // by body slot index - 1
    int asset_capacity;
    char* buf; // JSON output, reused
    size_t len, cap;
    sh_frame_buf frame; // SHF1 output (w:frame_bin), reused
    bool oom;
    char name_buf[32];
    size_t charged;     // bytes reported through SH_L_CHARGE_KEY so far
    sh_task_pool* pool; // threads > 1: the world's step tasks (freed after the world)
} lworld;

static lworld* check_world(lua_State* L)
{
    lworld* lw = luaL_checkudata(L, 1, SH_L_WORLD_META);
    if (lw->world == NULL)
        luaL_argerror(L, 1, "world is closed");
    return lw;
}

// Tells the host's charge function (l_simhost.h) how much C memory this world now holds for the state.
// The count is updated before the call: the call raises when the cap is passed, and the world's memory
// is held either way until it is closed.
static void report_memory(lua_State* L, lworld* lw, size_t now)
{
    if (now == lw->charged)
        return;
    if (lua_getfield(L, LUA_REGISTRYINDEX, SH_L_CHARGE_KEY) != LUA_TFUNCTION)
    {
        lua_pop(L, 1);
        return;
    }
    lua_Integer delta = (lua_Integer)now - (lua_Integer)lw->charged;
    lw->charged = now;
    lua_pushinteger(L, delta);
    lua_call(L, 1, 0);
}

static void charge(lua_State* L, lworld* lw)
{
    size_t n = sh_world_memory_bytes(lw->world) + lw->cap + lw->frame.cap +
               (size_t)lw->custom_capacity * sizeof *lw->customs +
               (size_t)lw->asset_capacity * sizeof *lw->assets;
    report_memory(L, lw, n);
}

static int world_close(lua_State* L)
{
    lworld* lw = luaL_checkudata(L, 1, SH_L_WORLD_META);
    report_memory(L, lw, 0);
    sh_world_destroy(lw->world);
    lw->world = NULL;
    sh_task_pool_destroy(lw->pool);
    lw->pool = NULL;
    for (int i = 0; i < lw->custom_count; i++)
        sh_hull_free(lw->customs[i].hull);
    sh_free(lw->customs, (size_t)lw->custom_capacity * sizeof *lw->customs);
    lw->customs = NULL;
    lw->custom_count = lw->custom_capacity = 0;
    sh_free(lw->assets, (size_t)lw->asset_capacity * sizeof *lw->assets);
    lw->assets = NULL;
    lw->asset_capacity = 0;
    sh_free(lw->buf, lw->cap);
    lw->buf = NULL;
    lw->len = lw->cap = 0;
    sh_frame_buf_free(&lw->frame);
    return 0;
}

static int world_tostring(lua_State* L)
{
    lworld* lw = luaL_checkudata(L, 1, SH_L_WORLD_META);
    if (lw->world == NULL)
        lua_pushliteral(L, "simhost.world (closed)");
    else
        lua_pushfstring(L, "simhost.world (%d bodies, t=%f s)", sh_world_body_count(lw->world),
                        sh_world_time(lw->world));
    return 1;
}

// simhost.world{ assets = db, gravity = {0,0,-9.81}, substeps = 4, sleeping = true, contact_hertz = 60,
//                threads = 1 }
static int world_new(lua_State* L)
{
    if (lua_isnoneornil(L, 1))
    {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    sh_world_def def = sh_world_def_default();
    sh_l_vec3_field(L, 1, "gravity", def.gravity);
    def.substeps = (int)sh_l_number_field(L, 1, "substeps", 4, 1, 64, "an integer in 1 … 64");
    def.enable_sleep = sh_l_bool_field(L, 1, "sleeping", true);
    // The one solver knob a scenario may want: softer contacts sag more and ring slower (docs/physics.md).
    def.contact_hertz = (float)sh_l_number_field_gt(L, 1, "contact_hertz", def.contact_hertz, 0, 1000,
                                                    "a number in 0 … 1000, above 0 (Hz)");
    double threads = sh_l_number_field(L, 1, "threads", 1, 1, SH_WORLD_MAX_THREADS, "an integer in 1 … 64");
    if (threads != floor(threads))
        luaL_argerror(L, 1, "field 'threads' must be an integer in 1 … 64");
    def.threads = (int)threads;
    sh_asset_db* db = NULL;
    if (lua_getfield(L, 1, "assets") != LUA_TNIL)
        db = sh_l_check_assets(L, lua_gettop(L));
    int db_index = lua_gettop(L);
    lworld* lw = lua_newuserdatauv(L, sizeof *lw, 1);
    memset(lw, 0, sizeof *lw);
    luaL_setmetatable(L, SH_L_WORLD_META);
    lua_pushvalue(L, db_index);
    lua_setiuservalue(L, -2, 1);
    sh_error err;
    // The world's own pool, made once here (never per step), of at most as many threads as the machine
    // has cores: more would only take turns on them, and the step's bits are the same for any count.
    int pool_threads = def.threads < sh_cpu_count() ? def.threads : sh_cpu_count();
    // A state the host runs (it charges the state's memory: a live session) steps its worlds on the
    // session's worker: the host's --workers already spread the sessions over the cores, and a pool per
    // world would be threads that no session limit counts. The bits are the same for any count.
    int host_state = lua_getfield(L, LUA_REGISTRYINDEX, SH_L_CHARGE_KEY) == LUA_TFUNCTION;
    lua_pop(L, 1);
    if (host_state)
        pool_threads = 1;
    if (pool_threads > 1)
    {
        if (!sh_task_pool_create(pool_threads, &lw->pool, &err))
            return luaL_error(L, "world: %s", err.message);
        def.enqueue_task = sh_task_pool_enqueue;
        def.finish_task = sh_task_pool_finish;
        def.task_context = lw->pool;
    }
    if (!sh_world_create(&def, &lw->world, &err))
        return luaL_error(L, "world: %s", err.message);
    lw->db = db;
    charge(L, lw);
    return 1;
}

// --- spawning ----------------------------------------------------------------------------------------

static custom_hull* add_custom(lua_State* L, lworld* lw, const float* xyz, int n, const float* key)
{
    if (key != NULL)
        for (int i = 0; i < lw->custom_count; i++)
            if (memcmp(lw->customs[i].key, key, sizeof lw->customs[i].key) == 0)
                return &lw->customs[i];
    if (lw->custom_count == lw->custom_capacity)
    {
        int cap = lw->custom_capacity ? 2 * lw->custom_capacity : 8;
        custom_hull* c =
            sh_realloc(lw->customs, (size_t)lw->custom_capacity * sizeof *c, (size_t)cap * sizeof *c);
        if (c == NULL)
            luaL_error(L, "out of memory");
        lw->customs = c;
        lw->custom_capacity = cap;
    }
    sh_hull* h = NULL;
    sh_error err;
    if (!sh_hull_build(xyz, n, &h, &err))
        luaL_argerror(L, 2, lua_pushfstring(L, "hull: %s", err.message));
    custom_hull* c = &lw->customs[lw->custom_count++];
    memset(c, 0, sizeof *c);
    c->hull = h;
    c->asset_id = -lw->custom_count;
    if (key != NULL)
        memcpy(c->key, key, sizeof c->key);
    return c;
}

// Room in the body→asset table for slot `index` (1-based); false when out of memory.
static bool reserve_assets(lworld* lw, int index)
{
    if (index <= lw->asset_capacity)
        return true;
    int cap = lw->asset_capacity ? lw->asset_capacity : 16;
    while (cap < index)
        cap *= 2;
    body_asset* a = sh_realloc(lw->assets, (size_t)lw->asset_capacity * sizeof *a, (size_t)cap * sizeof *a);
    if (a == NULL)
        return false;
    memset(a + lw->asset_capacity, 0, (size_t)(cap - lw->asset_capacity) * sizeof *a);
    lw->assets = a;
    lw->asset_capacity = cap;
    return true;
}

// The asset body `id` was spawned from; 0 when the world does not know it.
static int asset_of(const lworld* lw, sh_body_id id)
{
    const body_asset* a = id.index >= 1 && id.index <= lw->asset_capacity ? &lw->assets[id.index - 1] : NULL;
    return a != NULL && a->body_id == sh_body_id_to_int(id) ? a->asset_id : 0;
}

static void euler_to_quat(double pitch, double roll, double yaw, versor q)
{
    // R = Rz(yaw)·Ry(pitch)·Rx(roll) (protocol.md), so q = qz ⊗ qy ⊗ qx.
    versor qx, qy, qz, t;
    glm_quatv(qx, (float)roll, (vec3){1, 0, 0});
    glm_quatv(qy, (float)pitch, (vec3){0, 1, 0});
    glm_quatv(qz, (float)yaw, (vec3){0, 0, 1});
    glm_quat_mul(qz, qy, t);
    glm_quat_mul(t, qx, q);
}

// A body scalar (mass, restitution, friction) from the spawn table, checked against the core's one set of
// bounds (sh_body_scalar_check): "field 'mass' must be a finite number > 0". Not a number reads as NaN.
static float body_scalar(lua_State* L, sh_body_scalar which, double fallback)
{
    const char* name = sh_body_scalar_name(which);
    double v = fallback;
    int type = lua_getfield(L, 2, name);
    if (type != LUA_TNIL)
        v = type == LUA_TNUMBER ? lua_tonumber(L, -1) : NAN;
    lua_pop(L, 1);
    const char* what = sh_body_scalar_check(which, v);
    if (what != NULL)
        luaL_argerror(L, 2, lua_pushfstring(L, "field '%s' must be %s", name, what));
    return (float)v;
}

// simhost.spawn_check(field, value) → nil, or what the value must be ("a finite number > 0"), for the
// protocol's configure validation (scripts/lib/validate.lua): the same bounds a spawn enforces.
static int spawn_check(lua_State* L)
{
    const char* field = luaL_checkstring(L, 1);
    for (int i = 0; i < SH_BODY_SCALAR_COUNT; i++)
        if (strcmp(field, sh_body_scalar_name((sh_body_scalar)i)) == 0)
        {
            double v = lua_type(L, 2) == LUA_TNUMBER ? lua_tonumber(L, 2) : NAN;
            const char* what = sh_body_scalar_check((sh_body_scalar)i, v);
            if (what == NULL)
                lua_pushnil(L);
            else
                lua_pushstring(L, what);
            return 1;
        }
    return luaL_argerror(L, 1, lua_pushfstring(L, "unknown body field '%s'", field));
}

// Common fields of spawn and spawn_box; `hull`/`asset_id` chosen by the caller.
static int spawn_with(lua_State* L, lworld* lw, const sh_hull* hull, int asset_id)
{
    sh_body_def def = sh_body_def_default();
    def.hull = hull;
    bool env = sh_l_bool_field(L, 2, "environment", false);
    def.type = env ? SH_BODY_STATIC : SH_BODY_DYNAMIC;
    sh_l_vec3_field(L, 2, "position", def.position);
    double e[3], q[4];
    static const char* const wxyz[] = {"w", "x", "y", "z"};
    static const char* const prY[] = {"pitch", "roll", "yaw"};
    if (sh_l_numbers_field(L, 2, "quaternion", 4, wxyz, q))
    {
        double n = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
        if (!(n > 1e-6))
            luaL_argerror(L, 2, "field 'quaternion' must not be zero");
        def.orientation[0] = (float)(q[1] / n);
        def.orientation[1] = (float)(q[2] / n);
        def.orientation[2] = (float)(q[3] / n);
        def.orientation[3] = (float)(q[0] / n);
    }
    else if (sh_l_numbers_field(L, 2, "orientation", 3, prY, e))
        euler_to_quat(e[0], e[1], e[2], def.orientation);
    def.mass = body_scalar(L, SH_BODY_MASS, 10.0);
    def.restitution = body_scalar(L, SH_BODY_RESTITUTION, env ? 0.5 : 0.8);
    def.friction = body_scalar(L, SH_BODY_FRICTION, 0.5);
    def.start_asleep = sh_l_bool_field(L, 2, "asleep", false);
    sh_l_vec3_field(L, 2, "velocity", def.velocity);
    sh_l_vec3_field(L, 2, "angular_velocity", def.angular_velocity);
    // Bodies are never removed, so the next slot is the next index: the room is made before the body, and
    // an out-of-memory leaves no body without its asset.
    if (!reserve_assets(lw, sh_world_body_count(lw->world) + 1))
        return luaL_error(L, "out of memory");
    sh_body_id id;
    sh_error err;
    if (!sh_body_create(lw->world, &def, &id, &err))
        return luaL_error(L, "spawn: %s", err.message);
    if (!reserve_assets(lw, id.index)) // a slot past the count (not made today): grow, or stay unknown
        return luaL_error(L, "out of memory");
    lw->assets[id.index - 1] = (body_asset){sh_body_id_to_int(id), asset_id};
    charge(L, lw);
    lua_pushinteger(L, (lua_Integer)sh_body_id_to_int(id));
    return 1;
}

// w:spawn{ asset = "cube" | hull_points = {x0,y0,z0,...} | half_extents = {..}, position, orientation |
//          quaternion, mass, restitution, friction, environment, velocity, angular_velocity } → id
static int world_spawn_box(lua_State* L);

static int world_spawn(lua_State* L)
{
    lworld* lw = check_world(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (lua_getfield(L, 2, "half_extents") != LUA_TNIL)
    {
        lua_pop(L, 1);
        return world_spawn_box(L);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "hull_points") != LUA_TNIL)
    {
        if (!lua_istable(L, -1))
            luaL_argerror(L, 2, "field 'hull_points' must be a flat array {x0, y0, z0, ...}");
        int n = (int)lua_rawlen(L, -1);
        if (n < 12 || n % 3 != 0 || n > 3 * 4096)
            luaL_argerror(L, 2, "field 'hull_points' must hold 4 … 4096 points as {x0, y0, z0, ...}");
        float* xyz = lua_newuserdatauv(L, (size_t)n * sizeof(float), 0); // freed by the GC, even on error
        for (int i = 0; i < n; i++)
        {
            lua_rawgeti(L, -2, i + 1);
            int ok = 0;
            double v = lua_tonumberx(L, -1, &ok);
            lua_pop(L, 1);
            if (!ok || !isfinite(v) || !isfinite((float)v))
                luaL_argerror(L, 2, "field 'hull_points' must hold finite numbers");
            xyz[i] = (float)v;
        }
        custom_hull* c = add_custom(L, lw, xyz, n / 3, NULL);
        lua_pop(L, 2);
        return spawn_with(L, lw, c->hull, c->asset_id);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "asset") != LUA_TSTRING)
        luaL_argerror(L, 2, "field 'asset' must be an asset name (or give hull_points / half_extents)");
    const char* name = lua_tostring(L, -1);
    if (lw->db == NULL)
        luaL_argerror(L, 2, lua_pushfstring(L, "unknown asset '%s' (the world has no asset DB)", name));
    const sh_asset_info* info = sh_assets_find(lw->db, name);
    if (info == NULL)
        luaL_argerror(L, 2, lua_pushfstring(L, "unknown asset '%s'", name));
    sh_error err;
    const sh_hull* hull = sh_assets_hull(lw->db, info->asset_id, &err);
    if (hull == NULL)
        return luaL_error(L, "spawn: asset '%s': %s", name, err.message);
    lua_pop(L, 1);
    return spawn_with(L, lw, hull, info->asset_id);
}

// w:spawn_box{ half_extents = {hx, hy, hz}, ...spawn fields } → id (a box hull built once per size)
static int world_spawn_box(lua_State* L)
{
    lworld* lw = check_world(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    float he[3];
    if (!sh_l_vec3_field(L, 2, "half_extents", he) || !(he[0] > 1e-4f && he[1] > 1e-4f && he[2] > 1e-4f) ||
        he[0] > 1e5f || he[1] > 1e5f || he[2] > 1e5f)
        luaL_argerror(
            L, 2, "field 'half_extents' must be {hx, hy, hz} of numbers in 0.0001 … 100000, above 0.0001");
    float p[24];
    sh_box_corners(he[0], he[1], he[2], p);
    float key[4] = {he[0], he[1], he[2], 1.0f};
    custom_hull* c = add_custom(L, lw, p, 8, key);
    return spawn_with(L, lw, c->hull, c->asset_id);
}

// --- access ------------------------------------------------------------------------------------------

static sh_body_id check_id(lua_State* L, lworld* lw, int arg)
{
    lua_Integer v = luaL_checkinteger(L, arg);
    sh_body_id id = sh_body_id_from_int((int64_t)v);
    if (!sh_body_is_valid(lw->world, id))
        luaL_argerror(L, arg, lua_pushfstring(L, "unknown body id %I", v));
    return id;
}

static float fin(float v)
{
    return isfinite(v) ? v : 0.0f; // the core never produces non-finite state; belt and braces at the edge
}

// Vectors come back in the shape they go in: arrays, {x, y, z} and quaternions {w, x, y, z} (as spawn's
// `quaternion`). A metatable keeps the older .x/.y/.z (and .w) readable and writable on them.
#define VEC3_META "simhost.vec3"
#define QUAT_META "simhost.quat"

// The array slot (1-based) of a one-letter key in `keys`, or 0.
static int slot_of(lua_State* L, const char* keys)
{
    size_t n = 0;
    const char* k = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &n) : NULL;
    const char* at = k != NULL && n == 1 ? strchr(keys, k[0]) : NULL;
    return at != NULL && *at != '\0' ? (int)(at - keys) + 1 : 0;
}

static int slot_get(lua_State* L, const char* keys)
{
    int i = slot_of(L, keys);
    if (i == 0)
        lua_pushnil(L);
    else
        lua_rawgeti(L, 1, i);
    return 1;
}

static int slot_set(lua_State* L, const char* keys)
{
    int i = slot_of(L, keys);
    lua_settop(L, 3);
    if (i == 0)
        lua_rawset(L, 1);
    else
        lua_rawseti(L, 1, i);
    return 0;
}

static int vec3_index(lua_State* L)
{
    return slot_get(L, "xyz");
}

static int vec3_newindex(lua_State* L)
{
    return slot_set(L, "xyz");
}

static int quat_index(lua_State* L)
{
    return slot_get(L, "wxyz");
}

static int quat_newindex(lua_State* L)
{
    return slot_set(L, "wxyz");
}

static void push_numbers(lua_State* L, const float* v, int n, const char* meta)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++)
    {
        lua_pushnumber(L, fin(v[i]));
        lua_rawseti(L, -2, i + 1);
    }
    luaL_setmetatable(L, meta);
}

static void push_xyz(lua_State* L, const float* v)
{
    push_numbers(L, v, 3, VEC3_META);
}

static const char* asset_name(lworld* lw, int asset_id)
{
    if (asset_id < 0) // custom hulls: "custom_1", "custom_2", … (per-world buffer: sessions run on workers)
    {
        snprintf(lw->name_buf, sizeof lw->name_buf, "custom_%d", -asset_id);
        return lw->name_buf;
    }
    const sh_asset_info* info = lw->db != NULL ? sh_assets_find_id(lw->db, asset_id) : NULL;
    return info != NULL ? info->name : "";
}

static int world_body(lua_State* L)
{
    lworld* lw = check_world(L);
    sh_body_id id = check_id(L, lw, 2);
    sh_body_state s;
    sh_body_get_state(lw->world, id, &s);
    lua_createtable(L, 0, 12);
    lua_pushinteger(L, (lua_Integer)sh_body_id_to_int(id));
    lua_setfield(L, -2, "body_id");
    push_xyz(L, s.position);
    lua_setfield(L, -2, "position");
    push_xyz(L, s.center);
    lua_setfield(L, -2, "center_of_mass");
    push_xyz(L, s.velocity);
    lua_setfield(L, -2, "velocity");
    const float wxyz[4] = {s.orientation[3], s.orientation[0], s.orientation[1], s.orientation[2]};
    push_numbers(L, wxyz, 4, QUAT_META);
    lua_setfield(L, -2, "orientation");
    push_xyz(L, s.angular_velocity);
    lua_setfield(L, -2, "angular_velocity");
    lua_pushnumber(L, s.mass);
    lua_setfield(L, -2, "mass");
    lua_pushnumber(L, s.restitution);
    lua_setfield(L, -2, "restitution");
    lua_pushnumber(L, s.friction);
    lua_setfield(L, -2, "friction");
    lua_pushboolean(L, s.is_static);
    lua_setfield(L, -2, "is_environment");
    lua_pushboolean(L, s.sleeping);
    lua_setfield(L, -2, "sleeping");
    int aid = asset_of(lw, id);
    lua_pushinteger(L, aid);
    lua_setfield(L, -2, "asset_id");
    lua_pushstring(L, asset_name(lw, aid));
    lua_setfield(L, -2, "asset_name");
    return 1;
}

// w:is_valid(id) → whether id names a body of this world (any value: a non-integer is no body).
static int world_is_valid(lua_State* L)
{
    lworld* lw = check_world(L);
    int is_int = 0;
    lua_Integer v = lua_tointegerx(L, 2, &is_int);
    lua_pushboolean(L, is_int && lua_type(L, 2) == LUA_TNUMBER &&
                           sh_body_is_valid(lw->world, sh_body_id_from_int((int64_t)v)));
    return 1;
}

static int world_bodies(lua_State* L)
{
    lworld* lw = check_world(L);
    int n = sh_world_body_count(lw->world);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++)
    {
        lua_pushinteger(L, (lua_Integer)sh_body_id_to_int(sh_world_body_at(lw->world, i)));
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int world_step(lua_State* L)
{
    lworld* lw = check_world(L);
    lua_Number dt = luaL_checknumber(L, 2);
    if (!isfinite(dt) || dt <= 0 || dt > 1)
        luaL_argerror(L, 2, "dt must be a finite number in 0 … 1, above 0 (seconds)");
    sh_error err;
    if (!sh_world_step(lw->world, (float)dt, &err))
        return luaL_error(L, "step: %s", err.message);
    charge(L, lw);
    return 0;
}

static int world_time(lua_State* L)
{
    lworld* lw = check_world(L);
    lua_pushnumber(L, sh_world_time(lw->world));
    return 1;
}

static int world_contacts(lua_State* L)
{
    lworld* lw = check_world(L);
    int n = sh_world_contact_count(lw->world);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++)
    {
        sh_contact_info c;
        sh_world_contact_at(lw->world, i, &c);
        lua_createtable(L, 0, 5);
        lua_pushinteger(L, (lua_Integer)sh_body_id_to_int(c.body_a));
        lua_setfield(L, -2, "body_a_id");
        lua_pushinteger(L, (lua_Integer)sh_body_id_to_int(c.body_b));
        lua_setfield(L, -2, "body_b_id");
        push_xyz(L, c.normal);
        lua_setfield(L, -2, "normal");
        lua_pushnumber(L, fin(c.penetration_depth));
        lua_setfield(L, -2, "penetration_depth");
        lua_createtable(L, c.point_count, 0);
        for (int j = 0; j < c.point_count; j++)
        {
            lua_createtable(L, 0, 6);
            push_xyz(L, c.points[j].point_a);
            lua_setfield(L, -2, "point_a");
            push_xyz(L, c.points[j].point_b);
            lua_setfield(L, -2, "point_b");
            lua_pushnumber(L, fin(c.points[j].depth));
            lua_setfield(L, -2, "depth");
            lua_pushnumber(L, fin(c.points[j].normal_impulse));
            lua_setfield(L, -2, "normal_impulse");
            lua_pushnumber(L, fin(c.points[j].friction_impulse));
            lua_setfield(L, -2, "friction_impulse");
            push_xyz(L, c.points[j].friction_impulse_vector);
            lua_setfield(L, -2, "friction_impulse_vector");
            lua_rawseti(L, -2, j + 1);
        }
        lua_setfield(L, -2, "contacts");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int world_solver(lua_State* L)
{
    lworld* lw = check_world(L);
    sh_world_stats s;
    sh_world_get_stats(lw->world, &s);
    if (s.num_constraints == 0)
    {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, s.iterations);
    lua_setfield(L, -2, "iterations");
    lua_pushnumber(L, fin(s.residual));
    lua_setfield(L, -2, "residual");
    lua_pushboolean(L, s.converged);
    lua_setfield(L, -2, "converged");
    lua_pushinteger(L, s.num_constraints);
    lua_setfield(L, -2, "num_constraints");
    lua_pushinteger(L, s.num_points);
    lua_setfield(L, -2, "num_contacts");
    return 1;
}

static int world_stats(lua_State* L)
{
    lworld* lw = check_world(L);
    sh_world_stats s;
    sh_world_get_stats(lw->world, &s);
    lua_createtable(L, 0, 13);
#define SETI(name, v)                                                                                        \
    lua_pushinteger(L, v);                                                                                   \
    lua_setfield(L, -2, name)
#define SETN(name, v)                                                                                        \
    lua_pushnumber(L, v);                                                                                    \
    lua_setfield(L, -2, name)
    SETI("bodies", s.bodies);
    SETI("awake", s.awake_bodies);
    SETI("pairs", s.pairs);
    SETI("contacts", s.contacts);
    SETI("contact_points", s.contact_points);
    SETI("constraints", s.num_constraints);
    SETN("collide_ms", s.collide_ms);
    SETN("solve_ms", s.solve_ms);
    SETN("sleep_ms", s.sleep_ms);
    SETN("step_ms", s.step_ms);
    SETI("iterations", s.iterations);
    SETN("residual", fin(s.residual));
    SETI("memory_bytes", (lua_Integer)sh_world_memory_bytes(lw->world));
#undef SETI
#undef SETN
    return 1;
}

static int world_energy(lua_State* L)
{
    lworld* lw = check_world(L);
    sh_energy e;
    sh_world_energy(lw->world, &e);
    lua_createtable(L, 0, 3);
    lua_pushnumber(L, isfinite(e.kinetic) ? e.kinetic : 0);
    lua_setfield(L, -2, "kinetic");
    lua_pushnumber(L, isfinite(e.potential) ? e.potential : 0);
    lua_setfield(L, -2, "potential");
    lua_pushnumber(L, isfinite(e.total) ? e.total : 0);
    lua_setfield(L, -2, "total");
    return 1;
}

static int world_apply_impulse(lua_State* L)
{
    lworld* lw = check_world(L);
    sh_body_id id = check_id(L, lw, 2);
    float imp[3], point[3];
    sh_l_check_vec3_at(L, 3, 3, "impulse", imp);
    bool has_point = !lua_isnoneornil(L, 4);
    if (has_point)
        sh_l_check_vec3_at(L, 4, 4, "point", point);
    sh_error err;
    if (!sh_body_apply_impulse(lw->world, id, imp, has_point ? point : NULL, &err))
        return luaL_error(L, "apply_impulse: %s", err.message);
    return 0;
}

static int world_set_velocity(lua_State* L)
{
    lworld* lw = check_world(L);
    sh_body_id id = check_id(L, lw, 2);
    float v[3], w[3] = {0, 0, 0};
    sh_l_check_vec3_at(L, 3, 3, "velocity", v);
    if (!lua_isnoneornil(L, 4))
        sh_l_check_vec3_at(L, 4, 4, "angular_velocity", w);
    else
    {
        sh_body_state s;
        sh_body_get_state(lw->world, id, &s);
        memcpy(w, s.angular_velocity, sizeof w);
    }
    sh_error err;
    if (!sh_body_set_velocity(lw->world, id, v, w, &err))
        luaL_argerror(L, 2, err.message);
    return 0;
}

static int world_set_sleeping(lua_State* L)
{
    lworld* lw = check_world(L);
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    sh_world_enable_sleep(lw->world, lua_toboolean(L, 2));
    return 0;
}

// --- JSON
// --------------------------------------------------------------------------------------------------- Written
// in one pass into lw->buf. Floats: the shortest text that reads back as the same float32 (sh_f32_text;
// snprintf("%.9g") was most of a frame's cost); doubles (simulation_time): "%.17g". Anything non-finite is
// written as 0 (the core never makes one; this keeps the wire promise even if it did).

static void put(lworld* lw, const char* s, size_t n)
{
    if (lw->oom)
        return;
    if (lw->len + n + 1 > lw->cap)
    {
        size_t cap = lw->cap ? lw->cap : 4096;
        while (cap < lw->len + n + 1)
            cap *= 2;
        char* b = sh_realloc(lw->buf, lw->cap, cap);
        if (b == NULL)
        {
            lw->oom = true;
            return;
        }
        lw->buf = b;
        lw->cap = cap;
    }
    memcpy(lw->buf + lw->len, s, n);
    lw->len += n;
}

static void puts_(lworld* lw, const char* s)
{
    put(lw, s, strlen(s));
}

static void put_num(lworld* lw, double v, bool is_float)
{
    char tmp[40];
    if (!isfinite(v))
        v = 0.0;
    int n = is_float ? sh_f32_text((float)v, tmp) : snprintf(tmp, sizeof tmp, "%.17g", v);
    put(lw, tmp, (size_t)n);
}

// A decimal integer at p (at most 20 bytes); returns the end.
static char* cur_int(char* p, long long v)
{
    char tmp[24];
    int n = sizeof tmp;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do
    {
        tmp[--n] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        tmp[--n] = '-';
    memcpy(p, tmp + n, sizeof tmp - (size_t)n);
    return p + (sizeof tmp - (size_t)n);
}

static void put_int(lworld* lw, long long v)
{
    char tmp[24];
    put(lw, tmp, (size_t)(cur_int(tmp, v) - tmp));
}

static void put_bytes(void* lw, const char* bytes, size_t n)
{
    put(lw, bytes, n);
}

static void put_str(lworld* lw, const char* s)
{
    sh_json_string(s, put_bytes, lw);
}

// Opens the i-th body's object with the fields frames and metadata share ({"body_id":..,"asset_id":..)
// and returns its state in s for the rest of the object, and its asset id.
static int put_body_head(lworld* lw, int i, sh_body_state* s)
{
    sh_body_id id = sh_world_body_at(lw->world, i);
    sh_body_get_state(lw->world, id, s);
    int aid = asset_of(lw, id);
    puts_(lw, i ? ",{\"body_id\":" : "{\"body_id\":");
    put_int(lw, (long long)sh_body_id_to_int(id));
    puts_(lw, ",\"asset_id\":");
    put_int(lw, aid);
    return aid;
}

// Frames are written one body (or one collision) at a time into a stack buffer through a cursor: the
// literal copies have constant sizes the compiler inlines, and the buffer goes out with one put(). A
// put() and its memcpy call per token were a third of a 1000-body frame's time (perf, issue 18).
#define LIT(p, s) (memcpy((p), (s), sizeof(s) - 1), (p) + sizeof(s) - 1)

static char* cur_f32(char* p, float v)
{
    return p + sh_f32_text(isfinite(v) ? v : 0.0f, p);
}

// {"x":..,"y":..,"z":..}: at most 5 + 3·16 + 8 bytes.
static char* cur_xyz(char* p, const float* v)
{
    p = LIT(p, "{\"x\":");
    p = cur_f32(p, v[0]);
    p = LIT(p, ",\"y\":");
    p = cur_f32(p, v[1]);
    p = LIT(p, ",\"z\":");
    p = cur_f32(p, v[2]);
    return LIT(p, "}");
}

// One frame state object; under 700 bytes (13 floats of at most 16, two ids of at most 20, ~230 of keys).
static char* cur_state(char* p, bool first, sh_body_id id, int asset_id, const sh_body_state* s)
{
    p = first ? LIT(p, "{\"body_id\":") : LIT(p, ",{\"body_id\":");
    p = cur_int(p, (long long)sh_body_id_to_int(id));
    p = LIT(p, ",\"asset_id\":");
    p = cur_int(p, asset_id);
    p = LIT(p, ",\"position\":");
    p = cur_xyz(p, s->position);
    p = LIT(p, ",\"velocity\":");
    p = cur_xyz(p, s->velocity);
    p = LIT(p, ",\"orientation\":{\"w\":");
    p = cur_f32(p, s->orientation[3]);
    p = LIT(p, ",\"x\":");
    p = cur_f32(p, s->orientation[0]);
    p = LIT(p, ",\"y\":");
    p = cur_f32(p, s->orientation[1]);
    p = LIT(p, ",\"z\":");
    p = cur_f32(p, s->orientation[2]);
    p = LIT(p, "},\"angular_velocity\":");
    p = cur_xyz(p, s->angular_velocity);
    p = s->is_static ? LIT(p, ",\"is_environment\":true") : LIT(p, ",\"is_environment\":false");
    return s->sleeping ? LIT(p, ",\"sleeping\":true}") : LIT(p, ",\"sleeping\":false}");
}

// One collision with its points; under 1400 bytes (4 points of at most ~290, ~220 of head).
static char* cur_collision(char* p, bool first, const sh_contact_info* c)
{
    p = first ? LIT(p, "{\"body_a_id\":") : LIT(p, ",{\"body_a_id\":");
    p = cur_int(p, (long long)sh_body_id_to_int(c->body_a));
    p = LIT(p, ",\"body_b_id\":");
    p = cur_int(p, (long long)sh_body_id_to_int(c->body_b));
    p = LIT(p, ",\"normal\":");
    p = cur_xyz(p, c->normal);
    p = LIT(p, ",\"penetration_depth\":");
    p = cur_f32(p, c->penetration_depth);
    p = LIT(p, ",\"contacts\":[");
    for (int j = 0; j < c->point_count; j++)
    {
        const sh_contact_point_info* q = &c->points[j];
        p = j ? LIT(p, ",{\"point_a\":") : LIT(p, "{\"point_a\":");
        p = cur_xyz(p, q->point_a);
        p = LIT(p, ",\"point_b\":");
        p = cur_xyz(p, q->point_b);
        p = LIT(p, ",\"depth\":");
        p = cur_f32(p, q->depth);
        p = LIT(p, ",\"normal_impulse\":");
        p = cur_f32(p, q->normal_impulse);
        p = LIT(p, ",\"friction_impulse\":");
        p = cur_f32(p, q->friction_impulse);
        p = LIT(p, ",\"friction_impulse_vector\":");
        p = cur_xyz(p, q->friction_impulse_vector);
        p = LIT(p, "}");
    }
    return LIT(p, "]}");
}

static int finish_json(lua_State* L, lworld* lw)
{
    if (lw->oom)
    {
        lw->oom = false;
        lw->len = 0;
        return luaL_error(L, "out of memory while encoding JSON");
    }
    lua_pushlstring(L, lw->buf, lw->len);
    charge(L, lw); // the reused buffer may have grown
    return 1;
}

// w:frame_json(frame_id, opts) → the protocol frame's `data` object.
// opts: contacts = true|false (default true); simulation_time = seconds (default: the world's time).
static int world_frame_json(lua_State* L)
{
    lworld* lw = check_world(L);
    lua_Integer frame_id = luaL_checkinteger(L, 2);
    bool contacts = true;
    double sim_time = round(sh_world_time(lw->world) * 1e6) / 1e6; // float dt sums: print microseconds
    if (!lua_isnoneornil(L, 3))
    {
        luaL_checktype(L, 3, LUA_TTABLE);
        contacts = sh_l_bool_field(L, 3, "contacts", true);
        sim_time = sh_l_number_field(L, 3, "simulation_time", sim_time, 0, 1e12, "a finite number >= 0");
    }
    sh_world* w = lw->world;
    lw->len = 0;
    puts_(lw, "{\"frame_id\":");
    put_int(lw, (long long)frame_id);
    puts_(lw, ",\"simulation_time\":");
    put_num(lw, sim_time, false);
    puts_(lw, ",\"states\":[");
    int n = sh_world_body_count(w);
    // One body or one collision at a time: a collision of 4 points writes at most ~1.5 KB (61 bytes per
    // vector, 15 per number, its keys), plus the 16 bytes the float writer may copy past its text.
    char tmp[2048];
    for (int i = 0; i < n; i++)
    {
        sh_body_state s;
        sh_body_id id = sh_world_body_at(w, i);
        sh_body_get_state(w, id, &s);
        put(lw, tmp, (size_t)(cur_state(tmp, i == 0, id, asset_of(lw, id), &s) - tmp));
    }
    puts_(lw, "],\"collisions\":[");
    if (contacts)
    {
        int nc = sh_world_contact_count(w);
        for (int i = 0; i < nc; i++)
        {
            sh_contact_info c;
            sh_world_contact_at(w, i, &c);
            put(lw, tmp, (size_t)(cur_collision(tmp, i == 0, &c) - tmp));
        }
    }
    puts_(lw, "],\"solver\":");
    sh_world_stats st;
    sh_world_get_stats(w, &st);
    if (st.num_constraints == 0)
        puts_(lw, "null");
    else
    {
        puts_(lw, "{\"iterations\":");
        put_int(lw, st.iterations);
        puts_(lw, ",\"residual\":");
        put_num(lw, st.residual, true);
        puts_(lw, st.converged ? ",\"converged\":true" : ",\"converged\":false");
        puts_(lw, ",\"num_constraints\":");
        put_int(lw, st.num_constraints);
        puts_(lw, ",\"num_contacts\":");
        put_int(lw, st.num_points);
        puts_(lw, "}");
    }
    puts_(lw, "}");
    return finish_json(L, lw);
}

// w:frame_bin(frame_id, opts) → the same frame as one SHF1 binary string (docs/frames.md).
// opts: contacts, velocities = true|false (default true); simulation_time as for frame_json. A value that
// is not finite raises (the host ends the session with that line rather than ship a NaN).
static int world_frame_bin(lua_State* L)
{
    lworld* lw = check_world(L);
    lua_Integer frame_id = luaL_checkinteger(L, 2);
    luaL_argcheck(L, frame_id >= 0 && frame_id <= UINT32_MAX, 2, "must be an integer in 0 … 4294967295");
    sh_frame_opts opts = sh_frame_opts_default();
    double sim_time = round(sh_world_time(lw->world) * 1e6) / 1e6; // as frame_json
    if (!lua_isnoneornil(L, 3))
    {
        luaL_checktype(L, 3, LUA_TTABLE);
        opts.contacts = sh_l_bool_field(L, 3, "contacts", true);
        opts.velocities = sh_l_bool_field(L, 3, "velocities", true);
        sim_time = sh_l_number_field(L, 3, "simulation_time", sim_time, 0, 1e12, "a finite number >= 0");
    }
    sh_error err;
    if (!sh_frame_encode(lw->world, (uint32_t)frame_id, sim_time, &opts, &lw->frame, &err))
        return luaL_error(L, "%s", err.message);
    lua_pushlstring(L, (const char*)lw->frame.data, lw->frame.len);
    charge(L, lw); // the reused buffer may have grown
    return 1;
}

static const sh_hull* custom_by_id(lworld* lw, int asset_id)
{
    for (int i = 0; i < lw->custom_count; i++)
        if (lw->customs[i].asset_id == asset_id)
            return lw->customs[i].hull;
    return NULL;
}

// w:metadata_json() → {"bodies":[LiveBody...],"assets":[AssetGeometry...]}
static int world_metadata_json(lua_State* L)
{
    lworld* lw = check_world(L);
    sh_world* w = lw->world;
    int n = sh_world_body_count(w);
    lw->len = 0;
    puts_(lw, "{\"bodies\":[");
    for (int i = 0; i < n; i++)
    {
        sh_body_state s;
        int aid = put_body_head(lw, i, &s);
        puts_(lw, ",\"asset_name\":");
        put_str(lw, asset_name(lw, aid));
        puts_(lw, ",\"mass\":");
        put_num(lw, s.mass, true);
        puts_(lw, ",\"restitution\":");
        put_num(lw, s.restitution, true);
        puts_(lw, ",\"friction\":");
        put_num(lw, s.friction, true);
        // The page's rotational energy, ½ ωᵀ R I Rᵀ ω, needs it (once per run, not per frame).
        puts_(lw, ",\"inertia\":[");
        for (int k = 0; k < 9; k++)
        {
            puts_(lw, k ? "," : "");
            put_num(lw, s.inertia[k / 3][k % 3], true);
        }
        puts_(lw, s.is_static ? "],\"is_environment\":true}" : "],\"is_environment\":false}");
    }
    puts_(lw, "],\"assets\":[");
    // Distinct asset ids in first-use order (quadratic in distinct assets, which are few).
    int written = 0;
    for (int i = 0; i < n; i++)
    {
        int aid = asset_of(lw, sh_world_body_at(w, i));
        bool seen = false;
        for (int k = 0; k < i && !seen; k++)
            seen = asset_of(lw, sh_world_body_at(w, k)) == aid;
        if (seen)
            continue;
        puts_(lw, written++ ? ",{\"asset_id\":" : "{\"asset_id\":");
        put_int(lw, aid);
        puts_(lw, ",\"name\":");
        put_str(lw, asset_name(lw, aid));
        puts_(lw, ",\"positions\":[");
        int count = 0;
        if (aid > 0 && lw->db != NULL)
        {
            sh_error err;
            const float* xyz = sh_assets_triangles(lw->db, aid, &count, &err);
            if (xyz == NULL)
                count = 0;
            for (int v = 0; v < 3 * count; v++)
            {
                if (v)
                    puts_(lw, ",");
                put_num(lw, xyz[v], true);
            }
        }
        else if (aid < 0)
        {
            // A custom hull has no render mesh: its faces, fan-triangulated (CCW from outside).
            const sh_hull* h = custom_by_id(lw, aid);
            for (int f = 0; h != NULL && f < h->face_count; f++)
            {
                const sh_hull_face* face = &h->faces[f];
                for (int t = 1; t + 1 < face->count; t++)
                {
                    int idx[3] = {face->first, face->first + t, face->first + t + 1};
                    for (int k = 0; k < 3; k++)
                    {
                        const float* p = h->vertices[h->face_indices[idx[k]]];
                        for (int c = 0; c < 3; c++)
                        {
                            if (count || k || c)
                                puts_(lw, ",");
                            put_num(lw, p[c], true);
                        }
                    }
                    count += 3;
                }
            }
        }
        puts_(lw, "],\"vertex_count\":");
        put_int(lw, count);
        puts_(lw, "}");
    }
    puts_(lw, "]}");
    return finish_json(L, lw);
}

// For the other binding files (l_recording.c): the world of an open world userdata, and a body's asset name.
sh_world* sh_l_check_world(lua_State* L, int arg)
{
    lworld* lw = luaL_checkudata(L, arg, SH_L_WORLD_META);
    if (lw->world == NULL)
        luaL_argerror(L, arg, "world is closed");
    return lw->world;
}

int sh_l_world_body_asset(lua_State* L, int arg, int64_t body_id, const char** name)
{
    lworld* lw = luaL_checkudata(L, arg, SH_L_WORLD_META);
    int aid = asset_of(lw, sh_body_id_from_int(body_id));
    *name = asset_name(lw, aid);
    return aid;
}

static const luaL_Reg world_methods[] = {{"spawn", world_spawn},
                                         {"spawn_box", world_spawn_box},
                                         {"step", world_step},
                                         {"time", world_time},
                                         {"body", world_body},
                                         {"bodies", world_bodies},
                                         {"is_valid", world_is_valid},
                                         {"contacts", world_contacts},
                                         {"solver", world_solver},
                                         {"stats", world_stats},
                                         {"energy", world_energy},
                                         {"apply_impulse", world_apply_impulse},
                                         {"set_velocity", world_set_velocity},
                                         {"set_sleeping", world_set_sleeping},
                                         {"frame_json", world_frame_json},
                                         {"frame_bin", world_frame_bin},
                                         {"metadata_json", world_metadata_json},
                                         {"close", world_close},
                                         {NULL, NULL}};

static const luaL_Reg world_meta[] = {
    {"__gc", world_close}, {"__close", world_close}, {"__tostring", world_tostring}, {NULL, NULL}};

static void register_vector_meta(lua_State* L, const char* name, lua_CFunction index, lua_CFunction newindex)
{
    luaL_newmetatable(L, name);
    lua_pushcfunction(L, index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pop(L, 1);
}

void sh_l_world_register(lua_State* L)
{
    register_vector_meta(L, VEC3_META, vec3_index, vec3_newindex);
    register_vector_meta(L, QUAT_META, quat_index, quat_newindex);
    luaL_newmetatable(L, SH_L_WORLD_META);
    luaL_setfuncs(L, world_meta, 0);
    luaL_newlib(L, world_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_pushcfunction(L, world_new);
    lua_setfield(L, -2, "world");
    lua_pushcfunction(L, spawn_check);
    lua_setfield(L, -2, "spawn_check");
}
