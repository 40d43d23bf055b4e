// simhost serve — the live host (core/net): HTTP API, static web files, WebSocket sessions.
#include "cli.h"
#include "repl.h"
#include "repl_host.h"
#include "repl_server.h"

#include "simhost/lua.h"
#include "simhost/server.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char serve_usage[] =
    "usage: simhost serve [options]\n"
    "  --host ADDR              listen address (default 127.0.0.1)\n"
    "  --port N                 TCP port (default 8080)\n"
    "  --assets FILE            asset DB (default: the default asset DB)\n"
    "  --scripts DIR            session.lua, lib/, scenarios/ (default: the bundled scripts)\n"
    "  --web DIR                static files of the live view (default: the bundled web/)\n"
    "  --max-sessions N         concurrent WebSocket sessions (default 64)\n"
    "  --workers N              session worker threads (default: one per core)\n"
    "  --max-message-bytes N    largest client message (default 1048576)\n"
    "  --max-objects N          objects per configure (default 10000)\n"
    "  --max-duration S         longest run in seconds (default 3600)\n"
    "  --idle-timeout S         close a connection that has not started a run after S seconds\n"
    "                           (default 60; 0 = never)\n"
    "  --lua-memory-mb N        memory of each session's Lua state (default 64)\n"
    "  --lua-cpu-ms N           CPU of each Lua callback (default 1000)\n"
    "  --outbox-frames N        frames queued per slow client before the oldest is dropped (default 64)\n"
    "  --outbox-mb N            ... or megabytes of them (default 16)\n"
    "  --agent-port N           answer HAProxy's agent check on this TCP port: \"up ready N%\" (free\n"
    "                           share of --max-sessions), \"drain\" or \"maint\" (docs/deploy.md)\n"
    "  --exit-when-drained      once drained (SIGUSR1 or host.drain()), exit 0 when the last session ends\n"
    "  --recordings DIR         recordings directory (default: recordings/ beside the asset DB)\n"
    "  --record-all             record every run (else only those whose start says \"record\": true)\n"
    "  --max-recordings-mb N    remove the oldest finished recordings past N MB (default: no cap)\n"
    "  --snapshot-every K       recordings store the whole world state every K frames (resume starts\n"
    "                           there; a start's \"snapshots\" overrides it; default: none)\n"
    "  --allow-delete           allow DELETE /api/v1/simulations/{id}\n"
    "  --repl                   a Lua prompt on this terminal while serving; end of input stops the host\n"
    "  --repl-socket PATH       serve a REPL on a Unix socket for `simhost attach PATH`\n"
    "Both REPLs have a global `host`: host.stats(), host.config, host.assets (the shared asset DB),\n"
    "host.drain(), host.sessions() and host.session(id) with :eval(code), :pause(), :resume(), :step(n),\n"
    ":kill(reason).\n"
    "Signals: SIGUSR1 drains (running sessions go on, new ones get 503); SIGTERM or SIGINT stops taking\n"
    "sessions, tells each running one \"host shutting down\", and exits 0 when they have closed; a second\n"
    "SIGTERM or SIGINT closes them at once.\n";

static sh_server* running; // for the signal handler only

static void on_signal(int sig)
{
    if (running == NULL)
        return;
    if (sig == SIGUSR1)
        sh_server_drain(running);
    else if (sh_server_get_state(running) == SH_SERVER_STOPPING)
        sh_server_request_stop(running); // the second: do not wait for the goodbyes
    else
        sh_server_shutdown(running);
}

// A REPL state (socket client or terminal): the libraries, the module, and the global `host`.
static bool repl_setup(lua_State* L, void* user, sh_error* err)
{
    // The same `host` table for the terminal and every socket client (repl_host.c).
    return sh_repl_open_libs(L, err) && sh_repl_set_host(L, user, err);
}

static void* service_thread(void* arg)
{
    sh_server_run(arg);
    return NULL;
}

static int usage_error(const char* fmt, const char* a, const char* b)
{
    fputs("simhost serve: ", stderr);
    fprintf(stderr, fmt, a, b);
    fputs(" (see simhost serve --help)\n", stderr);
    return SH_EXIT_USAGE;
}

int sh_cmd_serve(int argc, char** argv)
{
    sh_server_config cfg = sh_server_config_default();
    const char* repl_socket = NULL;
    bool repl_here = false;
    cfg.assets_path = sh_default_assets_db();
    cfg.scripts_dir = sh_default_scripts_dir();
    cfg.web_dir = sh_default_web_dir();
    for (int i = 0; i < argc; i++)
    {
        const char* a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
        {
            fputs(serve_usage, stdout);
            return SH_EXIT_OK;
        }
        if (strncmp(a, "--", 2) != 0)
            return usage_error("unexpected argument '%s'%s", a, "");
        if (strcmp(a, "--repl") == 0)
        {
            repl_here = true;
            continue;
        }
        if (strcmp(a, "--exit-when-drained") == 0)
        {
            cfg.exit_when_drained = true;
            continue;
        }
        if (strcmp(a, "--record-all") == 0 || strcmp(a, "--allow-delete") == 0)
        {
            *(a[2] == 'r' ? &cfg.record_all : &cfg.allow_delete) = true;
            continue;
        }
        if (i + 1 >= argc)
            return usage_error("%s needs a value%s", a, "");
        const char* v = argv[++i];
        int n;
        double d;
        sh_error bad;
        if (strcmp(a, "--host") == 0)
            cfg.host = v;
        else if (strcmp(a, "--port") == 0)
        {
            if (!sh_cli_int(a, v, 1, 65535, &n, &bad))
                return usage_error("%s%s", bad.message, "");
            cfg.port = n;
        }
        else if (strcmp(a, "--assets") == 0)
            cfg.assets_path = v;
        else if (strcmp(a, "--scripts") == 0)
            cfg.scripts_dir = v;
        else if (strcmp(a, "--web") == 0)
            cfg.web_dir = v;
        else if (strcmp(a, "--max-sessions") == 0)
        {
            if (!sh_cli_int(a, v, 1, 100000, &n, &bad))
                return usage_error("%s%s", bad.message, "");
            cfg.max_sessions = n;
        }
        else if (strcmp(a, "--workers") == 0)
        {
            if (!sh_cli_int(a, v, 1, 256, &n, &bad))
                return usage_error("%s%s", bad.message, "");
            cfg.workers = n;
        }
        else if (strcmp(a, "--max-message-bytes") == 0)
        {
            if (!sh_cli_int(a, v, 64, 1 << 30, &n, &bad))
                return usage_error("%s%s", bad.message, "");
            cfg.max_message_bytes = (size_t)n;
        }
        else if (strcmp(a, "--max-objects") == 0)
        {
            if (!sh_cli_int(a, v, 1, 10000000, &n, &bad))
                return usage_error("%s%s", bad.message, "");
            cfg.max_objects = n;
        }
        else if (strcmp(a, "--max-duration") == 0)
        {
            if (!sh_cli_number(a, v, 0, 1e7, false, &d, &bad))
                return usage_error("%s%s", bad.message, "");
            cfg.max_duration_s = d;
        }
        else if (strcmp(a, "--idle-timeout") == 0)
        {
            if (!sh_cli_number(a, v, 0, 1e7, false, &d, &bad))
                return usage_error("%s%s", bad.message, "");
            cfg.idle_timeout_s = d;
        }
        else if (strcmp(a, "--lua-memory-mb") == 0)
        {
            if (!sh_cli_int(a, v, 1, 65536, &n, &bad))
                return usage_error("%s%s", bad.message, "");
            cfg.lua_memory_bytes = (size_t)n << 20;
        }
        else if (strcmp(a, "--lua-cpu-ms") == 0)
        {
            if (!sh_cli_int(a, v, 1, 3600000, &n, &bad))
                return usage_error("%s%s", bad.message, "");
            cfg.lua_cpu_ms = n;
        }
        else if (strcmp(a, "--outbox-frames") == 0)
        {
            if (!sh_cli_int(a, v, 1, 100000, &n, &bad))
                return usage_error("%s%s", bad.message, "");
            cfg.outbox_frames = n;
        }
        else if (strcmp(a, "--agent-port") == 0)
        {
            if (!sh_cli_int(a, v, 1, 65535, &n, &bad))
                return usage_error("%s%s", bad.message, "");
            cfg.agent_port = n;
        }
        else if (strcmp(a, "--recordings") == 0)
            cfg.recordings_dir = v;
        else if (strcmp(a, "--snapshot-every") == 0)
        {
            if (!sh_cli_int(a, v, 1, 1 << 30, &n, &bad))
                return usage_error("%s%s", bad.message, "");
            cfg.snapshot_every = n;
        }
        else if (strcmp(a, "--max-recordings-mb") == 0)
        {
            if (!sh_cli_number(a, v, 0, 1e9, false, &d, &bad))
                return usage_error("%s%s", bad.message, "");
            cfg.max_recordings_mb = d;
        }
        else if (strcmp(a, "--repl-socket") == 0)
            repl_socket = v;
        else if (strcmp(a, "--outbox-mb") == 0)
        {
            if (!sh_cli_int(a, v, 1, 65536, &n, &bad))
                return usage_error("%s%s", bad.message, "");
            cfg.outbox_bytes = (size_t)n << 20;
        }
        else
            return usage_error("unknown option '%s'%s", a, "");
    }

    sh_error err = {{0}};
    sh_server* server = NULL;
    if (!sh_server_create(&cfg, &server, &err))
    {
        fprintf(stderr, "simhost serve: %s\n", err.message);
        return SH_EXIT_FAIL;
    }
    sh_repl_server* repl_server = NULL;
    if (repl_socket != NULL &&
        (repl_server = sh_repl_server_start(repl_socket, repl_setup, server, &err)) == NULL)
    {
        fprintf(stderr, "simhost serve: %s\n", err.message);
        sh_server_destroy(server);
        return SH_EXIT_FAIL;
    }
    running = server;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); // no SA_RESTART: poll() returns EINTR and the loop sees the flag
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "simhost: serving http://%s:%d/live (assets %s, scripts %s)\n", cfg.host,
            sh_server_port(server), cfg.assets_path, cfg.scripts_dir);
    if (cfg.agent_port > 0)
        fprintf(stderr, "simhost: agent check on %s:%d\n", cfg.host, cfg.agent_port);
    if (repl_socket != NULL)
        fprintf(stderr, "simhost: REPL on %s (simhost attach %s)\n", repl_socket, repl_socket);
    int status = SH_EXIT_OK;
    if (repl_here)
    {
        // The prompt owns this thread (readline, its own SIGINT handling); the service loop moves to
        // another. End of input stops the host; SIGTERM stops serving (the prompt ends at its next EOF).
        pthread_t tid;
        if (pthread_create(&tid, NULL, service_thread, server) != 0)
        {
            fputs("simhost serve: cannot start the service thread\n", stderr);
            status = SH_EXIT_FAIL;
        }
        else
        {
            lua_State* L = luaL_newstate();
            sh_error rerr = {{0}};
            if (L == NULL || !repl_setup(L, server, &rerr))
                fprintf(stderr, "simhost serve: REPL: %s\n", L == NULL ? "out of memory" : rerr.message);
            else
                status = sh_repl_run_stdio(L, NULL);
            if (L != NULL)
                lua_close(L);
            sh_server_request_stop(server);
            pthread_join(tid, NULL);
        }
    }
    else
        sh_server_run(server);
    fputs("simhost: shutting down\n", stderr);
    sh_repl_server_stop(repl_server);
    running = NULL;
    sh_server_destroy(server);
    return status;
}
