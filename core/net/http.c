// HTTP on the service thread: the JSON API, the redirect, and the static files of web/.
// Nothing outside the web root is ever served: the decoded path must be clean, and the file's
// realpath (symlinks resolved) must still lie under the web root's realpath.
#include "net_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// A response computed on a worker (the scenario list runs Lua, which never runs on this thread).
typedef struct sh_http_job
{
    sh_server* server;
    struct sh_http_job* next; // server->jobs; service thread only
    sh_conn* conn;            // NULL once the client left; service thread only
    atomic_bool done;         // set by the worker after `body` and `status` are final
    int status;
    const char* type; // NULL: application/json
    sh_buf body;
    sh_http_work_fn work; // NULL: the scenario list
    void* arg;
} sh_http_job;

static const char* mime_type(const char* path)
{
    static const struct
    {
        const char* ext;
        const char* type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
        {".wasm", "application/wasm"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
    };
    const char* dot = strrchr(path, '.');
    if (dot != NULL && strchr(dot, '/') == NULL)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

// The headers of a response whose body is `len` bytes. 405 names the methods we do answer (RFC 9110
// requires Allow there), so a client learns HEAD works too.
static int write_headers(struct lws* wsi, int status, const char* type, size_t len, const char* cache)
{
    unsigned char buf[LWS_PRE + 1024];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, (unsigned int)status, type, (lws_filepos_t)len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char*)"cache-control:", (const unsigned char*)cache,
                                    (int)strlen(cache), &p, end) ||
        (status == 405 && lws_add_http_header_by_name(wsi, (const unsigned char*)"allow:",
                                                      (const unsigned char*)"GET, HEAD", 9, &p, end)) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    return 0;
}

// Starts a response: headers now, the body from HTTP_WRITEABLE (none for HEAD). Takes a copy of body:
// handing a worker's buffer over instead measured slower (server CPU per 5.7 MB frames.bin, side by side:
// 42 -> 64 ms), though it spared the service thread the copy.
static int respond(struct lws* wsi, sh_conn* c, int status, const char* type, const char* body, size_t len)
{
    if (c->head)
    {
        if (write_headers(wsi, status, type, len, "no-store") < 0)
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    c->body = sh_alloc(len + 1);
    if (c->body == NULL)
        return -1;
    memcpy(c->body, body, len);
    c->body_len = len;
    c->body_pos = 0;
    if (write_headers(wsi, status, type, len, "no-store") < 0)
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int respond_json(struct lws* wsi, sh_conn* c, int status, const char* json)
{
    return respond(wsi, c, status, "application/json", json, strlen(json));
}

int sh_http_error(struct lws* wsi, sh_conn* c, int status, const char* message)
{
    sh_buf b = {0};
    sh_buf_puts(&b, "{\"error\":");
    sh_buf_json_string(&b, message);
    sh_buf_puts(&b, "}");
    int rc = b.failed ? -1 : respond(wsi, c, status, "application/json", b.data, b.len);
    sh_buf_free(&b);
    return rc;
}

// A body goes out in writes of up to 256 kB, each one turn of the service loop: in 16 kB ones a 34 MB
// frames.bin took 2100 turns. After the first write they go straight from the body, whose bytes before
// the pointer (the LWS_PRE that lws_write may use) are already sent; the first goes through a copy.
#define BODY_CHUNK (256 * 1024)

static int write_body(struct lws* wsi, sh_conn* c)
{
    if (c->body == NULL)
        return 0;
    unsigned char first[LWS_PRE + 16384];
    size_t n = c->body_len - c->body_pos;
    unsigned char* from = (unsigned char*)c->body + c->body_pos;
    if (c->body_pos < LWS_PRE)
    {
        if (n > sizeof first - LWS_PRE)
            n = sizeof first - LWS_PRE;
        memcpy(first + LWS_PRE, from, n);
        from = first + LWS_PRE;
    }
    else if (n > BODY_CHUNK)
        n = BODY_CHUNK;
    c->body_pos += n;
    bool last = c->body_pos == c->body_len;
    if (lws_write(wsi, from, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return -1;
    if (!last)
    {
        lws_callback_on_writable(wsi);
        return 0;
    }
    sh_free(c->body, c->body_len + 1);
    c->body = NULL;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int serve_static(struct lws* wsi, sh_conn* c, sh_server* server, const char* path)
{
    if (server->web_root == NULL)
        return sh_http_error(wsi, c, 404, "not found");
    char joined[PATH_MAX], resolved[PATH_MAX];
    int n = snprintf(joined, sizeof joined, "%s%s", server->web_root, path);
    if (n < 0 || (size_t)n >= sizeof joined || realpath(joined, resolved) == NULL)
        return sh_http_error(wsi, c, 404, "not found");
    size_t root_len = strlen(server->web_root);
    struct stat st;
    if (strncmp(resolved, server->web_root, root_len) != 0 || resolved[root_len] != '/' ||
        stat(resolved, &st) != 0 || !S_ISREG(st.st_mode))
        return sh_http_error(wsi, c, 404, "not found");
    if (c->head)
    {
        if (write_headers(wsi, 200, mime_type(resolved), (size_t)st.st_size, "no-store") < 0)
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    int rc = lws_serve_http_file(wsi, resolved, mime_type(resolved), NULL, 0);
    if (rc < 0)
        return -1;
    if (rc > 0 && lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

static void run_scenarios_job(void* arg)
{
    sh_http_job* job = arg;
    if (job->work != NULL)
        job->status = job->work(job->arg, &job->type, &job->body);
    else
        job->status = sh_scenarios_json(job->server, &job->body);
    atomic_store(&job->done, true);
    sh_server_poke(job->server);
}

int sh_http_defer(struct lws* wsi, sh_conn* c, sh_server* server, sh_http_work_fn work, void* arg)
{
    sh_http_job* job = sh_alloc_zeroed(sizeof *job);
    if (job == NULL)
    {
        if (work != NULL)
            work(arg, NULL, NULL); // frees arg
        return sh_http_error(wsi, c, 500, "out of memory");
    }
    job->work = work;
    job->arg = arg;
    job->server = server;
    job->conn = c;
    atomic_init(&job->done, false);
    if (!sh_workers_submit(server->workers, run_scenarios_job, job))
    {
        if (work != NULL)
            work(arg, NULL, NULL);
        sh_free(job, sizeof *job);
        return sh_http_error(wsi, c, 503, "shutting down");
    }
    job->next = server->jobs;
    server->jobs = job;
    c->job = job;
    return 0;
}

static int handle_request(struct lws* wsi, sh_conn* c, const char* uri, size_t len)
{
    sh_server* server = lws_context_user(lws_get_context(wsi));
    c->wsi = wsi;
    c->head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
    bool is_delete = lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI) > 0;
    sh_route r = sh_http_route(lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0, c->head, uri, len);
    // Not the health check: HAProxy asks every check interval (200 ms in the tests), and the log is for
    // what clients do. The replay routes log their own lines.
    if (r.kind != SH_ROUTE_BAD_METHOD && r.kind != SH_ROUTE_BAD_PATH && r.kind != SH_ROUTE_HEALTH &&
        r.kind != SH_ROUTE_REPLAY)
        sh_log("%s %s", c->head ? "HEAD" : "GET", uri);
    switch (r.kind)
    {
        case SH_ROUTE_BAD_PATH:
            return sh_http_error(wsi, c, 400, "bad path");
        case SH_ROUTE_REPLAY:
            return sh_replay_route(wsi, c, server, uri, is_delete);
        case SH_ROUTE_BAD_METHOD:
            return sh_http_error(wsi, c, 405, "only GET and HEAD are supported");
        case SH_ROUTE_HEALTH: {
            char json[256];
            int status = sh_health_json(server, json, sizeof json);
            return respond_json(wsi, c, status, json);
        }
        case SH_ROUTE_ASSETS:
            return respond(wsi, c, 200, "application/json", server->assets_json, server->assets_json_len);
        case SH_ROUTE_SCENARIOS:
            return sh_http_defer(wsi, c, server, NULL, NULL);
        case SH_ROUTE_NOT_FOUND:
            return sh_http_error(wsi, c, 404, "not found");
        case SH_ROUTE_STATIC:
            return serve_static(wsi, c, server, r.path);
    }
    return sh_http_error(wsi, c, 404, "not found");
}

int sh_http_callback(struct lws* wsi, enum lws_callback_reasons reason, sh_conn* c, void* in, size_t len)
{
    switch (reason)
    {
        case LWS_CALLBACK_HTTP:
            return handle_request(wsi, c, in, len);
        case LWS_CALLBACK_HTTP_WRITEABLE:
            return write_body(wsi, c);
        // A request body (a POST we refuse with 405) is read and dropped; lws holds our answer's body
        // back until it has all come in, so ask to write again once it has.
        case LWS_CALLBACK_HTTP_BODY:
            return 0;
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
            if (c != NULL && c->body != NULL)
                lws_callback_on_writable(wsi);
            return 0;
        case LWS_CALLBACK_HTTP_FILE_COMPLETION:
            return lws_http_transaction_completed(wsi) ? -1 : 0;
        case LWS_CALLBACK_CLOSED_HTTP:
        case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
            if (c != NULL)
            {
                if (c->body != NULL)
                    sh_free(c->body, c->body_len + 1);
                c->body = NULL;
                if (c->job != NULL)
                    c->job->conn = NULL;
                c->job = NULL;
            }
            break;
        default:
            break;
    }
    return lws_callback_http_dummy(wsi, reason, c, in, len);
}

static void free_job(sh_http_job* job)
{
    sh_buf_free(&job->body);
    sh_free(job, sizeof *job);
}

void sh_http_poke_all(sh_server* server)
{
    sh_http_job** link = &server->jobs;
    while (*link != NULL)
    {
        sh_http_job* job = *link;
        if (!atomic_load(&job->done))
        {
            link = &job->next;
            continue;
        }
        *link = job->next;
        sh_conn* c = job->conn;
        if (c != NULL)
        {
            c->job = NULL;
            int rc = job->body.failed
                         ? sh_http_error(c->wsi, c, 500, "out of memory")
                         : respond(c->wsi, c, job->status, job->type ? job->type : "application/json",
                                   job->body.data ? job->body.data : "", job->body.len);
            if (rc < 0)
                lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_ACK, LWS_TO_KILL_ASYNC);
        }
        free_job(job);
    }
}

void sh_http_shutdown(sh_server* server)
{
    // Called after the workers have finished: every job is done and no connection is left.
    while (server->jobs != NULL)
    {
        sh_http_job* job = server->jobs;
        server->jobs = job->next;
        free_job(job);
    }
}
