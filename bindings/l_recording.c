// simhost.recorder (write a run as it happens) and simhost.recording (read a finished or cut one), the
// Lua face of core/rec (docs/recordings.md). States read back are tables shaped as w:body gives them.
#include "l_check.h"
#include "l_simhost.h"

#include "simhost/recording.h"
#include "simhost/world_snapshot.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#define RECORDER_META  "simhost.recorder"
#define RECORDING_META "simhost.recording"

typedef struct lrecorder
{
    sh_recorder* r;
} lrecorder;

typedef struct lrecording
{
    sh_rec_reader* r;
    sh_frame_buf buf;
} lrecording;

// --- writing ---------------------------------------------------------------------------------------

static lrecorder* check_recorder(lua_State* L)
{
    lrecorder* lr = luaL_checkudata(L, 1, RECORDER_META);
    if (lr->r == NULL)
        luaL_argerror(L, 1, "recorder is finished");
    return lr;
}

static const char* opt_string(lua_State* L, int t, const char* name)
{
    lua_getfield(L, t, name);
    const char* s = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
    lua_pop(L, 1); // the table keeps the string alive
    return s;
}

typedef struct name_ctx
{
    lua_State* L;
    int world;
} name_ctx;

static int asset_of(void* ud, int64_t body_id, const char** name)
{
    name_ctx* c = ud;
    return sh_l_world_body_asset(c->L, c->world, body_id, name);
}

// simhost.recorder.start{path=, id=, world=, timestep=, substeps=, source=, scenario=, params=, configure=,
// metadata=, queue_frames=, retention_dir=, retention_mb=, snapshots= (a world snapshot every K frames)}
static int recorder_start(lua_State* L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "world");
    int wi = lua_gettop(L);
    sh_world* world = sh_l_check_world(L, wi);
    name_ctx names = {L, wi};
    sh_rec_config cfg = {
        .path = opt_string(L, 1, "path"),
        .id = opt_string(L, 1, "id"),
        .source = opt_string(L, 1, "source"),
        .scenario = opt_string(L, 1, "scenario"),
        .params_json = opt_string(L, 1, "params"),
        .configure_json = opt_string(L, 1, "configure"),
        .metadata_json = opt_string(L, 1, "metadata"),
        .timestep =
            sh_l_number_field_gt(L, 1, "timestep", 0.01, 0, 1, "a number of seconds in 0 … 1, above 0"),
        .substeps = (int)sh_l_number_field(L, 1, "substeps", 4, 1, 64, "an integer in 1 … 64"),
        .queue_frames = (int)sh_l_number_field(L, 1, "queue_frames", 3600, 1, 1 << 20, "an integer >= 1"),
        .wait_when_full = sh_l_bool_field(L, 1, "wait_when_full", false),
        .snapshot_every = (int)sh_l_number_field(L, 1, "snapshots", 0, 0, 1 << 30, "an integer >= 0"),
        .body_asset = asset_of,
        .body_asset_ud = &names,
        .retention_dir = opt_string(L, 1, "retention_dir"),
        .retention_bytes =
            (size_t)(sh_l_number_field(L, 1, "retention_mb", 0, 0, 1 << 30, "a number of MB >= 0") *
                     1048576.0),
    };
    if (cfg.path == NULL || cfg.id == NULL)
        return luaL_error(L, "recorder.start: 'path' and 'id' are required");
    if (!sh_rec_id_valid(cfg.id))
        return luaL_error(L, "recorder.start: bad id '%s'", cfg.id);
    if (cfg.source != NULL && strcmp(cfg.source, "live") != 0 && strcmp(cfg.source, "run") != 0)
        return luaL_error(L, "recorder.start: 'source' must be \"live\" or \"run\"");
    lrecorder* lr = lua_newuserdatauv(L, sizeof *lr, 0);
    lr->r = NULL;
    luaL_setmetatable(L, RECORDER_META);
    sh_error err;
    if (!sh_recorder_start(&cfg, world, &lr->r, &err))
        return luaL_error(L, "recorder.start: %s", err.message);
    return 1;
}

// rec:frame(world, frame_id, simulation_time) → true, or false once the recording has failed
static int recorder_frame(lua_State* L)
{
    lrecorder* lr = check_recorder(L);
    sh_world* w = sh_l_check_world(L, 2);
    lua_Integer id = luaL_checkinteger(L, 3);
    double t = luaL_checknumber(L, 4);
    luaL_argcheck(L, id >= 0 && id <= UINT32_MAX, 3, "frame id must be an integer in 0 … 4294967295");
    luaL_argcheck(L, isfinite(t) && t >= 0, 4, "simulation time must be a finite number >= 0");
    lua_pushboolean(L, sh_recorder_frame(lr->r, w, (uint32_t)id, t));
    return 1;
}

// rec:input(after_frame, json)
static int recorder_input(lua_State* L)
{
    lrecorder* lr = check_recorder(L);
    lua_Integer id = luaL_checkinteger(L, 2);
    size_t len;
    const char* s = luaL_checklstring(L, 3, &len);
    luaL_argcheck(L, id >= 0 && id <= UINT32_MAX, 2, "frame id must be an integer in 0 … 4294967295");
    lua_pushboolean(L, sh_recorder_input(lr->r, (uint32_t)id, s, len));
    return 1;
}

static void push_status(lua_State* L, const sh_rec_status* st)
{
    static const char* const names[] = {"recording", "failed", "finished"};
    lua_createtable(L, 0, 4);
    lua_pushstring(L, names[st->state]);
    lua_setfield(L, -2, "state");
    if (st->reason[0])
    {
        lua_pushstring(L, st->reason);
        lua_setfield(L, -2, "reason");
    }
    lua_pushinteger(L, (lua_Integer)st->frames_queued);
    lua_setfield(L, -2, "queued");
    lua_pushinteger(L, (lua_Integer)st->frames_written);
    lua_setfield(L, -2, "written");
}

static int recorder_status(lua_State* L)
{
    lrecorder* lr = check_recorder(L);
    sh_rec_status st;
    sh_recorder_status(lr->r, &st);
    push_status(L, &st);
    return 1;
}

// rec:finish(complete, reason) → the final status. Waits for the writer to flush what is queued.
static int recorder_finish(lua_State* L)
{
    lrecorder* lr = check_recorder(L);
    bool complete = lua_toboolean(L, 2);
    const char* reason = luaL_optstring(L, 3, NULL);
    sh_rec_status st;
    sh_recorder_finish(lr->r, complete, reason, &st);
    lr->r = NULL;
    push_status(L, &st);
    return 1;
}

static int recorder_gc(lua_State* L)
{
    lrecorder* lr = luaL_checkudata(L, 1, RECORDER_META);
    if (lr->r != NULL)
        sh_recorder_finish(lr->r, false, "the session ended before the run did", NULL);
    lr->r = NULL;
    return 0;
}

// --- reading ---------------------------------------------------------------------------------------

static lrecording* check_recording(lua_State* L)
{
    lrecording* lr = luaL_checkudata(L, 1, RECORDING_META);
    if (lr->r == NULL)
        luaL_argerror(L, 1, "recording is closed");
    return lr;
}

static int recording_open(lua_State* L)
{
    const char* path = luaL_checkstring(L, 1);
    lrecording* lr = lua_newuserdatauv(L, sizeof *lr, 0);
    memset(lr, 0, sizeof *lr);
    luaL_setmetatable(L, RECORDING_META);
    sh_error err;
    if (!sh_rec_open(path, &lr->r, &err))
        return luaL_error(L, "%s: %s", path, err.message);
    return 1;
}

static int recording_close(lua_State* L)
{
    lrecording* lr = luaL_checkudata(L, 1, RECORDING_META);
    sh_rec_close(lr->r);
    lr->r = NULL;
    sh_frame_buf_free(&lr->buf);
    return 0;
}

static void set_str(lua_State* L, const char* k, const char* v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void set_num(lua_State* L, const char* k, double v)
{
    lua_pushnumber(L, isfinite(v) ? v : 0.0);
    lua_setfield(L, -2, k);
}

static void set_int(lua_State* L, const char* k, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

static void set_bool(lua_State* L, const char* k, bool v)
{
    lua_pushboolean(L, v);
    lua_setfield(L, -2, k);
}

static void push_xyz(lua_State* L, double x, double y, double z)
{
    lua_createtable(L, 0, 3);
    set_num(L, "x", x);
    set_num(L, "y", y);
    set_num(L, "z", z);
}

static int recording_info(lua_State* L)
{
    lrecording* lr = check_recording(L);
    const sh_rec_run* u = sh_rec_run_info(lr->r);
    lua_createtable(L, 0, 20);
    set_str(L, "id", u->id);
    set_str(L, "created", u->created);
    set_str(L, "host", u->host);
    set_str(L, "source", u->source);
    set_str(L, "scenario", u->scenario);
    set_str(L, "params", sh_rec_text(lr->r, "params"));
    set_str(L, "configure", sh_rec_text(lr->r, "configure"));
    set_str(L, "version", u->version);
    set_num(L, "timestep", u->timestep);
    set_int(L, "substeps", u->substeps);
    push_xyz(L, u->gravity[0], u->gravity[1], u->gravity[2]);
    lua_setfield(L, -2, "gravity");
    set_bool(L, "complete", u->complete);
    set_bool(L, "finished", u->finished);
    if (!u->complete)
        set_str(L, "reason", u->reason);
    set_int(L, "frames", u->frame_count);
    set_int(L, "first_frame", u->first_frame);
    set_int(L, "last_frame", u->last_frame);
    set_int(L, "bodies", u->body_count);
    set_int(L, "file_bytes", u->file_bytes);
    return 1;
}

static bool collect_row(void* ud, const sh_rec_frame_row* row)
{
    lua_State* L = ud;
    lua_createtable(L, 0, 2);
    set_int(L, "frame_id", row->frame_id);
    set_num(L, "simulation_time", row->simulation_time);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return true;
}

static int recording_frames(lua_State* L)
{
    lrecording* lr = check_recording(L);
    lua_newtable(L);
    sh_error err;
    if (!sh_rec_rows(lr->r, collect_row, L, &err))
        return luaL_error(L, "%s", err.message);
    return 1;
}

static bool energy_row(void* ud, const sh_rec_frame_row* row)
{
    lua_State* L = ud;
    lua_createtable(L, 0, 6);
    set_int(L, "frame_id", row->frame_id);
    set_num(L, "simulation_time", row->simulation_time);
    set_num(L, "linear_ke", row->linear_ke);
    set_num(L, "rotational_ke", row->rotational_ke);
    set_num(L, "potential_e", row->potential_e);
    set_num(L, "total_e", row->linear_ke + row->rotational_ke + row->potential_e);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return true;
}

static int recording_energy(lua_State* L)
{
    lrecording* lr = check_recording(L);
    lua_newtable(L);
    sh_error err;
    if (!sh_rec_rows(lr->r, energy_row, L, &err))
        return luaL_error(L, "%s", err.message);
    return 1;
}

// One body's state as w:body gives it, from a decoded frame and the body's row.
static void push_state(lua_State* L, const sh_rec_body* b, const sh_frame_body* s)
{
    lua_createtable(L, 0, 13);
    set_int(L, "body_id", s->id);
    push_xyz(L, s->position[0], s->position[1], s->position[2]);
    lua_setfield(L, -2, "position");
    const float* q = s->orientation;
    double x = q[0], y = q[1], z = q[2], w = q[3];
    double c[3] = {0, 0, 0};
    if (b != NULL)
    {
        const float* l = b->local_center;
        c[0] = (1 - 2 * (y * y + z * z)) * l[0] + 2 * (x * y - z * w) * l[1] + 2 * (x * z + y * w) * l[2];
        c[1] = 2 * (x * y + z * w) * l[0] + (1 - 2 * (x * x + z * z)) * l[1] + 2 * (y * z - x * w) * l[2];
        c[2] = 2 * (x * z - y * w) * l[0] + 2 * (y * z + x * w) * l[1] + (1 - 2 * (x * x + y * y)) * l[2];
    }
    push_xyz(L, s->position[0] + c[0], s->position[1] + c[1], s->position[2] + c[2]);
    lua_setfield(L, -2, "center_of_mass");
    push_xyz(L, s->velocity[0], s->velocity[1], s->velocity[2]);
    lua_setfield(L, -2, "velocity");
    lua_createtable(L, 0, 4);
    set_num(L, "w", w);
    set_num(L, "x", x);
    set_num(L, "y", y);
    set_num(L, "z", z);
    lua_setfield(L, -2, "orientation");
    push_xyz(L, s->angular_velocity[0], s->angular_velocity[1], s->angular_velocity[2]);
    lua_setfield(L, -2, "angular_velocity");
    set_num(L, "mass", b ? b->mass : 0);
    set_num(L, "restitution", b ? b->restitution : 0);
    set_num(L, "friction", b ? b->friction : 0);
    set_bool(L, "is_environment", s->environment);
    set_bool(L, "sleeping", s->sleeping);
    set_int(L, "asset_id", b ? b->asset_id : 0);
    set_str(L, "asset_name", b ? b->asset_name : "");
}

static bool load_frame(lua_State* L, lrecording* lr, lua_Integer i, sh_frame_view* view)
{
    bool found = false;
    sh_error err;
    if (!sh_rec_frame(lr->r, i, &lr->buf, &found, &err))
        luaL_error(L, "%s", err.message);
    if (!found)
        return false;
    if (!sh_frame_decode(lr->buf.data, lr->buf.len, view, &err))
        luaL_error(L, "frame %I: %s", i, err.message);
    return true;
}

// rec:frame(i) → {frame_id, simulation_time, states = {...}, contacts = {...}, solver = {...}|nil}, or nil
static int recording_frame(lua_State* L)
{
    lrecording* lr = check_recording(L);
    lua_Integer i = luaL_checkinteger(L, 2);
    sh_frame_view v;
    if (!load_frame(L, lr, i, &v))
    {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 5);
    set_int(L, "frame_id", v.frame_id);
    set_num(L, "simulation_time", v.simulation_time);
    lua_createtable(L, (int)v.body_count, 0);
    for (uint32_t k = 0; k < v.body_count; k++)
    {
        sh_frame_body s;
        sh_frame_body_at(&v, k, &s);
        const sh_rec_body* b = sh_rec_body_at(lr->r, (int)k);
        push_state(L, b && b->body_id == s.id ? b : sh_rec_body_find(lr->r, s.id), &s);
        lua_rawseti(L, -2, (lua_Integer)k + 1);
    }
    lua_setfield(L, -2, "states");
    lua_createtable(L, (int)v.contact_count, 0);
    for (uint32_t k = 0; k < v.contact_count; k++)
    {
        sh_frame_contact c;
        sh_frame_contact_at(&v, k, &c);
        lua_createtable(L, 0, 7);
        set_int(L, "body_a", c.body_a);
        set_int(L, "body_b", c.body_b);
        push_xyz(L, c.point[0], c.point[1], c.point[2]);
        lua_setfield(L, -2, "point");
        push_xyz(L, c.normal[0], c.normal[1], c.normal[2]);
        lua_setfield(L, -2, "normal");
        set_num(L, "depth", c.depth);
        set_num(L, "normal_impulse", c.normal_impulse);
        set_num(L, "friction_impulse", c.friction_impulse);
        lua_rawseti(L, -2, (lua_Integer)k + 1);
    }
    lua_setfield(L, -2, "contacts");
    sh_frame_solver sv;
    if (sh_frame_solver_get(&v, &sv))
    {
        lua_createtable(L, 0, 5);
        set_int(L, "iterations", sv.iterations);
        set_num(L, "residual", sv.residual);
        set_bool(L, "converged", sv.converged != 0);
        set_int(L, "num_constraints", sv.constraints);
        set_int(L, "num_contacts", sv.contacts);
        lua_setfield(L, -2, "solver");
    }
    return 1;
}

// rec:frame_bin(i) → the frame's SHF1 bytes as a string, or nil
static int recording_frame_bin(lua_State* L)
{
    lrecording* lr = check_recording(L);
    lua_Integer i = luaL_checkinteger(L, 2);
    bool found = false;
    sh_error err;
    if (!sh_rec_frame(lr->r, i, &lr->buf, &found, &err))
        return luaL_error(L, "%s", err.message);
    if (!found)
        lua_pushnil(L);
    else
        lua_pushlstring(L, (const char*)lr->buf.data, lr->buf.len);
    return 1;
}

// rec:snapshot(f) → the latest world snapshot at or before frame f as a string and its frame, or nil
static int recording_snapshot(lua_State* L)
{
    lrecording* lr = check_recording(L);
    lua_Integer f = luaL_checkinteger(L, 2);
    int64_t at = -1;
    sh_error err;
    if (!sh_rec_snapshot(lr->r, f, &lr->buf, &at, &err))
        return luaL_error(L, "%s", err.message);
    if (at < 0)
        return lua_pushnil(L), 1;
    lua_pushlstring(L, (const char*)lr->buf.data, lr->buf.len);
    lua_pushinteger(L, at);
    return 2;
}

static bool snapshot_frame(void* ud, int64_t frame_id)
{
    lua_State* L = ud;
    lua_pushinteger(L, frame_id);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return true;
}

// rec:snapshot_frames() → {frame, ...}: the frames that hold a world snapshot
static int recording_snapshot_frames(lua_State* L)
{
    lrecording* lr = check_recording(L);
    lua_newtable(L);
    sh_error err;
    if (!sh_rec_snapshot_frames(lr->r, snapshot_frame, L, &err))
        return luaL_error(L, "%s", err.message);
    return 1;
}

typedef struct series_ctx
{
    lua_State* L;
    lrecording* lr;
    int64_t body_id;
    const char* field;
    sh_error err;
    bool failed;
} series_ctx;

static bool series_frame(void* ud, const sh_rec_frame_row* row, const uint8_t* bytes, size_t len)
{
    series_ctx* c = ud;
    lua_State* L = c->L;
    sh_frame_view v;
    if (!sh_frame_decode(bytes, len, &v, &c->err))
    {
        c->failed = true;
        return false;
    }
    for (uint32_t k = 0; k < v.body_count; k++)
    {
        sh_frame_body s;
        sh_frame_body_at(&v, k, &s);
        if ((int64_t)s.id != c->body_id)
            continue;
        push_state(L, sh_rec_body_find(c->lr->r, s.id), &s);
        lua_getfield(L, -1, c->field);
        lua_remove(L, -2);
        lua_rawseti(L, -3, (lua_Integer)lua_rawlen(L, -3) + 1);
        lua_pushnumber(L, row->simulation_time);
        lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
        break;
    }
    return true;
}

// rec:body_series(id, field) → values, times: the body's `field` (as in w:body) in every frame
static int recording_body_series(lua_State* L)
{
    lrecording* lr = check_recording(L);
    lua_Integer id = luaL_checkinteger(L, 2);
    const char* field = luaL_checkstring(L, 3);
    static const char* const fields[] = {
        "position",         "center_of_mass", "velocity",       "orientation",
        "angular_velocity", "sleeping",       "is_environment", NULL};
    luaL_checkoption(L, 3, NULL, fields);
    if (sh_rec_body_find(lr->r, id) == NULL)
        return luaL_argerror(L, 2, lua_pushfstring(L, "no body %I in this recording", id));
    lua_newtable(L); // values
    lua_newtable(L); // times
    series_ctx c = {.L = L, .lr = lr, .body_id = id, .field = field};
    lua_pushvalue(L, -2);
    lua_pushvalue(L, -2);
    // Stack: values, times, values, times — series_frame appends to the top two.
    sh_error err;
    if (!sh_rec_frames(lr->r, 0, INT64_MAX, series_frame, &c, &err))
        return luaL_error(L, "%s", err.message);
    if (c.failed)
        return luaL_error(L, "%s", c.err.message);
    lua_pop(L, 2);
    return 2;
}

static bool input_row(void* ud, int64_t after, const char* json)
{
    lua_State* L = ud;
    lua_createtable(L, 0, 2);
    set_int(L, "after_frame", after);
    set_str(L, "message", json);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return true;
}

// rec:inputs() → {{after_frame, message}...}: what changed the world during the run
static int recording_inputs(lua_State* L)
{
    lrecording* lr = check_recording(L);
    lua_newtable(L);
    sh_error err;
    if (!sh_rec_inputs(lr->r, input_row, L, &err))
        return luaL_error(L, "%s", err.message);
    return 1;
}

static int recording_bodies(lua_State* L)
{
    lrecording* lr = check_recording(L);
    int n = sh_rec_body_count(lr->r);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++)
    {
        const sh_rec_body* b = sh_rec_body_at(lr->r, i);
        lua_createtable(L, 0, 7);
        set_int(L, "body_id", b->body_id);
        set_int(L, "asset_id", b->asset_id);
        set_str(L, "asset_name", b->asset_name);
        set_num(L, "mass", b->mass);
        set_num(L, "restitution", b->restitution);
        set_num(L, "friction", b->friction);
        set_bool(L, "is_environment", b->environment);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

// simhost.recording.list(dir) → {{id, readable, error?, complete, reason?, created, source, scenario,
// frames}...}
static int recording_list(lua_State* L)
{
    const char* dir = luaL_checkstring(L, 1);
    sh_rec_entry* list = NULL;
    int n = 0;
    sh_error err;
    if (!sh_rec_list(dir, &list, &n, &err))
        return luaL_error(L, "%s", err.message);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++)
    {
        const sh_rec_entry* e = &list[i];
        lua_createtable(L, 0, 9);
        set_str(L, "id", e->id);
        set_bool(L, "readable", e->readable);
        set_int(L, "bytes", e->bytes);
        if (!e->readable)
            set_str(L, "error", e->error);
        else
        {
            set_bool(L, "complete", e->run.complete);
            set_bool(L, "finished", e->run.finished);
            if (!e->run.complete)
                set_str(L, "reason", e->run.reason);
            set_str(L, "created", e->run.created);
            set_str(L, "source", e->run.source);
            set_str(L, "scenario", e->run.scenario);
            set_int(L, "frames", e->run.frame_count);
        }
        lua_rawseti(L, -2, i + 1);
    }
    sh_rec_list_free(list, n);
    return 1;
}

// simhost.recording.path(dir, id) → the file of a listed recording, or nil
static int recording_path(lua_State* L)
{
    char path[4096];
    if (sh_rec_path(luaL_checkstring(L, 1), luaL_checkstring(L, 2), path, sizeof path))
        lua_pushstring(L, path);
    else
        lua_pushnil(L);
    return 1;
}

// simhost.recording.encode(world, frame_id, simulation_time) → the SHF1 frame as the recorder writes it
static int recording_encode(lua_State* L)
{
    sh_world* w = sh_l_check_world(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2);
    double t = luaL_checknumber(L, 3);
    luaL_argcheck(L, id >= 0 && id <= UINT32_MAX, 2, "frame id must be an integer in 0 … 4294967295");
    sh_frame_opts opts = sh_frame_opts_default();
    sh_frame_buf buf = {0};
    sh_error err;
    if (!sh_frame_encode(w, (uint32_t)id, t, &opts, &buf, &err))
    {
        sh_frame_buf_free(&buf);
        return luaL_error(L, "%s", err.message);
    }
    lua_pushlstring(L, (const char*)buf.data, buf.len);
    sh_frame_buf_free(&buf);
    return 1;
}

// simhost.recording.snapshot(world) → the world's snapshot (simhost/world_snapshot.h) as a string
static int recording_world_snapshot(lua_State* L)
{
    sh_world* w = sh_l_check_world(L, 1);
    void* blob = NULL;
    size_t bytes = 0;
    sh_error err;
    if (!sh_world_snapshot(w, &blob, &bytes, &err))
        return luaL_error(L, "%s", err.message);
    lua_pushlstring(L, blob, bytes);
    sh_free(blob, bytes);
    return 1;
}

// simhost.recording.restore(world, snapshot) → true, or nil and why (the world is then unchanged)
static int recording_world_restore(lua_State* L)
{
    sh_world* w = sh_l_check_world(L, 1);
    size_t bytes = 0;
    const char* blob = luaL_checklstring(L, 2, &bytes);
    sh_error err;
    if (!sh_world_restore(w, blob, bytes, &err))
    {
        lua_pushnil(L);
        lua_pushstring(L, err.message);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

// simhost.recording.ensure_dir(dir) → true, or nil and why: creates the directory when missing
static int recording_ensure_dir(lua_State* L)
{
    const char* dir = luaL_checkstring(L, 1);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", dir, strerror(errno));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

// simhost.recording.make_id(what, tag) → a fresh id
static int recording_make_id(lua_State* L)
{
    char id[SH_REC_ID_MAX + 1];
    sh_rec_make_id(id, sizeof id, luaL_optstring(L, 1, "live"), (unsigned)luaL_optinteger(L, 2, 0));
    lua_pushstring(L, id);
    return 1;
}

static const luaL_Reg recorder_methods[] = {{"frame", recorder_frame},
                                            {"input", recorder_input},
                                            {"status", recorder_status},
                                            {"finish", recorder_finish},
                                            {NULL, NULL}};

static const luaL_Reg recording_methods[] = {{"info", recording_info},
                                             {"frames", recording_frames},
                                             {"frame", recording_frame},
                                             {"frame_bin", recording_frame_bin},
                                             {"body_series", recording_body_series},
                                             {"energy", recording_energy},
                                             {"inputs", recording_inputs},
                                             {"bodies", recording_bodies},
                                             {"snapshot", recording_snapshot},
                                             {"snapshot_frames", recording_snapshot_frames},
                                             {"close", recording_close},
                                             {NULL, NULL}};

void sh_l_recording_register(lua_State* L)
{
    luaL_newmetatable(L, RECORDER_META);
    lua_pushcfunction(L, recorder_gc);
    lua_setfield(L, -2, "__gc");
    luaL_newlib(L, recorder_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_newmetatable(L, RECORDING_META);
    lua_pushcfunction(L, recording_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, recording_close);
    lua_setfield(L, -2, "__close");
    luaL_newlib(L, recording_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, recorder_start);
    lua_setfield(L, -2, "start");
    lua_setfield(L, -2, "recorder");
    lua_createtable(L, 0, 4);
    lua_pushcfunction(L, recording_open);
    lua_setfield(L, -2, "open");
    lua_pushcfunction(L, recording_list);
    lua_setfield(L, -2, "list");
    lua_pushcfunction(L, recording_path);
    lua_setfield(L, -2, "path");
    lua_pushcfunction(L, recording_encode);
    lua_setfield(L, -2, "encode");
    lua_pushcfunction(L, recording_ensure_dir);
    lua_setfield(L, -2, "ensure_dir");
    lua_pushcfunction(L, recording_make_id);
    lua_setfield(L, -2, "make_id");
    lua_pushcfunction(L, recording_world_snapshot);
    lua_setfield(L, -2, "snapshot");
    lua_pushcfunction(L, recording_world_restore);
    lua_setfield(L, -2, "restore");
    lua_setfield(L, -2, "recording");
}
