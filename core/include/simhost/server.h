#pragma once
// The live host as the program sees it: start, run and stop the server (HTTP + WebSocket, session
// actors on a worker pool, bounded outboxes), read its counters, and control live sessions from the
// REPL. Threads and data flow: docs/modules.md; wire protocol: docs/protocol.md; the API session
// scripts see: docs/session-api.md. What the net layer calls in the Lua module is in lua.h.

#include "simhost/base.h"
#include "simhost/json_buf.h"

// ---------------------------------------------------------------------------------------------
// Server

typedef struct sh_server_config
{
    const char* host;         // listen address (IPv4 literal or interface), default "127.0.0.1"
    int port;                 // default 8080
    const char* assets_path;  // the asset DB file
    const char* scripts_dir;  // holds session.lua, lib/, scenarios/
    const char* web_dir;      // static files; nothing outside it is served
    int max_sessions;         // concurrent WebSocket sessions; the next gets "server busy" (default 64)
    int workers;              // session worker threads; 0 = one per core
    size_t max_message_bytes; // a client message, gathered over fragments (default 1 MiB)
    int max_objects;          // objects per configure (default 10000), told to scripts
    double max_duration_s;    // run length cap (default 3600), told to scripts
    double idle_timeout_s;    // a connection that has not started a run for this long is closed
                              // (default 60; 0 = never), told to scripts
    size_t lua_memory_bytes;  // per session Lua state (default 64 MiB)
    int lua_cpu_ms;           // CPU per Lua callback (default 1000)
    int outbox_frames;        // droppable frames queued per session before the oldest is dropped (64)
    size_t outbox_bytes;      // ... or before their bytes pass this (16 MiB): 64 frames of 2000 bodies
                              // with contacts would be ~60 MB
    int agent_port;           // HAProxy agent check on this TCP port (docs/deploy.md); 0 = none
    bool exit_when_drained;   // once draining, sh_server_run returns when the last session ends

    // Recordings (docs/recordings.md).
    const char* recordings_dir; // NULL: recordings/ beside the asset DB
    bool record_all;            // record every run, not only those whose start says "record": true
    bool allow_delete;          // DELETE /api/v1/simulations/{id} is allowed
    double max_recordings_mb;   // retention cap of the directory (0: none)
    int snapshot_every;         // recordings store a world snapshot every K frames (0: none)
} sh_server_config;

sh_server_config sh_server_config_default(void);

typedef struct sh_server sh_server;

// Opens the asset DB, resolves the web root, binds the port. Fails with one line in err
// (e.g. "cannot listen on 127.0.0.1:8080: Address already in use").
bool sh_server_create(const sh_server_config* config, sh_server** out, sh_error* err);
// Runs the service loop on the calling thread until sh_server_request_stop().
void sh_server_run(sh_server* server);
// Async-signal-safe: asks the service loop to return.
void sh_server_request_stop(sh_server* server);
// Closes every connection, ends every session, joins the workers, frees everything.
void sh_server_destroy(sh_server* server);
// The port actually bound.
int sh_server_port(const sh_server* server);
// The configuration in force (strings owned by the server).
const sh_server_config* sh_server_get_config(const sh_server* server);

// What the host does with new sessions (drain.c; docs/deploy.md). It only moves forward.
typedef enum sh_server_state
{
    SH_SERVER_SERVING = 0,  // takes new sessions
    SH_SERVER_DRAINING = 1, // running sessions go on, new ones are refused with 503 before the upgrade
    SH_SERVER_STOPPING = 2, // running sessions are told "host shutting down" and end; then the loop returns
} sh_server_state;

// Async-signal-safe, any thread: stop taking sessions, keep the running ones (SIGUSR1, host.drain()).
// With exit_when_drained, sh_server_run returns once none is left.
void sh_server_drain(sh_server* server);
// Async-signal-safe, any thread: stop taking sessions, end each running one with the error
// "host shutting down", and return from sh_server_run when all have ended (bounded: see drain.c).
void sh_server_shutdown(sh_server* server);
sh_server_state sh_server_get_state(const sh_server* server);
// "ok", "draining", "stopping": the health check's `status`.
const char* sh_server_state_name(sh_server_state state);

// Counters a REPL or a health probe reads; any thread.
typedef struct sh_server_stats
{
    sh_server_state state;
    int max_sessions;
    int sessions;            // WebSocket sessions open now
    uint64_t sessions_total; // accepted since start
    uint64_t refused_busy;   // refused with "server busy"
    double uptime_s;
    int64_t alloc_bytes; // the core's counted allocations (sh_alloc_bytes)
} sh_server_stats;
void sh_server_get_stats(const sh_server* server, sh_server_stats* out);
// The shared read-only asset DB (thread-safe reads), owned by the server.
typedef struct sh_asset_db sh_asset_db;
sh_asset_db* sh_server_assets(const sh_server* server);

// ---------------------------------------------------------------------------------------------
// Control of live sessions from another thread (the REPL's `host` table, docs/repl.md). A request
// is posted to the session's actor like a client message and runs there, between its callbacks,
// in its own Lua state; the caller blocks until the actor answers or the timeout passes. So the
// REPL never touches a session's Lua state or world itself (docs/modules.md: one thread at a time).

struct lua_State;

typedef enum sh_control_kind
{
    SH_CONTROL_STATUS = 0, // read the status only
    SH_CONTROL_EVAL,       // run `code` in the session's state; the reply is what it printed and returned
    SH_CONTROL_PAUSE,      // the script's own pause/resume/step handling (session.lua M.control)
    SH_CONTROL_RESUME,
    SH_CONTROL_STEP, // `frames` frames, only while paused
    SH_CONTROL_KILL, // the client gets {"type":"error","message":reason}, then the session ends
} sh_control_kind;

typedef struct sh_control
{
    sh_control_kind kind;
    const char* code; // EVAL: Lua source (an expression or statements), code_len bytes
    size_t code_len;
    long frames;        // STEP
    const char* reason; // KILL: one line for the client
    // EVAL: pushes the text of the value at idx (the REPL's printer); runs on the actor, inside a
    // protected call, in the session's state. NULL: tostring.
    void (*render)(struct lua_State* L, int idx);
    double timeout_s; // how long the caller waits; <= 0: 10 s plus twice the Lua CPU limit
} sh_control;

// A session as the script reports it (session.lua M.status). Numbers are -1 where they do not apply
// yet (no world, not started).
typedef struct sh_session_info
{
    unsigned id;
    char peer[64];  // the client's address, "ip:port"
    char state[24]; // "new", "configured", "streaming", "paused", "closed", or "busy" (no answer in time)
    int bodies;
    long frame; // id of the last frame sent
    double rtf; // simulated seconds per wall-clock second while streaming (pauses excluded)
} sh_session_info;

typedef struct sh_control_reply
{
    bool ok;
    char* text; // EVAL: output; on failure: why (always set, NUL-terminated; free with sh_control_reply_free)
    size_t len;
    sh_session_info info; // the status after the request (STATUS, PAUSE, RESUME, STEP)
} sh_control_reply;

// Any thread but the service thread and the workers: runs req on session id's actor and waits.
// false with reply->text saying why: no such session, it ended meanwhile, no answer in time, or the
// script's own error (an eval's runtime error, "'step' is only allowed while paused").
bool sh_server_control(sh_server* server, unsigned id, const sh_control* req, sh_control_reply* reply);
void sh_control_reply_free(sh_control_reply* reply);
// Any thread: the status of every live session, by id. *out is an array of *count (free with
// sh_sessions_free). false only when out of memory.
bool sh_server_sessions(sh_server* server, sh_session_info** out, int* count);
void sh_sessions_free(sh_session_info* infos, int count);

// ---------------------------------------------------------------------------------------------
// The replay API's frame shape, for `simhost recordings export` too (replay_routes.c).
// One SHF1 frame as the old service's FrameData JSON, appended to b; keep(ud, body_id) (NULL: all)
// picks the states written. false with err when the frame does not decode.
bool sh_replay_frame_json(sh_buf* b, const uint8_t* bytes, size_t len,
                          bool (*keep)(void* ud, uint32_t body_id), void* ud, sh_error* err);
