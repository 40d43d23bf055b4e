// The server: one lws context and vhost, the service loop (the one lws service thread), the worker
// pool, and the protocol callback that splits HTTP from WebSocket events.
#include "net_internal.h"
#include "replay_cache.h"

#include "simhost/assets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

sh_server_config sh_server_config_default(void)
{
    return (sh_server_config){
        .host = "127.0.0.1",
        .port = 8080,
        .max_sessions = 64,
        .workers = 0,
        .max_message_bytes = 1u << 20,
        .max_objects = 10000,
        .max_duration_s = 3600.0,
        .idle_timeout_s = 60.0,
        .lua_memory_bytes = (size_t)64 << 20,
        .lua_cpu_ms = 1000,
        .outbox_frames = 64,
        .outbox_bytes = (size_t)16 << 20,
    };
}

static char* dup_string(const char* s)
{
    size_t n = strlen(s) + 1;
    char* d = sh_alloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

static void free_string(char* s)
{
    if (s != NULL)
        sh_free(s, strlen(s) + 1);
}

// One protocol serves both HTTP and WebSocket: a browser's `new WebSocket(url)` names no
// subprotocol, and lws binds such an upgrade to the vhost's first protocol.
static int callback(struct lws* wsi, enum lws_callback_reasons reason, void* user, void* in, size_t len)
{
    sh_conn* c = user;
    switch (reason)
    {
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
            sh_server* server = lws_context_user(lws_get_context(wsi));
            if (server != NULL)
            {
                // Cleared before the scan: a message queued after this point pokes again.
                atomic_store(&server->poke_pending, false);
                sh_ws_poke_all(server);
                sh_http_poke_all(server);
            }
            return 0;
        }
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        case LWS_CALLBACK_ESTABLISHED:
        case LWS_CALLBACK_RECEIVE:
        case LWS_CALLBACK_SERVER_WRITEABLE:
        case LWS_CALLBACK_CLOSED:
            return sh_ws_callback(wsi, reason, c, in, len);
        default:
            return sh_http_callback(wsi, reason, c, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {.name = "simhost",
     .callback = callback,
     .per_session_data_size = sizeof(sh_conn),
     .rx_buffer_size = 65536},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_log_line(int level, const char* line)
{
    (void)level;
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    sh_log("lws: %.*s", (int)n, line);
}

// Resolves host to a numeric IPv4 address and checks the port can be bound, so a port in use is
// reported as one clear line with the system's reason (lws only logs "ERROR on binding").
static bool probe_listen(const char* host, int port, char* numeric, size_t numeric_size, sh_error* err)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo* res = NULL;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || res == NULL)
        return sh_error_set(err, "cannot resolve host '%s': %s", host, gai_strerror(rc));
    struct sockaddr_in addr = *(struct sockaddr_in*)res->ai_addr;
    freeaddrinfo(res);
    addr.sin_port = htons((uint16_t)port);
    inet_ntop(AF_INET, &addr.sin_addr, numeric, (socklen_t)numeric_size);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sh_error_set(err, "cannot create a socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); // as lws does for its listener
    bool ok = bind(fd, (struct sockaddr*)&addr, sizeof addr) == 0 && listen(fd, 1) == 0;
    int e = errno;
    close(fd);
    if (!ok)
        return sh_error_set(err, "cannot listen on %s:%d: %s", numeric, port, strerror(e));
    return true;
}

static bool build_assets_json(sh_server* server, sh_error* err)
{
    if (!sh_assets_open(server->assets_path, false, &server->db, err))
        return false;
    sh_asset_db* db = server->db;
    sh_buf b = {0};
    sh_buf_puts(&b, "[");
    int n = sh_assets_count(db);
    for (int i = 0; i < n; i++)
    {
        const sh_asset_info* a = sh_assets_info_at(db, i);
        if (i > 0)
            sh_buf_puts(&b, ",");
        sh_buf_printf(&b, "{\"asset_id\":%d,\"name\":", a->asset_id);
        sh_buf_json_string(&b, a->name);
        sh_buf_puts(&b, ",\"category\":");
        sh_buf_json_string(&b, a->category);
        sh_buf_printf(&b, ",\"vertex_count\":%d,\"bounds\":{\"min\":{\"x\":", a->vertex_count);
        sh_buf_json_number(&b, a->bounds_min[0]);
        sh_buf_puts(&b, ",\"y\":");
        sh_buf_json_number(&b, a->bounds_min[1]);
        sh_buf_puts(&b, ",\"z\":");
        sh_buf_json_number(&b, a->bounds_min[2]);
        sh_buf_puts(&b, "},\"max\":{\"x\":");
        sh_buf_json_number(&b, a->bounds_max[0]);
        sh_buf_puts(&b, ",\"y\":");
        sh_buf_json_number(&b, a->bounds_max[1]);
        sh_buf_puts(&b, ",\"z\":");
        sh_buf_json_number(&b, a->bounds_max[2]);
        sh_buf_puts(&b, "}}}");
    }
    sh_buf_puts(&b, "]");
    if (b.failed)
    {
        sh_buf_free(&b);
        return sh_error_set(err, "out of memory listing the assets");
    }
    server->assets_json = b.data;
    server->assets_json_len = b.len;
    server->assets_json_cap = b.cap;
    return true;
}

bool sh_server_create(const sh_server_config* config, sh_server** out, sh_error* err)
{
    *out = NULL;
    if (config->port < 1 || config->port > 65535)
        return sh_error_set(err, "port must be an integer in 1 … 65535, got %d", config->port);
    if (config->agent_port < 0 || config->agent_port > 65535 || config->agent_port == config->port)
        return sh_error_set(err, "agent port must be an integer in 1 … 65535 and not the HTTP port, got %d",
                            config->agent_port);
    sh_server* server = sh_alloc_zeroed(sizeof *server);
    if (server == NULL)
        return sh_error_set(err, "out of memory");
    server->cfg = *config;
    server->host = dup_string(config->host);
    server->assets_path = dup_string(config->assets_path);
    server->scripts_dir = dup_string(config->scripts_dir);
    server->started = sh_now();
    atomic_init(&server->stop, false);
    atomic_init(&server->next_id, 1);
    atomic_init(&server->session_count, 0);
    atomic_init(&server->sessions_total, 0);
    atomic_init(&server->refused_busy, 0);
    atomic_init(&server->state, SH_SERVER_SERVING);
    pthread_mutex_init(&server->ctx_lock, NULL);
    if (server->host == NULL || server->assets_path == NULL || server->scripts_dir == NULL)
    {
        sh_error_set(err, "out of memory");
        goto fail;
    }
    server->cfg.host = server->host;
    server->cfg.assets_path = server->assets_path;
    server->cfg.scripts_dir = server->scripts_dir;
    server->cfg.web_dir = NULL;

    char resolved[PATH_MAX];
    if (realpath(config->scripts_dir, resolved) == NULL)
    {
        sh_error_set(err, "scripts directory %s: %s", config->scripts_dir, strerror(errno));
        goto fail;
    }
    free_string(server->scripts_dir);
    server->scripts_dir = dup_string(resolved);
    server->cfg.scripts_dir = server->scripts_dir;
    if (server->scripts_dir == NULL)
    {
        sh_error_set(err, "out of memory");
        goto fail;
    }
    if (!build_assets_json(server, err) || !sh_replay_setup(server, err))
        goto fail;

    char numeric[64];
    if (!probe_listen(config->host, config->port, numeric, sizeof numeric, err))
        goto fail;

    // A missing web dir is not fatal: the API and the sessions work without the page.
    if (realpath(config->web_dir, resolved) == NULL)
        sh_log("web directory %s: %s; no static files are served", config->web_dir, strerror(errno));
    else if ((server->web_root = dup_string(resolved)) == NULL)
    {
        sh_error_set(err, "out of memory");
        goto fail;
    }
    if (!sh_workers_create(config->workers, &server->workers, err))
        goto fail;

    lws_set_log_level(LLL_ERR, lws_log_line);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = config->port;
    info.iface = numeric;
    info.protocols = protocols;
    info.user = server;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    info.count_threads = 1;
    server->ctx = lws_create_context(&info);
    if (server->ctx == NULL)
    {
        sh_error_set(err, "cannot listen on %s:%d", numeric, config->port);
        goto fail;
    }
    struct lws_vhost* vh = lws_get_vhost_by_name(server->ctx, "default");
    server->bound_port = vh != NULL ? lws_get_vhost_listen_port(vh) : config->port;
    if (config->agent_port > 0 && !sh_agent_start(server, numeric, config->agent_port, &server->agent, err))
        goto fail;
    *out = server;
    return true;
fail:
    sh_server_destroy(server);
    return false;
}

int sh_server_port(const sh_server* server)
{
    return server->bound_port;
}

const sh_server_config* sh_server_get_config(const sh_server* server)
{
    return &server->cfg;
}

sh_asset_db* sh_server_assets(const sh_server* server)
{
    return server->db;
}

void sh_server_get_stats(const sh_server* server, sh_server_stats* out)
{
    out->state = sh_server_get_state(server);
    out->max_sessions = server->cfg.max_sessions;
    out->sessions = atomic_load(&server->session_count);
    out->sessions_total = atomic_load(&server->sessions_total);
    out->refused_busy = atomic_load(&server->refused_busy);
    out->uptime_s = sh_now() - server->started;
    out->alloc_bytes = sh_alloc_bytes();
}

void sh_server_run(sh_server* server)
{
    while (!atomic_load(&server->stop))
    {
        if (lws_service(server->ctx, 0) < 0 || sh_drain_service(server))
            break;
    }
}

void sh_server_request_stop(sh_server* server)
{
    atomic_store(&server->stop, true);
    // lws_cancel_service only write()s to the context's event pipe: safe from a signal handler.
    if (server->ctx != NULL)
        lws_cancel_service(server->ctx);
}

// One wake-up serves every message queued before the service thread clears poke_pending (it clears
// the flag, then scans every outbox), so a burst of sends costs one eventfd write and one poll return
// instead of one each: with 30 sessions at 60 frames/s those were 8 % of the host's CPU (perf, issue 18).
void sh_server_poke(sh_server* server)
{
    if (atomic_exchange(&server->poke_pending, true))
        return;
    pthread_mutex_lock(&server->ctx_lock);
    if (server->ctx != NULL)
        lws_cancel_service(server->ctx);
    else
        atomic_store(&server->poke_pending, false);
    pthread_mutex_unlock(&server->ctx_lock);
}

void sh_server_destroy(sh_server* server)
{
    if (server == NULL)
        return;
    sh_agent_stop(server->agent);
    atomic_store(&server->stop, true); // a stopper still waiting for sessions gives up
    sh_drain_join(server);
    if (server->ctx != NULL)
    {
        // Workers poke the context under ctx_lock; after this they find NULL and skip the poke.
        struct lws_context* ctx = server->ctx;
        pthread_mutex_lock(&server->ctx_lock);
        server->ctx = NULL;
        pthread_mutex_unlock(&server->ctx_lock);
        // Closes every connection: each WebSocket's CLOSED tells its session the client is gone.
        lws_context_destroy(ctx);
    }
    if (server->workers != NULL)
        sh_workers_destroy(server->workers); // waits for every session and job to end
    sh_http_shutdown(server);
    sh_assets_close(server->db); // after the workers: no session reads it any more
    free_string(server->host);
    free_string(server->assets_path);
    free_string(server->scripts_dir);
    sh_replay_cache_destroy(server->replay_cache); // after the workers: no request holds a reader
    free_string(server->recordings_dir);
    free_string(server->web_root);
    if (server->assets_json != NULL)
        sh_free(server->assets_json, server->assets_json_cap);
    pthread_mutex_destroy(&server->ctx_lock);
    sh_free(server, sizeof *server);
}
