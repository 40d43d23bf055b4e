// A session actor: one WebSocket connection's Lua state (scripts/session.lua, loaded afresh) and
// everything the script builds (its world). Runs on one worker at a time (workers.c). The state has
// a counting allocator with a cap and an instruction-count hook that bounds each callback's CPU.
#include "net_internal.h"

#include "simhost/lua.h"

#include <arpa/inet.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

// How many client messages one run handles before yielding the worker to other sessions.
enum
{
    RUN_BATCH = 16,
    INBOX_MAX_MESSAGES = 1024,
    CONTROL_QUEUE_MAX = 64 << 20, // bytes of control messages waiting for one client
    HELD_MAX = 8 << 20,           // bytes a tick may hold back until its due time; past it they go at once
    // The hook runs every HOOK_COUNT VM instructions: about 10-50 µs of Lua, so the clock_gettime()
    // inside it costs well under 1 % while a runaway loop is still caught within a millisecond.
    HOOK_COUNT = 10000,
};

// ---------------------------------------------------------------------------------------------
// Lifetime

static const sh_actor_ops actor_ops;

sh_session* sh_session_new(sh_server* server, unsigned id)
{
    sh_session* s = sh_alloc_zeroed(sizeof *s);
    if (s == NULL)
        return NULL;
    s->server = server;
    s->id = id;
    atomic_init(&s->refs, 1);
    atomic_init(&s->abort, false);
    pthread_mutex_init(&s->lock, NULL);
    s->out.frame_cap = server->cfg.outbox_frames > 0 ? server->cfg.outbox_frames : 64;
    s->out.byte_cap = server->cfg.outbox_bytes > 0 ? server->cfg.outbox_bytes : (size_t)16 << 20;
    s->actor = (sh_actor){.ops = &actor_ops, .id = id, .due = -1};
    s->tick_at = s->last_due = -1;
    s->budget.cap = server->cfg.lua_memory_bytes;
    s->budget.cpu_budget = server->cfg.lua_cpu_ms / 1000.0;
    s->budget.abort = &s->abort;
    return s;
}

void sh_session_ref(sh_session* s)
{
    atomic_fetch_add(&s->refs, 1);
}

static void clear_inbox(sh_session* s)
{
    while (s->in_head != NULL)
    {
        sh_msg* m = s->in_head;
        s->in_head = m->next;
        sh_msg_free(m);
    }
    s->in_tail = NULL;
    s->in_count = 0;
    s->in_bytes = 0;
}

// Messages a tick held back (worker, or the last reference).
static void drop_held(sh_session* s)
{
    while (s->held_head != NULL)
    {
        sh_msg* m = s->held_head;
        s->held_head = m->next;
        sh_msg_free(m);
    }
    s->held_tail = NULL;
    s->held_bytes = 0;
}

void sh_session_unref(sh_session* s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    SH_ASSERT(s->L == NULL);
    sh_session_control_close(s); // normally already done when the actor finished
    drop_held(s);
    clear_inbox(s);
    sh_outbox_clear(&s->out);
    pthread_mutex_destroy(&s->lock);
    sh_free(s, sizeof *s);
}

// ---------------------------------------------------------------------------------------------
// Service thread side

bool sh_session_deliver(sh_session* s, sh_msg* m)
{
    pthread_mutex_lock(&s->lock);
    if (s->client_gone || s->close_requested)
    {
        pthread_mutex_unlock(&s->lock);
        sh_msg_free(m);
        return true;
    }
    if (s->in_count >= INBOX_MAX_MESSAGES || s->in_bytes + m->len > 4 * s->server->cfg.max_message_bytes)
    {
        pthread_mutex_unlock(&s->lock);
        sh_msg_free(m);
        return false;
    }
    m->next = NULL;
    if (s->in_tail == NULL)
        s->in_head = m;
    else
        s->in_tail->next = m;
    s->in_tail = m;
    s->in_count++;
    s->in_bytes += m->len;
    pthread_mutex_unlock(&s->lock);
    sh_workers_wake(s->server->workers, &s->actor);
    return true;
}

void sh_session_client_gone(sh_session* s)
{
    pthread_mutex_lock(&s->lock);
    s->client_gone = true;
    clear_inbox(s);
    sh_outbox_clear(&s->out);
    pthread_mutex_unlock(&s->lock);
    // The hook sees this within HOOK_COUNT instructions and unwinds the running callback.
    atomic_store(&s->abort, true);
    sh_workers_wake(s->server->workers, &s->actor);
}

// The message as it goes to the client: a JSON frame's `data` wrapped in its envelope; NULL when out of
// memory.
static sh_msg* make_msg(const char* data, size_t len, sh_send_kind kind)
{
    static const char prefix[] = "{\"type\":\"frame\",\"data\":";
    sh_msg* m;
    if (kind == SH_SEND_FRAME)
    {
        size_t pre = sizeof prefix - 1;
        m = sh_msg_new(pre + len + 1);
        if (m == NULL)
            return NULL;
        unsigned char* p = sh_msg_payload(m);
        memcpy(p, prefix, pre);
        memcpy(p + pre, data, len);
        p[pre + len] = '}';
        m->droppable = true;
    }
    else if ((m = sh_msg_from(data, len)) != NULL && kind == SH_SEND_FRAME_BINARY)
        m->droppable = m->binary = true;
    return m;
}

// Queues m for the service thread and wakes it (takes m; false when it was refused and freed).
static bool queue_msg(sh_session* s, sh_msg* m)
{
    pthread_mutex_lock(&s->lock);
    bool open = !s->client_gone && !s->close_requested;
    // Control messages are never dropped, so a script that sends them in a loop to a client that
    // does not read is refused past CONTROL_QUEUE_MAX bytes instead (send returns false): memory
    // stays bounded, and the CPU limit ends the loop.
    bool room = m->droppable || s->out.bytes - s->out.frame_bytes + m->len <= CONTROL_QUEUE_MAX;
    if (open && room)
        sh_outbox_push(&s->out, m);
    pthread_mutex_unlock(&s->lock);
    if (!open || !room)
    {
        sh_msg_free(m);
        return false;
    }
    sh_server_poke(s->server);
    return true;
}

bool sh_session_send(sh_session* s, const char* data, size_t len, sh_send_kind kind)
{
    sh_msg* m = make_msg(data, len, kind);
    return m != NULL && queue_msg(s, m);
}

void sh_session_request_close(sh_session* s)
{
    pthread_mutex_lock(&s->lock);
    s->close_requested = true;
    pthread_mutex_unlock(&s->lock);
    sh_server_poke(s->server);
}

void sh_session_set_peer(sh_session* s, struct lws* wsi)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    int fd = lws_get_socket_fd(wsi);
    if (fd >= 0 && getpeername(fd, (struct sockaddr*)&ss, &len) == 0)
    {
        if (ss.ss_family == AF_INET)
        {
            const struct sockaddr_in* a = (const struct sockaddr_in*)&ss;
            inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
            port = ntohs(a->sin_port);
        }
        else if (ss.ss_family == AF_INET6)
        {
            const struct sockaddr_in6* a = (const struct sockaddr_in6*)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
            port = ntohs(a->sin6_port);
        }
    }
    snprintf(s->peer, sizeof s->peer, "%s:%d", ip, port);
}

// ---------------------------------------------------------------------------------------------
// The Lua state: counting allocator, CPU hook

static void* budget_alloc(void* ud, void* ptr, size_t osize, size_t nsize)
{
    sh_lua_budget* b = ud;
    if (ptr == NULL)
        osize = 0; // osize is a type tag then
    if (nsize == 0)
    {
        free(ptr);
        b->used -= osize;
        return NULL;
    }
    if (nsize > osize && b->used + (nsize - osize) > b->cap)
    {
        b->mem_exceeded = true;
        return NULL;
    }
    void* p = realloc(ptr, nsize);
    if (p != NULL)
        b->used = b->used - osize + nsize;
    return p;
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static sh_lua_budget* budget_of(lua_State* L)
{
    void* ud = NULL;
    lua_getallocf(L, &ud);
    return ud;
}

// SH_L_CHARGE_KEY: the module reports the C memory it holds for this state (a script's worlds), so
// the --lua-memory-mb cap covers a world of 10 000 bodies as well as a table of 10 000 strings.
static int charge_memory(lua_State* L)
{
    sh_lua_budget* b = budget_of(L);
    lua_Integer delta = luaL_checkinteger(L, 1);
    if (delta < 0)
    {
        size_t d = (size_t)-delta;
        b->used = d < b->used ? b->used - d : 0;
        return 0;
    }
    b->used += (size_t)delta;
    if (b->used <= b->cap)
        return 0;
    b->mem_exceeded = true;
    return luaL_error(L, "memory limit");
}

static void budget_hook(lua_State* L, lua_Debug* ar);

// The hook's check, also called by the sandbox's long C loops (pattern matching, table.sort; l_sandbox.h)
// every SH_L_TICK_STEPS steps of their own work: raises once the callback is over its limits.
static void budget_check(lua_State* L)
{
    sh_lua_budget* b = budget_of(L);
    bool aborted = b->abort != NULL && atomic_load(b->abort);
    if (!aborted && !b->mem_exceeded && !b->cpu_exceeded)
    {
        if (thread_cpu() - b->cpu_start <= b->cpu_budget)
            return;
        b->cpu_exceeded = true;
    }
    // From now on every instruction raises, so a script that catches the error with pcall cannot
    // carry on: the next instruction outside the pcall raises again.
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, aborted ? "session closed" : b->mem_exceeded ? "memory limit" : "CPU limit");
}

static void budget_hook(lua_State* L, lua_Debug* ar)
{
    (void)ar;
    budget_check(L);
}

static int traceback_handler(lua_State* L)
{
    // error() with a table or nil: the client gets the generic line, the log says what it was.
    const char* msg = lua_type(L, 1) == LUA_TSTRING ? lua_tostring(L, 1) : NULL;
    if (msg == NULL)
        msg = lua_pushfstring(L, "script error (a %s was raised)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

// Calls the function below the nargs arguments on top of L's stack, protected (message handler at
// stack index msgh, 0 for none), with the CPU budget started afresh; leaves what lua_pcall leaves and
// its code in *rc. The one way into a budgeted state: script callbacks, the scenario list, the REPL's
// requests (session_control.c).
static sh_call_end budget_pcall(lua_State* L, int nargs, int nresults, int msgh, int* rc)
{
    sh_lua_budget* b = budget_of(L);
    b->cpu_start = thread_cpu();
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, HOOK_COUNT);
    *rc = lua_pcall(L, nargs, nresults, msgh);
    if (*rc == LUA_OK && !b->mem_exceeded && !b->cpu_exceeded)
        return SH_CALL_OK;
    if (b->abort != NULL && atomic_load(b->abort))
        return SH_CALL_CLOSED;
    if (b->mem_exceeded || *rc == LUA_ERRMEM)
        return SH_CALL_MEMORY;
    return b->cpu_exceeded ? SH_CALL_CPU : SH_CALL_ERROR;
}

// "path/x.lua:12: message\nstack traceback: ..." -> "message" (at most 200 bytes) into line; a
// non-string error object -> "script error".
static void error_line(const char* full, char* line, size_t line_size)
{
    const char* msg = full != NULL ? full : "script error";
    for (;;)
    {
        const char* p = strstr(msg, ".lua:");
        const char* nl = strchr(msg, '\n');
        if (p == NULL || (nl != NULL && p > nl))
            break;
        const char* q = p + 5;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q == p + 5 || q[0] != ':' || q[1] != ' ')
            break;
        msg = q + 2;
    }
    size_t n = strcspn(msg, "\n");
    if (n > 200)
        n = 200;
    snprintf(line, line_size, "%.*s", (int)n, msg);
    if (line[0] == '\0' || strncmp(line, "script error (a ", 16) == 0)
        snprintf(line, line_size, "script error");
}

// The traceback on one log line: newlines become " | ", tabs go.
static void log_traceback(unsigned id, const char* full)
{
    char flat[1024];
    size_t j = 0;
    for (const char* p = full; *p && j + 4 < sizeof flat; p++)
    {
        if (*p == '\n')
            flat[j++] = ' ', flat[j++] = '|', flat[j++] = ' ';
        else if (*p != '\t')
            flat[j++] = *p;
    }
    flat[j] = '\0';
    sh_log("session %u: script error: %s", id, flat);
}

// Calls the function below the nargs arguments on top of the stack under the budget, with a traceback.
// On error leaves a one-line message (location and traceback stripped) in `line`; the full
// traceback is logged.
static bool budget_call(lua_State* L, int nargs, int nresults, unsigned id, char* line, size_t line_size)
{
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback_handler);
    lua_insert(L, base);
    int rc;
    sh_call_end end = budget_pcall(L, nargs, nresults, base, &rc);
    lua_remove(L, base);
    if (end == SH_CALL_OK)
        return true;
    const char* full = rc != LUA_OK ? lua_tostring(L, -1) : NULL;
    if (end == SH_CALL_CLOSED)
        snprintf(line, line_size, "session closed");
    else if (end == SH_CALL_MEMORY)
        snprintf(line, line_size, "session exceeded its memory limit");
    else if (end == SH_CALL_CPU)
        snprintf(line, line_size, "session exceeded its CPU limit");
    else
        error_line(full, line, line_size);
    if (full != NULL && end != SH_CALL_CLOSED)
        log_traceback(id, full);
    else if (full == NULL)
        sh_log("session %u: %s", id, line);
    if (rc != LUA_OK)
        lua_pop(L, 1);
    return false;
}

// Runs inside lua_pcall: opening the libraries allocates, and an allocation refused outside a
// protected call would reach the panic handler (abort).
static int init_state(lua_State* L)
{
    const char* scripts_dir = lua_touserdata(L, 1);
    sh_l_sandbox_open(L, scripts_dir, budget_check, budget_of(L)->cap);
    lua_pushcfunction(L, charge_memory);
    lua_setfield(L, LUA_REGISTRYINDEX, SH_L_CHARGE_KEY);
    return 0;
}

// A fresh state: the sandbox's curated library (the Lua module's l_sandbox.c), `simhost` and `cjson`
// preloaded, package.path on the scripts dir only (plus the system's Lua dirs; never the working
// directory).
static lua_State* new_state(sh_server* server, sh_lua_budget* budget)
{
    lua_State* L = lua_newstate(budget_alloc, budget);
    if (L == NULL)
        return NULL;
    lua_pushcfunction(L, init_state);
    lua_pushlightuserdata(L, server->scripts_dir);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK)
    {
        sh_log("cannot set up a Lua state: %s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
        lua_close(L);
        return NULL;
    }
    return L;
}

// ---------------------------------------------------------------------------------------------
// Ticks ahead of their due time. A frame used to go out once its tick had stepped and encoded it, so
// its interval grew by whatever that step cost more than the last one: 1.5-2.5 ms when the bench's
// cubes first touch the ground against 0.1 ms in flight, which set a lone session's 99th percentile
// interval (issue 18, docs/frames.md "Frame pacing"). A tick now runs up to TICK_LEAD_S before its
// due time and what it sends is held until then, so a step that fits in the lead no longer shows in
// the intervals. The lead is at most half the last period, so one tick's messages always go before
// the next tick runs; it is the only delay it adds (an impulse shows up to that much later).

// Above the bench scene's 2.5 ms contact steps; a quarter of a 60 Hz period.
static const double TICK_LEAD_S = 0.004;

static double tick_lead(const sh_session* s)
{
    if (s->last_due < 0 || s->tick_at <= s->last_due)
        return 0;
    double half = (s->tick_at - s->last_due) / 2;
    return half < TICK_LEAD_S ? half : TICK_LEAD_S;
}

// Arms the pool's timer for whatever comes first: the next tick (early by the lead) or the release of
// the held messages.
static void arm(sh_session* s)
{
    double t = s->tick_at >= 0 && !s->ended ? s->tick_at - tick_lead(s) : -1;
    if (s->held_head != NULL && (t < 0 || s->hold_until <= t))
        sh_workers_set_timer_ahead(s->server->workers, &s->actor, s->hold_until);
    else
        sh_workers_set_timer(s->server->workers, &s->actor, t);
}

static void release_held(sh_session* s)
{
    while (s->held_head != NULL)
    {
        sh_msg* m = s->held_head;
        s->held_head = m->next;
        queue_msg(s, m);
    }
    s->held_tail = NULL;
    s->held_bytes = 0;
    if (s->close_held)
    {
        s->close_held = false;
        sh_session_request_close(s);
    }
}

// A message from the script: held while its tick's due time has not come, or behind held ones (order).
static bool send_or_hold(sh_session* s, const char* data, size_t len, sh_send_kind kind)
{
    bool hold = s->held_head != NULL || (s->in_tick && sh_now() < s->hold_until);
    if (hold && s->held_bytes + len > HELD_MAX)
    {
        release_held(s); // a tick that sends this much gains nothing from waiting
        hold = false;
    }
    if (!hold)
        return sh_session_send(s, data, len, kind);
    sh_msg* m = make_msg(data, len, kind);
    if (m == NULL)
        return false;
    m->next = NULL;
    if (s->held_tail == NULL)
        s->held_head = m;
    else
        s->held_tail->next = m;
    s->held_tail = m;
    s->held_bytes += m->len;
    return true;
}

static void fail_session(sh_session* s, const char* message)
{
    release_held(s); // what went before the error, then the error
    sh_buf b = {0};
    sh_buf_puts(&b, "{\"type\":\"error\",\"message\":");
    sh_buf_json_string(&b, message);
    sh_buf_puts(&b, "}");
    if (!b.failed)
        sh_session_send(s, b.data, b.len, SH_SEND_CONTROL);
    sh_buf_free(&b);
    sh_session_request_close(s);
    s->ended = true;
}

// ---------------------------------------------------------------------------------------------
// The ops the Lua module (l_host.c) calls for the script's `session` object.

static bool op_send(sh_session* s, const char* data, size_t len, sh_send_kind kind)
{
    // Once over a limit, nothing more from the script reaches the client: a script that caught the
    // error (pcall, a coroutine) has at most HOOK_COUNT instructions left, and they must not talk.
    if (s->budget.mem_exceeded || s->budget.cpu_exceeded)
        return false;
    return send_or_hold(s, data, len, kind);
}

static void op_close(sh_session* s)
{
    if (!s->ended && s->held_head != NULL)
        s->close_held = true; // after the held messages, at their due time
    else if (!s->ended)
        sh_session_request_close(s);
    s->ended = true;
}

static void op_set_timer(sh_session* s, double due)
{
    s->tick_at = due >= 0 ? due : -1;
    if (!s->in_tick) // a tick arms once it is done (run)
        arm(s);
}

static uint64_t op_dropped(sh_session* s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t n = s->out.dropped;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static int op_queued(sh_session* s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->out.frames;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static unsigned op_id(sh_session* s)
{
    return s->id;
}

static const sh_session_ops session_ops = {.send = op_send,
                                           .close = op_close,
                                           .set_timer = op_set_timer,
                                           .dropped = op_dropped,
                                           .queued = op_queued,
                                           .id = op_id};

static sh_session_limits limits_of(const sh_server* server)
{
    return (sh_session_limits){
        .max_objects = server->cfg.max_objects,
        .max_duration_s = server->cfg.max_duration_s,
        .idle_timeout_s = server->cfg.idle_timeout_s,
        .max_message_bytes = server->cfg.max_message_bytes,
        .lua_memory_bytes = server->cfg.lua_memory_bytes,
        .lua_cpu_ms = server->cfg.lua_cpu_ms,
    };
}

// Registry slots of a running session: the script's module table and the session object.
static const char module_key[] = "simhost.net.module";
static const char session_key[] = "simhost.net.session";

static int start_session(lua_State* L)
{
    sh_session* s = lua_touserdata(L, 1);
    sh_server* server = s->server;
    lua_pushfstring(L, "%s/session.lua", server->scripts_dir);
    if (luaL_loadfilex(L, lua_tostring(L, -1), "t") != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, 1);
    if (!lua_istable(L, -1))
        return luaL_error(L, "session.lua must return a table");
    lua_setfield(L, LUA_REGISTRYINDEX, module_key);
    sh_session_limits limits = limits_of(server);
    sh_l_host_push_session(L, s, &session_ops, &limits, server->scripts_dir, server->assets_path, server->db);
    sh_session_push_recording(L, server);
    lua_setfield(L, LUA_REGISTRYINDEX, session_key);
    return 0;
}

// Inside the protected call: module[name](session, raw?) if the script defines it. Everything that
// may allocate (the key, the message string) happens here, never outside a pcall.
static int handler_trampoline(lua_State* L)
{
    const char* name = lua_touserdata(L, 1);
    const sh_msg* m = lua_touserdata(L, 2);
    lua_settop(L, 0);
    lua_getfield(L, LUA_REGISTRYINDEX, module_key);
    if (lua_getfield(L, -1, name) == LUA_TNIL)
        return 0;
    lua_getfield(L, LUA_REGISTRYINDEX, session_key);
    if (m != NULL)
        lua_pushlstring(L, (const char*)sh_msg_payload((sh_msg*)m), m->len);
    lua_call(L, m != NULL ? 2 : 1, 0);
    return 0;
}

static bool call_handler(sh_session* s, const char* name, const sh_msg* m)
{
    lua_State* L = s->L;
    lua_pushcfunction(L, handler_trampoline);
    lua_pushlightuserdata(L, (void*)name);
    lua_pushlightuserdata(L, (void*)m);
    char line[256];
    if (budget_call(L, 2, 0, s->id, line, sizeof line))
        return true;
    if (!atomic_load(&s->abort))
        fail_session(s, line);
    else
        s->ended = true;
    return false;
}

static void start(sh_session* s)
{
    s->started = true;
    s->L = new_state(s->server, &s->budget);
    if (s->L == NULL)
    {
        fail_session(s, "session exceeded its memory limit");
        return;
    }
    lua_pushcfunction(s->L, start_session);
    lua_pushlightuserdata(s->L, s);
    char line[256];
    if (!budget_call(s->L, 1, 0, s->id, line, sizeof line))
    {
        if (!atomic_load(&s->abort))
            fail_session(s, line);
        else
            s->ended = true;
        return;
    }
    call_handler(s, "on_open", NULL);
}

// The tick, when its time (less the lead) has come: the previous tick's held messages go first (only
// after a stall are they still held), then on_tick, whose sends wait for this tick's due time.
static void run_tick(sh_session* s)
{
    if (s->tick_at < 0 || sh_now() < s->tick_at - tick_lead(s))
        return;
    release_held(s);
    s->last_due = s->hold_until = s->tick_at;
    s->tick_at = -1;
    s->in_tick = true;
    call_handler(s, "on_tick", NULL);
    s->in_tick = false;
}

// Worker: runs whatever is pending (the REPL's requests, messages, a due tick). The pool's `tick` only
// says its timer fired; the session's own times (tick_at, hold_until) say for what.
static void run_script(sh_session* s)
{
    if (!s->started)
        start(s);
    sh_session_control_run(s); // the REPL's requests (session_control.c) go before client messages
    for (int i = 0; i < RUN_BATCH && !s->ended && !atomic_load(&s->abort); i++)
    {
        pthread_mutex_lock(&s->lock);
        sh_msg* m = s->in_head;
        if (m != NULL)
        {
            s->in_head = m->next;
            if (s->in_head == NULL)
                s->in_tail = NULL;
            s->in_count--;
            s->in_bytes -= m->len;
        }
        bool more = s->in_head != NULL;
        pthread_mutex_unlock(&s->lock);
        if (m == NULL)
            break;
        call_handler(s, "on_message", m);
        sh_msg_free(m);
        if (more && i == RUN_BATCH - 1)
            sh_workers_wake(s->server->workers, &s->actor); // let others run, then come back
    }
    if (!s->ended && !atomic_load(&s->abort))
        run_tick(s);
}

static void run(sh_session* s, bool tick)
{
    (void)tick;
    if (s->held_head != NULL && sh_now() >= s->hold_until)
        release_held(s);
    if (!s->ended && !atomic_load(&s->abort))
        run_script(s);
    if (!atomic_load(&s->abort))
        arm(s);
}

// Worker: true when the session is done with the workers (ended or client gone); frees the Lua state.
static bool finished(sh_session* s)
{
    if (!s->ended && !atomic_load(&s->abort))
        return false;
    if (atomic_load(&s->abort))
        drop_held(s);
    else if (s->held_head != NULL)
        return false; // the last tick's messages (and the close) go at its due time: arm() set the timer
    if (s->L != NULL)
    {
        // Ended by the script or an error, the client still reads what was queued; gone, nothing.
        lua_close(s->L); // frees the world and everything the script built, on this worker
        s->L = NULL;
    }
    sh_session_control_close(s);
    return true;
}

// The session as an actor of the worker pool (workers.h).
static bool actor_run(sh_actor* a, bool tick)
{
    sh_session* s = sh_session_of(a);
    run(s, tick);
    return finished(s);
}

static void actor_retain(sh_actor* a)
{
    sh_session_ref(sh_session_of(a));
}

static void actor_release(sh_actor* a)
{
    sh_session_unref(sh_session_of(a));
}

static const sh_actor_ops actor_ops = {.run = actor_run, .retain = actor_retain, .release = actor_release};

sh_call_end sh_session_call(sh_session* s, int nargs, int nresults)
{
    int rc;
    return budget_pcall(s->L, nargs, nresults, 0, &rc);
}

void sh_session_push_script(sh_session* s)
{
    lua_getfield(s->L, LUA_REGISTRYINDEX, module_key);
    lua_getfield(s->L, LUA_REGISTRYINDEX, session_key);
}

void sh_session_fail(sh_session* s, const char* message)
{
    fail_session(s, message);
}

// ---------------------------------------------------------------------------------------------
// GET /api/v1/live/scenarios: scripts/lib/scenarios.lua lists scripts/scenarios/*.lua, read at
// request time in a fresh state under the same limits as a session.

// Inside the protected call: require("lib.scenarios").list_json(scripts_dir).
static int list_scenarios(lua_State* L)
{
    const char* scripts_dir = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "lib.scenarios");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "list_json");
    lua_pushstring(L, scripts_dir);
    lua_call(L, 1, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "list_json must return a string");
    return 1;
}

int sh_scenarios_json(sh_server* server, sh_buf* out)
{
    sh_lua_budget budget = {.cap = server->cfg.lua_memory_bytes,
                            .cpu_budget = server->cfg.lua_cpu_ms / 1000.0};
    lua_State* L = new_state(server, &budget);
    if (L == NULL)
    {
        sh_buf_puts(out, "{\"error\":\"out of memory\"}");
        return 500;
    }
    lua_pushcfunction(L, list_scenarios);
    lua_pushlightuserdata(L, server->scripts_dir);
    char line[256];
    int status = 500;
    if (budget_call(L, 1, 1, 0, line, sizeof line))
    {
        size_t n;
        const char* json = lua_tolstring(L, -1, &n);
        sh_buf_append(out, json, n);
        status = 200;
    }
    else
    {
        sh_buf_puts(out, "{\"error\":");
        sh_buf_json_string(out, line);
        sh_buf_puts(out, "}");
    }
    lua_close(L);
    return status;
}
