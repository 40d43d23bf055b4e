// JSON messages -> a live session, through the real scripts/session.lua: a sandboxed state
// (bindings/l_sandbox.c) with the module, the default asset DB lent as session.assets, and the session
// object of bindings/l_host.c over stub ops. The input is up to 8 client messages separated by NUL
// bytes; after each one, a due timer fires on_tick (up to 4 times) so runs get to stream.
//
// Oracle: session.lua validates every message, so no handler may raise — except at the CPU or memory
// limit, which end a session in the real host too (a `step` of 100 000 frames is allowed and slow).
// Every message the script sends must be JSON without NaN or infinities (checked with cjson in a
// separate plain state).
#include "l_sandbox.h"
#include "l_simhost.h"

#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum
{
    MAX_MESSAGES = 8,
    TICKS_PER_MESSAGE = 4,
    HOOK_COUNT = 10000,
};
// Per callback, like --lua-cpu-ms and --lua-memory-mb but small, so a slow input costs little.
static const double CPU_BUDGET_S = 0.05;
static const size_t MEMORY_CAP = (size_t)32 << 20;

typedef struct budget
{
    size_t used;
    bool over; // a limit was hit: the callback's error is the host's, not the script's
    double start;
} budget;

typedef struct fake_session
{
    bool closed, timer_armed;
} fake_session;

static sh_asset_db* db;
static lua_State* checker; // plain state: cjson.decode for the oracle

static void require(int ok, const char* what, const char* detail)
{
    if (!ok)
    {
        fprintf(stderr, "fuzz_session: %s: %s\n", what, detail ? detail : "");
        abort();
    }
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void* alloc(void* ud, void* ptr, size_t osize, size_t nsize)
{
    budget* b = ud;
    if (ptr == NULL)
        osize = 0;
    if (nsize == 0)
    {
        free(ptr);
        b->used -= osize;
        return NULL;
    }
    if (nsize > osize && b->used + (nsize - osize) > MEMORY_CAP)
    {
        b->over = true;
        return NULL;
    }
    void* p = realloc(ptr, nsize);
    if (p != NULL)
        b->used = b->used - osize + nsize;
    return p;
}

static budget* budget_of(lua_State* L)
{
    void* ud;
    lua_getallocf(L, &ud);
    return ud;
}

static void check(lua_State* L)
{
    budget* b = budget_of(L);
    if (!b->over && cpu_now() - b->start <= CPU_BUDGET_S)
        return;
    b->over = true;
    luaL_error(L, "limit");
}

static void hook(lua_State* L, lua_Debug* ar)
{
    (void)ar;
    check(L);
}

static int charge(lua_State* L)
{
    budget* b = budget_of(L);
    lua_Integer d = luaL_checkinteger(L, 1);
    b->used = d < 0 && (size_t)-d > b->used ? 0 : b->used + (size_t)d;
    if (b->used > MEMORY_CAP)
    {
        b->over = true;
        return luaL_error(L, "memory limit");
    }
    return 0;
}

// --- the session object's ops --------------------------------------------------------------------

static bool op_send(sh_session* s, const char* data, size_t len, sh_send_kind kind)
{
    (void)kind;
    fake_session* f = (fake_session*)s;
    if (f->closed)
        return false;
    lua_settop(checker, 0);
    lua_getglobal(checker, "check");
    lua_pushlstring(checker, data, len);
    if (lua_pcall(checker, 1, 0, 0) != LUA_OK)
        require(0, "the script sent a message that is not JSON without NaN", lua_tostring(checker, -1));
    return true;
}

static void op_close(sh_session* s)
{
    ((fake_session*)s)->closed = true;
}

static void op_set_timer(sh_session* s, double due)
{
    ((fake_session*)s)->timer_armed = due >= 0;
}

static uint64_t op_dropped(sh_session* s)
{
    (void)s;
    return 0;
}

static int op_queued(sh_session* s)
{
    (void)s;
    return 0;
}

static unsigned op_id(sh_session* s)
{
    (void)s;
    return 1;
}

static const sh_session_ops ops = {op_send, op_close, op_set_timer, op_dropped, op_queued, op_id};

// --- the state -------------------------------------------------------------------------------------

static int setup(lua_State* L)
{
    fake_session* f = lua_touserdata(L, 1);
    sh_l_sandbox_open(L, SH_SOURCE_DIR "/scripts", check, MEMORY_CAP);
    lua_pushcfunction(L, charge);
    lua_setfield(L, LUA_REGISTRYINDEX, SH_L_CHARGE_KEY);
    if (luaL_loadfilex(L, SH_SOURCE_DIR "/scripts/session.lua", "t") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, 1);
    lua_setglobal(L, "__script");
    sh_session_limits limits = {.max_objects = 32,
                                .max_duration_s = 5,
                                .idle_timeout_s = 30,
                                .max_message_bytes = 1 << 20,
                                .lua_memory_bytes = MEMORY_CAP,
                                .lua_cpu_ms = 50};
    sh_l_host_push_session(L, (sh_session*)f, &ops, &limits, SH_SOURCE_DIR "/scripts",
                           SH_BUILD_DIR "/assets.db", db);
    lua_setglobal(L, "__session");
    return 0;
}

// Calls __script[name](__session, msg?) under the budget; aborts on an error that is not a limit.
static void call(lua_State* L, const char* name, const char* msg, size_t len)
{
    budget* b = budget_of(L);
    b->start = cpu_now();
    lua_sethook(L, hook, LUA_MASKCOUNT, HOOK_COUNT);
    lua_getglobal(L, "__script");
    if (lua_getfield(L, -1, name) != LUA_TFUNCTION)
    {
        lua_settop(L, 0);
        return;
    }
    lua_getglobal(L, "__session");
    if (msg != NULL)
        lua_pushlstring(L, msg, len);
    int rc = lua_pcall(L, msg != NULL ? 2 : 1, 0, 0);
    if (rc != LUA_OK && !b->over)
        require(0, "session.lua raised", lua_tostring(L, -1));
    lua_settop(L, 0);
}

// cjson with invalid numbers refused: NaN, Infinity or hex in a message fail the decode.
static const char checker_src[] = "local codec = require('cjson').new()\n"
                                  "codec.decode_invalid_numbers(false)\n"
                                  "function check(s) codec.decode(s) end\n";

int LLVMFuzzerInitialize(int* argc, char*** argv)
{
    (void)argc;
    (void)argv;
    sh_error err = {0};
    if (!sh_assets_open(SH_BUILD_DIR "/assets.db", false, &db, &err))
        require(0, "cannot open the default asset DB", err.message);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    // Fresh states per input: libFuzzer scans for leaks after any input whose mallocs and frees differ.
    checker = luaL_newstate();
    luaL_openlibs(checker);
    if (luaL_dostring(checker, checker_src) != LUA_OK)
        require(0, "checker", lua_tostring(checker, -1));
    budget b = {0};
    fake_session f = {0};
    lua_State* L = lua_newstate(alloc, &b);
    if (L == NULL)
        return 0;
    lua_pushcfunction(L, setup);
    lua_pushlightuserdata(L, &f);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK)
        require(0, "cannot set up the session state", lua_tostring(L, -1));
    call(L, "on_open", NULL, 0);
    const char* p = (const char*)data;
    const char* end = p + size;
    for (int i = 0; i < MAX_MESSAGES && p <= end && !f.closed && !b.over; i++)
    {
        const char* nul = memchr(p, '\0', (size_t)(end - p));
        size_t len = nul != NULL ? (size_t)(nul - p) : (size_t)(end - p);
        call(L, "on_message", p, len);
        for (int t = 0; t < TICKS_PER_MESSAGE && f.timer_armed && !f.closed && !b.over; t++)
        {
            f.timer_armed = false;
            call(L, "on_tick", NULL, 0);
        }
        if (nul == NULL)
            break;
        p = nul + 1;
    }
    lua_close(L);
    lua_close(checker);
    return 0;
}
