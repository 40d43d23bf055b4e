// The host's serving state (net.h sh_server_state): drain (SIGUSR1, host.drain()) and shutdown
// (SIGTERM). Both are requested from a signal handler, so the request itself is an atomic store and a
// wake-up of the service loop; the loop does the rest between lws_service calls.
//
// Shutdown tells each running session "host shutting down" through its actor (the REPL's kill,
// session_control.c), which runs on another thread because sh_server_control blocks: the stopper below.
#include "net_internal.h"

enum
{
    // How long a stopping host waits for its sessions' goodbyes to be written and their connections
    // closed before it closes what is left. A reading client gets its last frames and the error in
    // milliseconds; one that has not read them in 2 s is not reading (up to 64 frames queued, the
    // outbox), and a shutdown must stay well inside the 5 s that init systems and the tests give it.
    STOP_GRACE_MS = 2000,
    // The kill is posted to each actor and waited for this long only: one inside a long callback
    // answers later (its request outlives the wait, session_control.c), so 30 sessions cost no more
    // than the slowest one, not the sum.
    KILL_WAIT_MS = 20,
    POLL_MS = 20,
};

static const char shutdown_reason[] = "host shutting down";

// Moves the state forward only: a drain never undoes a shutdown.
static void advance(sh_server* server, sh_server_state to)
{
    int cur = atomic_load(&server->state);
    while (cur < (int)to && !atomic_compare_exchange_weak(&server->state, &cur, (int)to))
    {
    }
    // lws_cancel_service only write()s to the context's event pipe: safe from a signal handler.
    if (server->ctx != NULL)
        lws_cancel_service(server->ctx);
}

void sh_server_drain(sh_server* server)
{
    advance(server, SH_SERVER_DRAINING);
}

void sh_server_shutdown(sh_server* server)
{
    advance(server, SH_SERVER_STOPPING);
}

sh_server_state sh_server_get_state(const sh_server* server)
{
    return (sh_server_state)atomic_load(&server->state);
}

const char* sh_server_state_name(sh_server_state state)
{
    switch (state)
    {
        case SH_SERVER_DRAINING:
            return "draining";
        case SH_SERVER_STOPPING:
            return "stopping";
        case SH_SERVER_SERVING:
        default:
            return "ok";
    }
}

static void kill_all(sh_server* server)
{
    int n = 0;
    sh_actor** sessions = sh_workers_actors(server->workers, &n);
    for (int i = 0; i < n; i++)
    {
        unsigned id = sessions[i]->id;
        sh_session_unref(sh_session_of(sessions[i]));
        sh_control req = {
            .kind = SH_CONTROL_KILL, .reason = shutdown_reason, .timeout_s = KILL_WAIT_MS / 1000.0};
        sh_control_reply reply = {0};
        sh_server_control(server, id, &req, &reply); // "no live session": it ended meanwhile
        sh_control_reply_free(&reply);
    }
    if (sessions != NULL)
        sh_free(sessions, (size_t)n * sizeof *sessions);
}

static void* stopper(void* arg)
{
    sh_server* server = arg;
    kill_all(server);
    double deadline = sh_now() + STOP_GRACE_MS / 1000.0;
    while (atomic_load(&server->session_count) > 0 && !atomic_load(&server->stop) && sh_now() < deadline)
        sh_sleep(POLL_MS / 1000.0);
    if (atomic_load(&server->session_count) > 0)
        sh_log("shutdown: %d sessions still open after %d ms; closing them",
               atomic_load(&server->session_count), STOP_GRACE_MS);
    sh_server_request_stop(server);
    return NULL;
}

bool sh_drain_service(sh_server* server)
{
    sh_server_state state = sh_server_get_state(server);
    if (state == SH_SERVER_STOPPING && !server->stopper_started)
    {
        sh_log("shutting down: %d sessions told \"%s\"", atomic_load(&server->session_count),
               shutdown_reason);
        server->stopper_started = pthread_create(&server->stopper, NULL, stopper, server) == 0;
        if (!server->stopper_started)
            return true; // no thread for the goodbyes: close the connections now
    }
    if (state == SH_SERVER_DRAINING && !server->drain_logged)
    {
        server->drain_logged = true;
        sh_log("draining: %d sessions running, new ones refused", atomic_load(&server->session_count));
    }
    return state == SH_SERVER_DRAINING && server->cfg.exit_when_drained &&
           atomic_load(&server->session_count) == 0;
}

void sh_drain_join(sh_server* server)
{
    if (server->stopper_started)
        pthread_join(server->stopper, NULL);
    server->stopper_started = false;
}

int sh_ws_refuse_upgrade(struct lws* wsi, sh_server* server)
{
    sh_server_state state = sh_server_get_state(server);
    if (state == SH_SERVER_SERVING)
        return 0;
    const char* why = state == SH_SERVER_DRAINING ? "host draining" : "host shutting down";
    sh_log("WebSocket upgrade refused: %s", why);
    lws_return_http_status(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, why);
    return 1;
}
