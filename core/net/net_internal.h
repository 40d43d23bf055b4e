#pragma once
// Private to core/net: the server, connections, session actors, outboxes and the worker pool.
// Each struct says which thread may touch which fields.

#include "simhost/assets.h"
#include "simhost/json_buf.h"
#include "simhost/lua.h"
#include "simhost/server.h"

#include <libwebsockets.h>
#include <lua.h>
#include <pthread.h>
#include <stdatomic.h>

// ---------------------------------------------------------------------------------------------
// http_route.c — which answer a request gets, from its method and decoded path alone.
typedef enum sh_route_kind
{
    SH_ROUTE_BAD_PATH,   // 400: a NUL inside the path
    SH_ROUTE_REPLAY,     // /api/v1/simulations[/...], any method: replay_routes.c answers
    SH_ROUTE_BAD_METHOD, // 405: only GET and HEAD
    SH_ROUTE_HEALTH,
    SH_ROUTE_ASSETS,
    SH_ROUTE_SCENARIOS,
    SH_ROUTE_NOT_FOUND, // 404: an unknown /api path, or a path that cannot name a file under the web root
    SH_ROUTE_STATIC,    // a file: `path` (starts with '/', no "." or ".." segment, no '\\' or control byte)
} sh_route_kind;

typedef struct sh_route
{
    sh_route_kind kind;
    const char* path; // SH_ROUTE_STATIC only: uri itself or a constant
} sh_route;

// uri: the decoded path, len bytes (lws counts them; a shorter strlen means an embedded NUL).
sh_route sh_http_route(bool get, bool head, const char* uri, size_t len);

// ---------------------------------------------------------------------------------------------
// log.c — one line per event on stderr.
void sh_log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// ---------------------------------------------------------------------------------------------
// outbox.c — a message queued between threads. `data` has LWS_PRE bytes of headroom before the
// payload so the service thread hands it to lws_write without copying.
typedef struct sh_msg
{
    struct sh_msg* next;
    bool droppable;
    bool binary;          // a binary WebSocket message (an SHF1 frame); text otherwise
    size_t len;           // payload bytes
    unsigned char data[]; // LWS_PRE bytes of headroom, then the payload
} sh_msg;

sh_msg* sh_msg_new(size_t len); // payload uninitialised; NULL on out of memory
sh_msg* sh_msg_from(const char* s, size_t len);
static inline unsigned char* sh_msg_payload(sh_msg* m)
{
    return m->data + LWS_PRE;
}
void sh_msg_free(sh_msg* m);

// FIFO with a bound on droppable messages: pushing one past `frame_cap` drops the oldest
// undelivered droppable one. Control messages are never dropped. Not locked: the owner locks.
typedef struct sh_outbox
{
    sh_msg *head, *tail;
    int frames; // droppable messages queued
    int frame_cap;
    size_t byte_cap;    // payload bytes of queued frames (control messages do not count against it)
    uint64_t dropped;   // droppable messages dropped so far
    size_t bytes;       // payload bytes queued
    size_t frame_bytes; // payload bytes of queued droppable messages
} sh_outbox;

void sh_outbox_push(sh_outbox* o, sh_msg* m);
sh_msg* sh_outbox_pop(sh_outbox* o);
void sh_outbox_clear(sh_outbox* o);

// ---------------------------------------------------------------------------------------------
// workers.c — the pool of threads that runs actors (workers.h); a session is one.
#include "workers.h"

// ---------------------------------------------------------------------------------------------
// session.c — one WebSocket connection's actor. Shared by the service thread (connection side)
// and the worker running it; lifetime by reference count.
// A Lua state's limits: bytes (its lua_Alloc counts and refuses past cap) and CPU per callback
// (its count hook). Only the thread running the state touches it.
typedef struct sh_lua_budget
{
    size_t used, cap;
    bool mem_exceeded, cpu_exceeded;
    double cpu_start;   // thread CPU seconds at the start of the current callback
    double cpu_budget;  // seconds
    atomic_bool* abort; // set by another thread: unwind now (NULL: never)
} sh_lua_budget;

struct sh_session
{
    sh_server* server;
    unsigned id;
    atomic_int refs;

    // Guarded by `lock`: written by both sides.
    pthread_mutex_t lock;
    sh_msg *in_head, *in_tail; // client messages waiting for the actor
    int in_count;
    size_t in_bytes;
    sh_outbox out;        // messages waiting for the service thread
    bool close_requested; // the actor asked to close once `out` is written
    bool client_gone;     // the service thread saw the connection close

    // Read by the Lua hook on the worker, set by the service thread: stop this session's Lua now.
    atomic_bool abort;

    // The session as the worker pool sees it (workers.h): queued when it has work, run on one worker at a
    // time. Its scheduling fields belong to the pool.
    sh_actor actor;

    // Only the worker currently running the actor touches these.
    lua_State* L;
    bool started, ended;
    sh_lua_budget budget;
    // Ticks ahead of their due time (session.c): the script's timer, and what a tick sent before its
    // due time, held until then.
    double tick_at;    // the script's due time (session:schedule), < 0 when disarmed
    double last_due;   // the due time of the last tick run, < 0 before the first
    double hold_until; // when the held messages go to the outbox: their tick's due time
    bool in_tick;      // on_tick is running
    bool close_held;   // the script closed while messages were held: close once they are released
    sh_msg *held_head, *held_tail;
    size_t held_bytes;

    // session_control.c. Guarded by `lock`: requests from another thread (the REPL) waiting for the actor,
    // and ctl_closed once the actor is done with them (later ones fail at once instead of waiting).
    struct sh_control_req *ctl_head, *ctl_tail;
    int ctl_count;
    bool ctl_closed;
    // Written once on the service thread before the session is registered; read-only after.
    char peer[64];
};

sh_session* sh_session_new(sh_server* server, unsigned id);
// The session an actor of the pool belongs to (every actor the net layer registers is a session).
static inline sh_session* sh_session_of(sh_actor* a)
{
    return (sh_session*)(void*)((char*)a - offsetof(sh_session, actor));
}
void sh_session_ref(sh_session* s);
void sh_session_unref(sh_session* s);
// Service thread: a complete client text message (takes ownership of m).
// false when the inbox is over its bound (the client floods faster than the actor runs).
bool sh_session_deliver(sh_session* s, sh_msg* m);
// Service thread: the connection is gone; end the actor as soon as possible.
void sh_session_client_gone(sh_session* s);
// Any thread: queue a message for the client and poke the service thread.
bool sh_session_send(sh_session* s, const char* data, size_t len, sh_send_kind kind);
void sh_session_request_close(sh_session* s);
// Worker: the scenario list as JSON (runs the scripts in a fresh Lua state); returns the HTTP status.
int sh_scenarios_json(sh_server* server, sh_buf* out);
// Service thread, before the session is registered: records the client's address ("ip:port").
void sh_session_set_peer(sh_session* s, struct lws* wsi);

// How a call into a session's Lua state ended. Several limits at once: closed, then memory, then CPU.
typedef enum sh_call_end
{
    SH_CALL_OK = 0,
    SH_CALL_CLOSED, // the service thread set `abort` (the client left): the hook unwound the call
    SH_CALL_MEMORY, // over the state's memory cap
    SH_CALL_CPU,    // over the CPU budget of one callback
    SH_CALL_ERROR,  // the script raised; the error object is on top of the stack
} sh_call_end;

// For session_control.c, on the worker running the session:
// calls the function below the nargs arguments on top of s->L's stack, protected, under the session's
// memory cap and a fresh CPU budget, the way every script callback is called;
sh_call_end sh_session_call(sh_session* s, int nargs, int nresults);
// pushes the script's module table and its `session` object;
void sh_session_push_script(sh_session* s);
// sends the client {"type":"error","message":message} and ends the session.
void sh_session_fail(sh_session* s, const char* message);

// session_control.c — the session's other inbox: requests from the REPL (sh_server_control in
// server.h), queued like client messages and run by the actor before them.
// Worker, from the session's run: runs the queued requests.
void sh_session_control_run(sh_session* s);
// Worker (session finished) or last unref: answers whatever is still queued with "ended", and refuses
// requests from then on.
void sh_session_control_close(sh_session* s);

// ---------------------------------------------------------------------------------------------
struct sh_conn;
// replay_routes.c — recordings over HTTP (docs/recordings.md), computed on a worker.
// Service thread: answers /api/v1/simulations[/...]; returns what the lws callback returns.
int sh_replay_route(struct lws* wsi, struct sh_conn* c, sh_server* server, const char* uri, bool is_delete);
// sh_server_create: the recordings directory (the config's, else recordings/ beside the asset DB),
// created if missing; a directory that cannot be created is logged, not fatal (recordings then fail).
bool sh_replay_setup(sh_server* server, sh_error* err);
// Worker, while a session starts: sets session.recording = {dir, all, max_mb} on the session object on
// top of the stack (docs/recordings.md).
void sh_session_push_recording(lua_State* L, sh_server* server);

// ---------------------------------------------------------------------------------------------
// server.c / http.c / ws_session.c — the service thread.

// Per connection, zeroed by lws. ONLY touched on the lws service thread.
typedef struct sh_conn
{
    struct lws* wsi;
    bool is_ws;
    // WebSocket
    sh_session* session;         // our reference; NULL before ESTABLISHED
    struct sh_conn *next, *prev; // server's list of WebSocket connections
    char* rx;                    // fragments of the message being received
    size_t rx_len, rx_cap;
    bool rx_binary, rx_too_big;
    bool closing;  // a close was decided on the service thread
    bool accepted; // counted in server->session_count (not refused as busy)
    // HTTP
    char* body; // response body being written
    size_t body_len, body_pos;
    struct sh_http_job* job; // a response computed on a worker
    bool head;               // a HEAD request: the GET answer's headers, no body
} sh_conn;

struct sh_server
{
    sh_server_config cfg;
    char* host;
    char* assets_path;
    char* scripts_dir;
    char* recordings_dir; // resolved at create (absolute or as given); owned
    char* web_root;       // realpath of the web dir
    sh_asset_db* db;      // opened once, read-only, lent to every session (reads are thread-safe)
    char* assets_json;
    size_t assets_json_len, assets_json_cap;
    // Recordings kept open between replay requests (replay_cache.h); owned.
    struct sh_replay_cache* replay_cache;
    pthread_mutex_t ctx_lock; // guards ctx against destruction while a worker pokes it
    double started;
    int bound_port;
    struct lws_context* ctx;
    sh_workers* workers;
    atomic_bool stop;
    atomic_bool poke_pending; // a wake-up of the service thread is on its way (sh_server_poke)
    atomic_uint next_id;
    atomic_int state;       // sh_server_state; set from signal handlers, moves forward only
    struct sh_agent* agent; // agent_check.c; NULL without --agent-port
    pthread_t stopper;      // drain.c: tells the sessions goodbye on shutdown
    bool stopper_started;   // service thread, then sh_server_destroy
    bool drain_logged;      // service thread only

    // Service thread only.
    sh_conn* conns;
    atomic_int session_count; // written on the service thread, read anywhere
    atomic_ullong sessions_total, refused_busy;
    struct sh_http_job* jobs; // HTTP responses being computed on workers
};

// A response computed on a worker: work(arg, &type, body) returns the status and fills body (type: its
// content type, a static string; NULL for JSON). Called with type == NULL and body == NULL when the job
// cannot run, so work frees arg either way.
typedef int (*sh_http_work_fn)(void* arg, const char** type, sh_buf* body);
int sh_http_defer(struct lws* wsi, sh_conn* c, sh_server* server, sh_http_work_fn work, void* arg);
// Answers {"error": message} with status now.
int sh_http_error(struct lws* wsi, sh_conn* c, int status, const char* message);
int sh_http_callback(struct lws* wsi, enum lws_callback_reasons reason, sh_conn* c, void* in, size_t len);
int sh_ws_callback(struct lws* wsi, enum lws_callback_reasons reason, sh_conn* c, void* in, size_t len);
// Service thread, on LWS_CALLBACK_EVENT_WAIT_CANCELLED: arm writers with something to write.
void sh_ws_poke_all(sh_server* server);
void sh_http_poke_all(sh_server* server);
void sh_http_shutdown(sh_server* server);
// Any thread: wake the service thread (lws_cancel_service) unless the context is being destroyed.
void sh_server_poke(sh_server* server);

// ---------------------------------------------------------------------------------------------
// drain.c — draining and shutting down (net.h sh_server_drain, sh_server_shutdown).
// Service thread, after each lws_service: acts on a new state; true when the loop should return
// (drained with exit_when_drained, or no thread to stop the sessions with).
bool sh_drain_service(sh_server* server);
// sh_server_destroy, before the context goes: waits for the shutdown's stopper thread.
void sh_drain_join(sh_server* server);

// Service thread, on a WebSocket upgrade: 0 to go on; while draining or stopping, answers 503 (so
// HAProxy's `retry-on 503` sends the client to another host) and returns 1.
int sh_ws_refuse_upgrade(struct lws* wsi, sh_server* server);

// ---------------------------------------------------------------------------------------------
// health.c — GET /api/v1/health: the body into buf, and the status (200 serving, 503 otherwise,
// so HAProxy's `option httpchk` takes a draining or stopping host out).
int sh_health_json(const sh_server* server, char* buf, size_t size);

// ---------------------------------------------------------------------------------------------
// agent_check.c — HAProxy's agent check: a thread answering one line per TCP connection.
typedef struct sh_agent sh_agent;
// The line for a state and load, "up ready 75%\n" ... (docs/deploy.md); returns its length.
int sh_agent_line(sh_server_state state, int sessions, int max_sessions, char* buf, size_t size);
// Binds numeric_host:port and starts the thread; false with err on a port in use.
bool sh_agent_start(sh_server* server, const char* numeric_host, int port, sh_agent** out, sh_error* err);
void sh_agent_stop(sh_agent* agent); // NULL is fine
int sh_agent_port(const sh_agent* agent);
