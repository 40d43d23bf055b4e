// A session's other inbox: control of a live session from the REPL (sh_server_control,
// sh_server_sessions in server.h). Part of the session actor (session.c), split off to keep each file
// one job: session.c runs the script's callbacks, this runs the REPL's requests between them.
//
// A request is a message to the session's actor: the REPL's thread queues it on the session (under the
// session's lock, like a client message), wakes the actor and waits on the request's condition variable.
// The actor runs it at the start of its next turn, on its worker, in its own Lua state — so the REPL never
// touches a session's state or world, and a session needs no locks (docs/modules.md). Pause, resume and
// step call the script's own hook (session.lua M.control), the code the WebSocket `pause`/`resume`/`step`
// messages run, so both behave the same.
//
// Lifetime: a request has two references, the waiter's and the queue's. The waiter gives up after its
// timeout (the actor may be inside a long callback), the actor answers later and the last one out frees
// it. A session that ends answers everything still queued with "ended" (sh_session_control_close), and
// refuses new requests from then on, so no waiter is left hanging and nothing leaks.
#include "net_internal.h"

#include "simhost/lua.h"

#include <lauxlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum
{
    MAX_CODE_BYTES = 1 << 20,   // an eval's source: the REPL's own chunk limit
    MAX_OUTPUT_BYTES = 1 << 20, // what an eval may print and return; the rest is cut
    MAX_PENDING = 64,           // requests queued on one session
    MAX_REASON = 200,           // a kill reason: one short line, like every protocol error
};

typedef struct sh_control_req
{
    struct sh_control_req* next; // in the session's queue (session lock)
    atomic_int refs;
    pthread_mutex_t lock; // guards done and, until done, nothing else: the actor writes the answer first
    pthread_cond_t cond;  // sh_cond_init: waits on sh_now()'s clock
    bool done;

    // The question, immutable once queued.
    sh_control_kind kind;
    char* code;
    size_t code_len;
    long frames;
    char reason[MAX_REASON + 1];
    void (*render)(struct lua_State* L, int idx);

    // The answer, written by the actor before done.
    bool ok;
    char* text; // sh_alloc'd, text_len + 1 bytes
    size_t text_len;
    sh_session_info info;
} sh_control_req;

// ---------------------------------------------------------------------------------------------
// Requests

// A sh_alloc'd NUL-terminated copy of s[0, n) (free with n + 1); *len is n, or 0 when out of memory.
static char* copy_text(const char* s, size_t n, size_t* len)
{
    char* t = sh_alloc(n + 1);
    *len = t != NULL ? n : 0;
    if (t != NULL)
    {
        memcpy(t, s, n);
        t[n] = '\0';
    }
    return t;
}

// vsnprintf into line; the bytes it holds (a longer message is cut at the buffer's end).
static size_t format_line(char* line, size_t size, const char* fmt, va_list ap)
{
    int n = vsnprintf(line, size, fmt, ap);
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

static void set_text(sh_control_req* r, const char* s, size_t n)
{
    if (r->text != NULL)
        sh_free(r->text, r->text_len + 1);
    r->text = copy_text(s, n, &r->text_len);
}

static void set_textf(sh_control_req* r, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_textf(sh_control_req* r, const char* fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    size_t n = format_line(line, sizeof line, fmt, ap);
    va_end(ap);
    set_text(r, line, n);
}

static sh_control_req* req_new(const sh_control* c)
{
    sh_control_req* r = sh_alloc_zeroed(sizeof *r);
    if (r == NULL)
        return NULL;
    if (c->kind == SH_CONTROL_EVAL)
    {
        r->code = copy_text(c->code, c->code_len, &r->code_len);
        if (r->code == NULL)
        {
            sh_free(r, sizeof *r);
            return NULL;
        }
    }
    atomic_init(&r->refs, 2);
    pthread_mutex_init(&r->lock, NULL);
    sh_cond_init(&r->cond);
    r->kind = c->kind;
    r->frames = c->frames;
    r->render = c->render;
    r->info.bodies = -1;
    r->info.frame = -1;
    r->info.rtf = -1;
    if (c->kind == SH_CONTROL_KILL)
    {
        // One printable line: the client shows it as the error message.
        const char* src =
            c->reason != NULL && c->reason[0] != '\0' ? c->reason : "killed from the host's REPL";
        size_t i = 0;
        for (; src[i] != '\0' && i < MAX_REASON; i++)
            r->reason[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? ' ' : src[i];
        r->reason[i] = '\0';
    }
    return r;
}

static void req_unref(sh_control_req* r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    if (r->code != NULL)
        sh_free(r->code, r->code_len + 1);
    if (r->text != NULL)
        sh_free(r->text, r->text_len + 1);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    sh_free(r, sizeof *r);
}

// Actor: the answer is written; wake the waiter and drop the queue's reference.
static void req_finish(sh_control_req* r, bool ok)
{
    r->ok = ok;
    pthread_mutex_lock(&r->lock);
    r->done = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    req_unref(r);
}

// ---------------------------------------------------------------------------------------------
// Actor side: running a request in the session's Lua state

static const char env_key[] = "simhost.net.eval_env"; // the evals' globals, kept across evals
static const char out_key[] = "simhost.net.eval_out"; // what the running eval printed (nil between evals)

// print() inside an eval: the text goes to the reply, not the host's stdout. Outside one (a function an
// eval defined, called later by the script) it goes to stdout like the stock print.
static int eval_print(lua_State* L)
{
    sh_l_push_print_line(L);
    if (lua_getfield(L, LUA_REGISTRYINDEX, out_key) != LUA_TTABLE)
    {
        size_t len;
        const char* s = lua_tolstring(L, -2, &len);
        fwrite(s, 1, len, stdout);
        fflush(stdout);
        return 0;
    }
    lua_getfield(L, -1, "bytes");
    lua_Integer bytes = lua_tointeger(L, -1);
    lua_pop(L, 1);
    size_t len = lua_rawlen(L, -2);
    if (bytes + (lua_Integer)len > MAX_OUTPUT_BYTES)
        return 0; // the reply says it was cut
    lua_pushinteger(L, bytes + (lua_Integer)len);
    lua_setfield(L, -2, "bytes");
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    return 0;
}

// The evals' globals fall back to the state's, plus names for what a person looks at: `session` (the
// script's session object), `script` (its module table), `run` (session.run, the running scene) and
// `world` (session.run.world). Looked up on each use: the run appears at configure.
static int eval_index(lua_State* L)
{
    const char* k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL; // never convert a key
    if (k != NULL)
    {
        if (strcmp(k, "script") == 0)
        {
            lua_pushvalue(L, lua_upvalueindex(1));
            return 1;
        }
        if (strcmp(k, "session") == 0)
        {
            lua_pushvalue(L, lua_upvalueindex(2));
            return 1;
        }
        if (strcmp(k, "run") == 0 || strcmp(k, "world") == 0)
        {
            if (lua_getfield(L, lua_upvalueindex(2), "run") != LUA_TTABLE || k[0] == 'r')
                return 1;
            lua_getfield(L, -1, "world");
            return 1;
        }
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_pushvalue(L, 2);
    lua_gettable(L, -2);
    return 1;
}

static void push_env(lua_State* L, sh_session* s)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, env_key) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, eval_print);
    lua_setfield(L, -2, "print");
    lua_createtable(L, 0, 1);
    sh_session_push_script(s); // module, session: eval_index's upvalues
    lua_pushcclosure(L, eval_index, 2);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, env_key);
}

// Inside the protected call: (req, session) --> the eval's text. An expression's values print like the
// REPL's (`return` is tried first, as lua.c does); statements run as they are.
static int eval_trampoline(lua_State* L)
{
    sh_control_req* r = lua_touserdata(L, 1);
    sh_session* s = lua_touserdata(L, 2);
    lua_settop(L, 0);
    push_env(L, s); // 1
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, out_key); // 2: prints
    lua_pushliteral(L, "return ");
    lua_pushlstring(L, r->code, r->code_len);
    lua_concat(L, 2);
    size_t n;
    const char* ret = lua_tolstring(L, -1, &n);
    if (luaL_loadbufferx(L, ret, n, "=eval", "t") != LUA_OK)
    {
        lua_pop(L, 2); // the message and the "return" source
        if (luaL_loadbufferx(L, r->code, r->code_len, "=eval", "t") != LUA_OK)
            return lua_error(L);
    }
    else
        lua_remove(L, -2);
    lua_pushvalue(L, 1);
    lua_setupvalue(L, -2, 1); // _ENV
    int base = lua_gettop(L) - 1;
    lua_call(L, 0, LUA_MULTRET);
    int nres = lua_gettop(L) - base;

    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_Integer lines = (lua_Integer)lua_rawlen(L, 2);
    for (lua_Integer i = 1; i <= lines; i++)
    {
        lua_rawgeti(L, 2, i);
        luaL_addvalue(&b);
    }
    lua_getfield(L, 2, "bytes");
    bool cut = lua_tointeger(L, -1) >= MAX_OUTPUT_BYTES - 4096;
    lua_pop(L, 1);
    for (int i = 1; i <= nres; i++)
    {
        int idx = base + i;
        if (i > 1)
            luaL_addchar(&b, '\t');
        if (lua_type(L, idx) == LUA_TSTRING)
            lua_pushvalue(L, idx); // raw, as the REPL prints a top-level string
        else if (r->render != NULL)
            r->render(L, idx);
        else
            luaL_tolstring(L, idx, NULL);
        luaL_addvalue(&b);
    }
    if (cut)
        luaL_addstring(&b, "\n... (output cut at 1 MiB)");
    luaL_pushresult(&b);
    return 1;
}

// Inside the protected call: (req, session) --> nothing; the script's M.status(session) read into
// req->info (every field optional; metamethods may run, so this stays inside the protected call).
static int status_trampoline(lua_State* L)
{
    sh_control_req* r = lua_touserdata(L, 1);
    sh_session* s = lua_touserdata(L, 2);
    sh_session_info* info = &r->info;
    lua_settop(L, 0);
    sh_session_push_script(s);
    if (lua_getfield(L, 1, "status") != LUA_TFUNCTION)
        return 0;
    lua_pushvalue(L, 2);
    lua_call(L, 1, 1);
    if (!lua_istable(L, -1))
        return 0;
    if (lua_getfield(L, -1, "state") == LUA_TSTRING)
        snprintf(info->state, sizeof info->state, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    int isnum = 0;
    lua_getfield(L, -1, "bodies");
    lua_Integer bodies = lua_tointegerx(L, -1, &isnum);
    info->bodies = isnum && bodies >= 0 && bodies <= INT32_MAX ? (int)bodies : -1;
    lua_getfield(L, -2, "frame");
    lua_Integer frame = lua_tointegerx(L, -1, &isnum);
    info->frame = isnum && frame >= 0 ? (long)frame : -1;
    lua_getfield(L, -3, "rtf");
    lua_Number rtf = lua_tonumberx(L, -1, &isnum);
    info->rtf = isnum && isfinite(rtf) && rtf >= 0 ? rtf : -1;
    return 0;
}

// Inside the protected call: (req, session) --> M.control(session, {type=..., frames=...}), which returns
// nil or an error line.
static int control_trampoline(lua_State* L)
{
    sh_control_req* r = lua_touserdata(L, 1);
    sh_session* s = lua_touserdata(L, 2);
    lua_settop(L, 0);
    sh_session_push_script(s);
    if (lua_getfield(L, 1, "control") != LUA_TFUNCTION)
        return luaL_error(L, "the session script has no control hook (M.control)");
    lua_pushvalue(L, 2);
    lua_createtable(L, 0, 2);
    lua_pushstring(L, r->kind == SH_CONTROL_PAUSE    ? "pause"
                      : r->kind == SH_CONTROL_RESUME ? "resume"
                                                     : "step");
    lua_setfield(L, -2, "type");
    if (r->kind == SH_CONTROL_STEP)
    {
        lua_pushinteger(L, r->frames);
        lua_setfield(L, -2, "frames");
    }
    lua_call(L, 2, 1);
    return 1;
}

// Runs fn(req, s) protected, under the session's CPU and memory limits. On success leaves its one result
// on the stack; on failure writes why into the request. Unlike a script callback, a failed request does not
// end the session: the error unwound cleanly, so the state is whole and the limits are re-armed for the
// script's next callback.
static bool run_protected(sh_session* s, sh_control_req* r, lua_CFunction fn)
{
    lua_State* L = s->L;
    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, r);
    lua_pushlightuserdata(L, s);
    sh_call_end end = sh_session_call(s, 2, 1);
    lua_sethook(L, NULL, 0, 0); // the budget's stop hook must not outlive this call
    s->budget.cpu_exceeded = s->budget.mem_exceeded = false;
    if (atomic_load(&s->abort))
        set_textf(r, "session %u was closed while the request ran", s->id);
    else if (end == SH_CALL_CPU)
        set_textf(r, "stopped: over the session's CPU limit (%d ms)", s->server->cfg.lua_cpu_ms);
    else if (end == SH_CALL_MEMORY)
        set_textf(r, "stopped: over the session's memory limit");
    else if (end == SH_CALL_ERROR)
    {
        // Only a real string: converting a number here, outside a protected call, could allocate.
        size_t n;
        if (lua_type(L, -1) == LUA_TSTRING)
        {
            const char* msg = lua_tolstring(L, -1, &n);
            set_text(r, msg, n);
        }
        else
            set_textf(r, "error object is a %s value", luaL_typename(L, -1));
    }
    else
        return true;
    lua_pop(L, 1);
    return false;
}

static void copy_field(char* dst, size_t size, const char* src)
{
    snprintf(dst, size, "%s", src);
}

// The status of the session now, from the script's M.status.
static void read_status(sh_session* s, sh_control_req* r)
{
    sh_session_info* info = &r->info;
    info->id = s->id;
    copy_field(info->peer, sizeof info->peer, s->peer);
    copy_field(info->state, sizeof info->state, "open");
    info->bodies = -1;
    info->frame = -1;
    info->rtf = -1;
    char* saved = r->text; // a failing status hook is logged, it is not the request's answer
    size_t saved_len = r->text_len;
    r->text = NULL;
    if (run_protected(s, r, status_trampoline))
        lua_pop(s->L, 1);
    else
        sh_log("session %u: status hook failed: %s", s->id, r->text != NULL ? r->text : "?");
    if (r->text != NULL)
        sh_free(r->text, r->text_len + 1);
    r->text = saved;
    r->text_len = saved_len;
}

// Between evals print() is the stock one again (eval_print looks for this registry slot). Protected:
// setting a registry field may allocate.
static int clear_capture(lua_State* L)
{
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, out_key);
    return 0;
}

static void run_request(sh_session* s, sh_control_req* r)
{
    lua_State* L = s->L;
    if (s->ended || L == NULL)
    {
        set_textf(r, "session %u has ended", s->id);
        req_finish(r, false);
        return;
    }
    bool ok = true;
    switch (r->kind)
    {
        case SH_CONTROL_EVAL:
            ok = run_protected(s, r, eval_trampoline);
            if (ok)
            {
                size_t n;
                const char* text = lua_tolstring(L, -1, &n);
                set_text(r, text, n);
                lua_pop(L, 1);
            }
            lua_pushcfunction(L, clear_capture);
            if (lua_pcall(L, 0, 0, 0) != LUA_OK)
                lua_pop(L, 1);
            break;
        case SH_CONTROL_PAUSE:
        case SH_CONTROL_RESUME:
        case SH_CONTROL_STEP:
            ok = run_protected(s, r, control_trampoline);
            if (ok)
            {
                // The hook returns nil or the line a WebSocket client would get as an `error`.
                if (lua_type(L, -1) == LUA_TSTRING)
                {
                    size_t n;
                    const char* msg = lua_tolstring(L, -1, &n);
                    set_text(r, msg, n);
                    ok = false;
                }
                lua_pop(L, 1);
            }
            if (!s->ended)
                read_status(s, r);
            else
                copy_field(r->info.state, sizeof r->info.state, "closed"); // the step reached the end
            break;
        case SH_CONTROL_KILL:
            sh_log("session %u killed from the REPL: %s", s->id, r->reason);
            sh_session_fail(s, r->reason);
            set_textf(r, "session %u killed", s->id);
            break;
        case SH_CONTROL_STATUS:
        default:
            read_status(s, r);
            break;
    }
    if (r->info.id == 0)
    {
        r->info.id = s->id;
        copy_field(r->info.peer, sizeof r->info.peer, s->peer);
    }
    if (ok && r->text == NULL)
        set_text(r, "", 0);
    req_finish(r, ok);
}

void sh_session_control_run(sh_session* s)
{
    while (!s->ended && !atomic_load(&s->abort))
    {
        pthread_mutex_lock(&s->lock);
        sh_control_req* r = s->ctl_head;
        if (r != NULL)
        {
            s->ctl_head = r->next;
            if (s->ctl_head == NULL)
                s->ctl_tail = NULL;
            s->ctl_count--;
        }
        pthread_mutex_unlock(&s->lock);
        if (r == NULL)
            break;
        run_request(s, r);
    }
}

void sh_session_control_close(sh_session* s)
{
    pthread_mutex_lock(&s->lock);
    s->ctl_closed = true;
    sh_control_req* r = s->ctl_head;
    s->ctl_head = s->ctl_tail = NULL;
    s->ctl_count = 0;
    pthread_mutex_unlock(&s->lock);
    while (r != NULL)
    {
        sh_control_req* next = r->next;
        set_textf(r, "session %u ended before the request ran", s->id);
        req_finish(r, false);
        r = next;
    }
}

// ---------------------------------------------------------------------------------------------
// Caller side

static double default_timeout(const sh_server* server)
{
    return 10.0 + 2.0 * server->cfg.lua_cpu_ms / 1000.0;
}

// Queues r on s and wakes the actor. false (r untouched, both references still the caller's) when the
// session has ended or has too many requests waiting.
static bool post(sh_session* s, sh_control_req* r, char* why, size_t why_size)
{
    pthread_mutex_lock(&s->lock);
    bool closed = s->ctl_closed || s->client_gone || s->close_requested;
    bool full = s->ctl_count >= MAX_PENDING;
    if (!closed && !full)
    {
        r->next = NULL;
        if (s->ctl_tail == NULL)
            s->ctl_head = r;
        else
            s->ctl_tail->next = r;
        s->ctl_tail = r;
        s->ctl_count++;
    }
    pthread_mutex_unlock(&s->lock);
    if (closed)
        snprintf(why, why_size, "session %u has ended", s->id);
    else if (full)
        snprintf(why, why_size, "session %u has %d requests waiting already", s->id, MAX_PENDING);
    else
        sh_workers_wake(s->server->workers, &s->actor);
    return !closed && !full;
}

// Waits until the actor answered r or `deadline` (sh_now clock) passed, or the host is stopping: a REPL
// waiting on a session must not hold up the shutdown (which ends that session only after the REPLs).
static bool wait_done(sh_server* server, sh_control_req* r, double deadline)
{
    pthread_mutex_lock(&r->lock);
    while (!r->done && !atomic_load(&server->stop))
    {
        double now = sh_now();
        if (now >= deadline)
            break;
        sh_cond_wait_until(&r->cond, &r->lock, now + 0.1 < deadline ? now + 0.1 : deadline);
    }
    bool done = r->done;
    pthread_mutex_unlock(&r->lock);
    return done;
}

static void reply_error(sh_control_reply* reply, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply_error(sh_control_reply* reply, const char* fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    size_t len = format_line(line, sizeof line, fmt, ap);
    va_end(ap);
    reply->ok = false;
    reply->text = copy_text(line, len, &reply->len);
}

bool sh_server_control(sh_server* server, unsigned id, const sh_control* req, sh_control_reply* reply)
{
    memset(reply, 0, sizeof *reply);
    if (req->kind < SH_CONTROL_STATUS || req->kind > SH_CONTROL_KILL)
    {
        reply_error(reply, "unknown request");
        return false;
    }
    if (req->kind == SH_CONTROL_EVAL && (req->code == NULL || req->code_len > MAX_CODE_BYTES))
    {
        reply_error(reply, "eval: code must be a string of at most %d bytes", MAX_CODE_BYTES);
        return false;
    }
    sh_actor* a = sh_workers_find(server->workers, id);
    if (a == NULL)
    {
        reply_error(reply, "no live session %u (host.sessions() lists them)", id);
        return false;
    }
    sh_session* s = sh_session_of(a);
    sh_control_req* r = req_new(req);
    if (r == NULL)
    {
        sh_session_unref(s);
        reply_error(reply, "out of memory");
        return false;
    }
    char why[128];
    bool posted = post(s, r, why, sizeof why);
    sh_session_unref(s); // the request does not need the session: the actor answers or closes it
    if (!posted)
    {
        req_unref(r);
        req_unref(r);
        reply_error(reply, "%s", why);
        return false;
    }
    double timeout = req->timeout_s > 0 ? req->timeout_s : default_timeout(server);
    if (!wait_done(server, r, sh_now() + timeout))
    {
        req_unref(r);
        if (atomic_load(&server->stop))
            reply_error(reply, "the host is stopping");
        else
            reply_error(reply, "session %u did not answer within %g s (a long callback?); it may still run",
                        id, timeout);
        return false;
    }
    reply->ok = r->ok;
    reply->text = r->text;
    reply->len = r->text_len;
    reply->info = r->info;
    r->text = NULL;
    req_unref(r);
    if (reply->text == NULL)
    {
        reply_error(reply, "out of memory");
        return false;
    }
    return reply->ok;
}

void sh_control_reply_free(sh_control_reply* reply)
{
    if (reply->text != NULL)
        sh_free(reply->text, reply->len + 1);
    reply->text = NULL;
    reply->len = 0;
}

static int by_id(const void* a, const void* b)
{
    unsigned x = ((const sh_session_info*)a)->id, y = ((const sh_session_info*)b)->id;
    return x < y ? -1 : x > y;
}

bool sh_server_sessions(sh_server* server, sh_session_info** out, int* count)
{
    *out = NULL;
    *count = 0;
    int n = 0;
    sh_actor** actors = sh_workers_actors(server->workers, &n);
    if (n == 0)
        return true;
    // One status request to every session at once, then one wait: the listing takes as long as the
    // slowest actor, not the sum of them.
    sh_control_req** reqs = sh_alloc_zeroed((size_t)n * sizeof *reqs);
    sh_session_info* infos = sh_alloc_zeroed((size_t)n * sizeof *infos);
    bool ok = reqs != NULL && infos != NULL;
    sh_control status = {.kind = SH_CONTROL_STATUS};
    for (int i = 0; ok && i < n; i++)
    {
        reqs[i] = req_new(&status);
        char why[128];
        if (reqs[i] != NULL && !post(sh_session_of(actors[i]), reqs[i], why, sizeof why))
        {
            req_unref(reqs[i]); // ended meanwhile: not listed
            req_unref(reqs[i]);
            reqs[i] = NULL;
        }
    }
    double deadline = sh_now() + default_timeout(server);
    int k = 0;
    for (int i = 0; ok && i < n; i++)
    {
        sh_control_req* r = reqs[i];
        if (r == NULL)
            continue;
        if (wait_done(server, r, deadline))
        {
            if (r->ok)
                infos[k++] = r->info;
        }
        else
        {
            // The actor is inside a long callback; list it with what is known without it.
            sh_session_info* info = &infos[k++];
            const sh_session* s = sh_session_of(actors[i]);
            info->id = s->id;
            copy_field(info->peer, sizeof info->peer, s->peer);
            copy_field(info->state, sizeof info->state, "busy");
            info->bodies = -1;
            info->frame = -1;
            info->rtf = -1;
        }
    }
    for (int i = 0; i < n; i++)
    {
        if (reqs != NULL && reqs[i] != NULL)
            req_unref(reqs[i]);
        sh_session_unref(sh_session_of(actors[i]));
    }
    if (reqs != NULL)
        sh_free(reqs, (size_t)n * sizeof *reqs);
    sh_free(actors, (size_t)n * sizeof *actors);
    if (!ok)
    {
        if (infos != NULL)
            sh_free(infos, (size_t)n * sizeof *infos);
        return false;
    }
    qsort(infos, (size_t)k, sizeof *infos, by_id);
    // Handed out at its exact size, so sh_sessions_free knows what to give back.
    sh_session_info* exact = k > 0 ? sh_alloc((size_t)k * sizeof *exact) : NULL;
    if (exact != NULL)
        memcpy(exact, infos, (size_t)k * sizeof *exact);
    sh_free(infos, (size_t)n * sizeof *infos);
    if (k > 0 && exact == NULL)
        return false;
    *out = exact;
    *count = k;
    return true;
}

void sh_sessions_free(sh_session_info* infos, int count)
{
    if (infos != NULL)
        sh_free(infos, (size_t)count * sizeof *infos);
}
