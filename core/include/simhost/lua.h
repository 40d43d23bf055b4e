#pragma once
// The `simhost` Lua module's public API: what the program (run, repl, serve) and the net layer call.
// The module's files share the rest in a private header of their own. Direction (docs/modules.md):
// the net layer and the program call the module, the module never calls them back except through
// the session contract below.

#include "simhost/base.h"

#include <lauxlib.h>
#include <lua.h>

#define SH_LUA_EXPORT __attribute__((visibility("default")))

// Opens the module and leaves its table on the stack (also used by the host program's own states).
SH_LUA_EXPORT int luaopen_simhost(lua_State* L);

// Pushes the line print() would write for all the arguments on the stack: each through tostring
// (__tostring and __name honoured), tab-separated, newline-ended. For prints that go elsewhere (REPLs).
void sh_l_push_print_line(lua_State* L);

// A host that caps a Lua state's memory (simhost serve's sessions) stores a function under this
// registry key; the module calls it with the change, in bytes, of the C memory it holds for that state
// (worlds and their buffers), so the cap covers what a script builds in C too. The function raises when
// the cap is passed. Without it (repl, run, a plain lua5.4) nothing is charged.
#define SH_L_CHARGE_KEY "simhost.memory_charge"

// Pushes an asset DB userdata. owned = false lends a DB the caller keeps (the server's shared DB: reads
// are thread-safe, see assets.h); Lua then never closes it.
typedef struct sh_asset_db sh_asset_db;
void sh_l_push_assets(lua_State* L, sh_asset_db* db, bool owned);

// ---------------------------------------------------------------------------------------------
// The session contract: what the Lua module needs to give a script its `session` object. The
// bindings cannot link against net (net links the bindings), so the net layer hands the module this
// table of functions together with the session pointer.

typedef struct sh_session sh_session;

typedef enum sh_send_kind
{
    SH_SEND_CONTROL = 0, // metadata, error, complete, replies: never dropped
    SH_SEND_FRAME = 1,   // a frame's data object; wrapped as {"type":"frame","data":...}; droppable
    // An SHF1 frame (docs/frames.md), sent as it is in one binary message; droppable.
    SH_SEND_FRAME_BINARY = 2,
} sh_send_kind;

typedef struct sh_session_limits
{
    int max_objects;
    double max_duration_s;
    double idle_timeout_s;
    size_t max_message_bytes;
    size_t lua_memory_bytes;
    int lua_cpu_ms;
} sh_session_limits;

typedef struct sh_session_ops
{
    // Queues a message for the client (text, or binary for SH_SEND_FRAME_BINARY). false when the session is
    // closing (the client left).
    bool (*send)(sh_session* s, const char* data, size_t len, sh_send_kind kind);
    // Closes after everything queued so far is written. Further events are not delivered.
    void (*close)(sh_session* s);
    // Arms the one timer at an absolute time on sh_now()'s clock (base.h); due < 0 disarms it.
    void (*set_timer)(sh_session* s, double due);
    // Frames dropped so far because the client read too slowly.
    uint64_t (*dropped)(sh_session* s);
    // Frames queued for the client and not yet written.
    int (*queued)(sh_session* s);
    unsigned (*id)(sh_session* s);
} sh_session_ops;

// The `session` object a live-session script sees (l_host.c; docs/session-api.md). `db` is the
// server's shared, read-only asset DB, lent to the script as session.assets.
void sh_l_host_push_session(lua_State* L, sh_session* s, const sh_session_ops* ops,
                            const sh_session_limits* limits, const char* scripts_dir, const char* assets_path,
                            sh_asset_db* db);

// ---------------------------------------------------------------------------------------------
// The sandbox of a session's Lua state (the Lua module's l_sandbox.c; docs/session-api.md, "The sandbox").
// Called by the bounded C loops below every SH_L_TICK_STEPS steps of their own work, with the state they
// run in. The host passes the check its instruction-count hook makes (CPU time, memory, abort) so a long
// pattern match or table sort is charged to the same budget as Lua code; it raises to stop the call.
typedef void (*sh_l_tick_fn)(lua_State* L);

// 4096 steps of a matcher or a sort cost about as much as the hook's 10 000 VM instructions (tens of µs),
// so the budget is checked at the same granularity inside one C call as between Lua instructions.
enum
{
    SH_L_TICK_STEPS = 4096
};

// Opens the curated library into L (inside a protected call): base (load text-only, loadfile/dofile
// inside scripts_dir only, setmetatable without __gc, host userdata metatables sealed), package (Lua
// modules and preloaded C modules only: no loadlib, no C searchers), coroutine, table and string (their
// looping functions bounded by `tick`), math, utf8 and os.clock/date/time/difftime. No io, no debug.
// `simhost` and `cjson` are preloaded; cjson's encode is guarded so its output (malloc'd outside the
// state's allocator) cannot pass memory_cap bytes.
void sh_l_sandbox_open(lua_State* L, const char* scripts_dir, sh_l_tick_fn tick, size_t memory_cap);
