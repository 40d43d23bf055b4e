#pragma once
// The curated library of a session's Lua state (docs/session-api.md, "The sandbox"). The REPL, `simhost
// run` and a plain lua5.4 keep the full standard library: only the host's session states (and the
// scenario listing's state) are opened through here.

#include <lauxlib.h>
#include <lua.h>

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

// Used by sh_l_sandbox_open: push a closure per function with the ticker (a userdata) as upvalue 1.
// The ticker is on top of the stack; each sets its functions into the table at index `lib`.
void sh_l_pattern_install(lua_State* L, int lib);       // string.find, match, gmatch, gsub (l_pattern.c)
void sh_l_table_bounded_install(lua_State* L, int lib); // table.insert, remove, move, sort, concat
void sh_l_json_guard_install(lua_State* L, size_t max_bytes); // cjson.encode (l_json_guard.c)

// The upvalue every bounded function carries: counts steps, calls `fn` every SH_L_TICK_STEPS.
typedef struct sh_l_ticker
{
    sh_l_tick_fn fn;
    unsigned steps;
} sh_l_ticker;

static inline void sh_l_tick(lua_State* L, sh_l_ticker* t, unsigned steps)
{
    t->steps += steps;
    if (t->steps >= SH_L_TICK_STEPS)
    {
        t->steps = 0;
        if (t->fn != NULL)
            t->fn(L);
    }
}
