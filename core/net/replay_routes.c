// The replay API (docs/recordings.md): the old service's /api/v1/simulations routes and JSON shapes over
// the recordings directory, plus frames.bin and DELETE. The service thread only copies the request; the
// reading (SQLite, inflate, JSON) runs on a worker. An id is only ever matched against the directory's
// listing; every bad id, number or range is a 404/400 with {"error": ...} naming what was wrong.
#include "net_internal.h"
#include "replay_cache.h"
#include "replay_query.h"

#include "simhost/recording.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct replay_req
{
    sh_server* server;
    bool is_delete, head;
    char* uri;   // the path
    char* query; // "start=0&count=10", "" when none
} replay_req;

static void req_free(replay_req* q)
{
    if (q->uri)
        sh_free(q->uri, strlen(q->uri) + 1);
    if (q->query)
        sh_free(q->query, strlen(q->query) + 1);
    sh_free(q, sizeof *q);
}

static int fail(sh_buf* body, int status, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(sh_buf* body, int status, const char* fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    body->len = 0;
    sh_buf_puts(body, "{\"error\":");
    sh_buf_json_string(body, msg);
    sh_buf_puts(body, "}");
    return status;
}

// --- JSON pieces -----------------------------------------------------------------------------------------

// The per-body pieces of a frame go through puts and these, not printf: a 1000-body state has ~16 000
// of them, and vsnprintf (called twice per sh_buf_printf) was the largest cost after the floats.
static void put_uint(sh_buf* b, uint32_t v)
{
    char t[10];
    int n = 0;
    do
        t[sizeof t - 1 - n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    sh_buf_append(b, t + sizeof t - n, (size_t)n);
}

static void put_bool(sh_buf* b, bool v)
{
    sh_buf_puts(b, v ? "true" : "false");
}

static void put_xyz(sh_buf* b, const char* key, double x, double y, double z)
{
    sh_buf_puts(b, "\"");
    sh_buf_puts(b, key);
    sh_buf_puts(b, "\":{\"x\":");
    sh_buf_json_number(b, x);
    sh_buf_puts(b, ",\"y\":");
    sh_buf_json_number(b, y);
    sh_buf_puts(b, ",\"z\":");
    sh_buf_json_number(b, z);
    sh_buf_puts(b, "}");
}

// A float32 value of a frame (its shortest text).
static void put_num(sh_buf* b, const char* key, double v)
{
    sh_buf_puts(b, ",\"");
    sh_buf_puts(b, key);
    sh_buf_puts(b, "\":");
    sh_buf_json_number(b, v);
}

// A double (energies, sums, times): every digit it has.
static void put_double(sh_buf* b, const char* key, double v)
{
    sh_buf_printf(b, ",\"%s\":", key);
    sh_buf_json_double(b, v);
}

// The old service's FrameData from one SHF1 frame. Contacts: consecutive points of one body pair form one
// collision; each point's witness points are the midpoint ∓ half the depth along the normal.
bool sh_replay_frame_json(sh_buf* b, const uint8_t* bytes, size_t len,
                          bool (*keep)(void* ud, uint32_t body_id), void* ud, sh_error* err)
{
    sh_frame_view v;
    if (!sh_frame_decode(bytes, len, &v, err))
        return false;
    sh_buf_printf(b, "{\"frame_id\":%u,\"simulation_time\":", v.frame_id);
    sh_buf_json_double(b, v.simulation_time);
    sh_buf_puts(b, ",\"states\":[");
    for (uint32_t i = 0; i < v.body_count; i++)
    {
        sh_frame_body s;
        sh_frame_body_at(&v, i, &s);
        if (keep != NULL && !keep(ud, s.id))
            continue;
        sh_buf_puts(b, b->len > 0 && b->data[b->len - 1] == '[' ? "{\"body_id\":" : ",{\"body_id\":");
        put_uint(b, s.id);
        sh_buf_puts(b, ",");
        put_xyz(b, "position", s.position[0], s.position[1], s.position[2]);
        sh_buf_puts(b, ",");
        put_xyz(b, "velocity", s.velocity[0], s.velocity[1], s.velocity[2]);
        sh_buf_puts(b, ",\"orientation\":{\"w\":");
        sh_buf_json_number(b, s.orientation[3]);
        put_num(b, "x", s.orientation[0]);
        put_num(b, "y", s.orientation[1]);
        put_num(b, "z", s.orientation[2]);
        sh_buf_puts(b, "},");
        put_xyz(b, "angular_velocity", s.angular_velocity[0], s.angular_velocity[1], s.angular_velocity[2]);
        sh_buf_puts(b, ",\"is_environment\":");
        put_bool(b, s.environment);
        sh_buf_puts(b, ",\"sleeping\":");
        put_bool(b, s.sleeping);
        sh_buf_puts(b, "}");
    }
    sh_buf_puts(b, "],\"collisions\":[");
    for (uint32_t i = 0; i < v.contact_count;)
    {
        sh_frame_contact c;
        sh_frame_contact_at(&v, i, &c);
        uint32_t end = i + 1;
        float deepest = c.depth;
        for (; end < v.contact_count; end++)
        {
            sh_frame_contact d;
            sh_frame_contact_at(&v, end, &d);
            if (d.body_a != c.body_a || d.body_b != c.body_b)
                break;
            deepest = d.depth > deepest ? d.depth : deepest;
        }
        sh_buf_puts(b, i ? ",{\"body_a_id\":" : "{\"body_a_id\":");
        put_uint(b, c.body_a);
        sh_buf_puts(b, ",\"body_b_id\":");
        put_uint(b, c.body_b);
        sh_buf_puts(b, ",");
        put_xyz(b, "normal", c.normal[0], c.normal[1], c.normal[2]);
        put_num(b, "penetration_depth", deepest);
        sh_buf_puts(b, ",\"contacts\":[");
        for (uint32_t k = i; k < end; k++)
        {
            sh_frame_contact p;
            sh_frame_contact_at(&v, k, &p);
            double h = 0.5 * p.depth;
            sh_buf_puts(b, k > i ? ",{" : "{");
            put_xyz(b, "point_a", p.point[0] + h * p.normal[0], p.point[1] + h * p.normal[1],
                    p.point[2] + h * p.normal[2]);
            sh_buf_puts(b, ",");
            put_xyz(b, "point_b", p.point[0] - h * p.normal[0], p.point[1] - h * p.normal[1],
                    p.point[2] - h * p.normal[2]);
            put_num(b, "depth", p.depth);
            put_num(b, "normal_impulse", p.normal_impulse);
            put_num(b, "friction_impulse", p.friction_impulse);
            sh_buf_puts(b, "}");
        }
        sh_buf_puts(b, "]}");
        i = end;
    }
    sh_buf_puts(b, "],\"friction_constraints\":[],\"solver\":");
    sh_frame_solver sv;
    if (sh_frame_solver_get(&v, &sv) && sv.constraints > 0)
    {
        sh_buf_printf(b, "{\"iterations\":%u,\"residual\":", sv.iterations);
        sh_buf_json_number(b, sv.residual);
        sh_buf_printf(b, ",\"converged\":%s,\"num_constraints\":%u,\"num_contacts\":%u}",
                      sv.converged ? "true" : "false", sv.constraints, sv.contacts);
    }
    else
        sh_buf_puts(b, "null");
    sh_buf_puts(b, "}");
    return true;
}

static void put_run(sh_buf* b, const sh_rec_run* u)
{
    sh_buf_puts(b, "\"created\":");
    sh_buf_json_string(b, u->created);
    sh_buf_puts(b, ",\"source\":");
    sh_buf_json_string(b, u->source);
    sh_buf_puts(b, ",\"scenario\":");
    if (u->scenario[0])
        sh_buf_json_string(b, u->scenario);
    else
        sh_buf_puts(b, "null");
    sh_buf_printf(b, ",\"complete\":%s,\"finished\":%s,\"reason\":", u->complete ? "true" : "false",
                  u->finished ? "true" : "false");
    if (u->complete)
        sh_buf_puts(b, "null");
    else
        sh_buf_json_string(b, u->reason);
    sh_buf_printf(b, ",\"total_frames\":%lld,\"body_count\":%d,\"timestep\":", (long long)u->frame_count,
                  u->body_count);
    sh_buf_json_double(b, u->timestep);
}

// --- routes -----------------------------------------------------------------------------------------------

static int list_route(replay_req* q, sh_buf* body)
{
    sh_rec_entry* list = NULL;
    int n = 0;
    sh_error err = {{0}};
    if (!sh_rec_list(q->server->recordings_dir, &list, &n, &err))
        return fail(body, 500, "%s", err.message);
    sh_buf_puts(body, "[");
    for (int i = 0; i < n; i++)
    {
        const sh_rec_entry* e = &list[i];
        sh_buf_puts(body, i ? ",{\"id\":" : "{\"id\":");
        sh_buf_json_string(body, e->id);
        sh_buf_puts(body, ",\"name\":");
        sh_buf_json_string(body, e->readable && e->run.scenario[0] ? e->run.scenario : e->id);
        sh_buf_printf(body, ",\"path\":\"%s%s\",\"bytes\":%lld,\"readable\":%s,", e->id, SH_REC_SUFFIX,
                      (long long)e->bytes, e->readable ? "true" : "false");
        if (e->readable)
            put_run(body, &e->run);
        else
        {
            sh_buf_puts(body, "\"error\":");
            sh_buf_json_string(body, e->error);
        }
        sh_buf_puts(body, "}");
    }
    sh_buf_puts(body, "]");
    sh_rec_list_free(list, n);
    return 200;
}

static int metadata_route(sh_rec_reader* r, sh_buf* body)
{
    const sh_rec_run* u = sh_rec_run_info(r);
    sh_buf_puts(body, "{\"bodies\":[");
    for (int i = 0; i < sh_rec_body_count(r); i++)
    {
        const sh_rec_body* x = sh_rec_body_at(r, i);
        sh_buf_printf(body, "%s{\"body_id\":%lld", i ? "," : "", (long long)x->body_id);
        put_num(body, "mass", x->mass);
        put_num(body, "restitution", x->restitution);
        put_num(body, "friction", x->friction);
        sh_buf_printf(body, ",\"asset_id\":%d,\"asset_name\":", x->asset_id);
        sh_buf_json_string(body, x->asset_name);
        sh_buf_printf(body, ",\"is_environment\":%s}", x->environment ? "true" : "false");
    }
    sh_buf_printf(body, "],\"total_frames\":%lld,\"id\":", (long long)u->frame_count);
    sh_buf_json_string(body, u->id);
    sh_buf_puts(body, ",");
    put_run(body, u);
    sh_buf_printf(body, ",\"substeps\":%d,\"gravity\":[", u->substeps);
    for (int k = 0; k < 3; k++)
    {
        if (k)
            sh_buf_puts(body, ",");
        sh_buf_json_number(body, u->gravity[k]);
    }
    sh_buf_puts(body, "],\"simhost_version\":");
    sh_buf_json_string(body, u->version);
    const char* params = sh_rec_text(r, "params");
    sh_buf_puts(body, ",\"params\":");
    sh_buf_puts(body, params[0] ? params : "null");
    sh_buf_puts(body, "}");
    return 200;
}

typedef struct rows_ctx
{
    sh_buf* body;
    int n;
    double e0;
    bool energy;
} rows_ctx;

static bool put_row(void* ud, const sh_rec_frame_row* row)
{
    rows_ctx* c = ud;
    sh_buf* b = c->body;
    sh_buf_printf(b, "%s{\"frame_id\":%lld,\"simulation_time\":", c->n++ ? "," : "",
                  (long long)row->frame_id);
    sh_buf_json_double(b, row->simulation_time);
    if (c->energy)
    {
        double total = row->linear_ke + row->rotational_ke + row->potential_e;
        if (c->n == 1)
            c->e0 = total;
        put_double(b, "total_system_e", total);
        put_double(b, "delta_e", total - c->e0);
        put_double(b, "linear_ke", row->linear_ke);
        put_double(b, "rotational_ke", row->rotational_ke);
        put_double(b, "potential_e", row->potential_e);
    }
    sh_buf_puts(b, "}");
    return !b->failed;
}

static int rows_route(sh_rec_reader* r, sh_buf* body, bool energy)
{
    rows_ctx c = {.body = body, .energy = energy};
    sh_error err = {{0}};
    sh_buf_puts(body, "[");
    if (!sh_rec_rows(r, put_row, &c, &err))
        return fail(body, 500, "%s", err.message);
    sh_buf_puts(body, "]");
    return 200;
}

static int state_route(sh_rec_reader* r, const char* id, int64_t fid, sh_buf* body)
{
    sh_frame_buf frame = {0};
    bool found = false;
    sh_error err = {{0}};
    int status = 200;
    if (!sh_rec_frame(r, fid, &frame, &found, &err))
        status = fail(body, 500, "%s", err.message);
    else if (!found)
        status = fail(body, 404, "recording '%s' has no frame %lld", id, (long long)fid);
    else if (!sh_replay_frame_json(body, frame.data, frame.len, NULL, NULL, &err))
        status = fail(body, 500, "frame %lld: %s", (long long)fid, err.message);
    sh_frame_buf_free(&frame);
    return status;
}

typedef struct range_ctx
{
    sh_buf* body;
    int n;
    bool bin;
    sh_error err;
    bool failed;
} range_ctx;

static bool put_range_frame(void* ud, const sh_rec_frame_row* row, const uint8_t* bytes, size_t len)
{
    (void)row;
    range_ctx* c = ud;
    if (c->bin)
    {
        uint8_t n[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
        sh_buf_append(c->body, (const char*)n, 4);
        sh_buf_append(c->body, (const char*)bytes, len);
    }
    else
    {
        if (c->n)
            sh_buf_puts(c->body, ",");
        if (!sh_replay_frame_json(c->body, bytes, len, NULL, NULL, &c->err))
            c->failed = true;
    }
    c->n++;
    return !c->failed && !c->body->failed;
}

static int range_route(sh_rec_reader* r, const char* id, int64_t start, int64_t count, bool bin, sh_buf* body)
{
    const sh_rec_run* u = sh_rec_run_info(r);
    if (u->frame_count == 0 || start > u->last_frame)
        return fail(body, 404, "recording '%s' has no frame at or after %lld (its last is %lld)", id,
                    (long long)start, (long long)(u->frame_count ? u->last_frame : -1));
    range_ctx c = {.body = body, .bin = bin};
    sh_error err = {{0}};
    if (!bin)
        sh_buf_puts(body, "[");
    if (!sh_rec_frames(r, start, count, put_range_frame, &c, &err))
        return fail(body, 500, "%s", err.message);
    if (c.failed)
        return fail(body, 500, "%s", c.err.message);
    if (!bin)
        sh_buf_puts(body, "]");
    return 200;
}

typedef struct series_ctx
{
    sh_buf* body;
    const sh_rec_body* b;
    double g;
    bool energy;
    int n;
    sh_error err;
    bool failed;
} series_ctx;

static bool put_series(void* ud, const sh_rec_frame_row* row, const uint8_t* bytes, size_t len)
{
    series_ctx* c = ud;
    sh_frame_view v;
    if (!sh_frame_decode(bytes, len, &v, &c->err))
    {
        c->failed = true;
        return false;
    }
    for (uint32_t i = 0; i < v.body_count; i++)
    {
        sh_frame_body s;
        sh_frame_body_at(&v, i, &s);
        if ((int64_t)s.id != c->b->body_id)
            continue;
        sh_buf* b = c->body;
        sh_buf_printf(b, "%s{\"body_id\":%u,\"frame_id\":%lld,\"simulation_time\":", c->n++ ? "," : "", s.id,
                      (long long)row->frame_id);
        sh_buf_json_double(b, row->simulation_time);
        if (c->energy)
        {
            double lin, rot, pe;
            sh_rec_body_energy(c->b, &s, c->g, &lin, &rot, &pe);
            put_double(b, "linear_ke", lin);
            put_double(b, "rotational_ke", rot);
            put_double(b, "potential_e", pe);
            put_double(b, "total_e", lin + rot + pe);
        }
        else
        {
            const float *vv = s.velocity, *w = s.angular_velocity;
            put_num(b, "vx", vv[0]);
            put_num(b, "vy", vv[1]);
            put_num(b, "vz", vv[2]);
            put_num(b, "speed", sqrt((double)vv[0] * vv[0] + (double)vv[1] * vv[1] + (double)vv[2] * vv[2]));
            put_num(b, "omega_x", w[0]);
            put_num(b, "omega_y", w[1]);
            put_num(b, "omega_z", w[2]);
            put_num(b, "omega_magnitude",
                    sqrt((double)w[0] * w[0] + (double)w[1] * w[1] + (double)w[2] * w[2]));
        }
        sh_buf_puts(b, "}");
        break;
    }
    return !c->body->failed;
}

static int series_route(sh_rec_reader* r, const char* id, int64_t bid, bool energy, sh_buf* body)
{
    const sh_rec_body* b = sh_rec_body_find(r, bid);
    if (b == NULL)
        return fail(body, 404, "recording '%s' has no body %lld", id, (long long)bid);
    const sh_rec_run* u = sh_rec_run_info(r);
    series_ctx c = {.body = body, .b = b, .energy = energy};
    c.g = sqrt(u->gravity[0] * u->gravity[0] + u->gravity[1] * u->gravity[1] + u->gravity[2] * u->gravity[2]);
    sh_error err = {{0}};
    sh_buf_puts(body, "[");
    if (!sh_rec_frames(r, 0, INT64_MAX, put_series, &c, &err))
        return fail(body, 500, "%s", err.message);
    if (c.failed)
        return fail(body, 500, "%s", c.err.message);
    sh_buf_puts(body, "]");
    return 200;
}

static int delete_route(replay_req* q, const char* id, const char* path, sh_buf* body)
{
    if (!q->server->cfg.allow_delete)
        return fail(body, 403, "deleting recordings is off (start the host with --allow-delete)");
    sh_rec_reader* r = NULL;
    sh_error err = {{0}};
    if (sh_rec_open(path, &r, &err))
    {
        bool finished = sh_rec_run_info(r)->finished;
        sh_rec_close(r);
        if (!finished)
            return fail(body, 409, "recording '%s' is still being written", id);
    }
    sh_replay_cache_forget(q->server->replay_cache, path); // no kept descriptor outlives the file
    static const char* const tails[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++)
    {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s%s", path, tails[i]);
        if (unlink(p) != 0 && i == 0)
            return fail(body, 500, "cannot delete recording '%s': %s", id, strerror(errno));
    }
    sh_buf_puts(body, "{\"deleted\":");
    sh_buf_json_string(body, id);
    sh_buf_puts(body, "}");
    return 200;
}

// Routes below /{id}, in the order their errors are checked: the id, the method, the file, the numbers.
static int recording_route(replay_req* q, const sh_replay_query* p, const char** type, sh_buf* body)
{
    const char* id = p->id;
    char path[PATH_MAX];
    if (p->id_too_long || !sh_rec_path(q->server->recordings_dir, id, path, sizeof path))
        return fail(body, 404, "no recording '%.128s'", id);
    if (q->is_delete)
        return p->kind == SH_REPLAY_BARE ? delete_route(q, id, path, body)
                                         : fail(body, 405, "DELETE is only for /simulations/{id}");
    if (p->kind == SH_REPLAY_BARE)
        return fail(body, 404, "not found (try /api/v1/simulations/%s/metadata)", id);
    sh_replay_lease lease;
    sh_error err = {{0}};
    if (!sh_replay_cache_take(q->server->replay_cache, path, &lease, &err))
        return fail(body, 404, "recording '%s' is unreadable: %s", id, err.message);
    sh_rec_reader* r = lease.r;
    int status;
    if (p->status != 0)
        status = fail(body, p->status, "%s", p->error);
    else
        switch (p->kind)
        {
            case SH_REPLAY_METADATA:
                status = metadata_route(r, body);
                break;
            case SH_REPLAY_FRAMES:
            case SH_REPLAY_ENERGY:
                status = rows_route(r, body, p->kind == SH_REPLAY_ENERGY);
                break;
            case SH_REPLAY_ASSETS: {
                const char* assets = sh_rec_text(r, "assets");
                sh_buf_puts(body, assets[0] ? assets : "[]");
                status = 200;
                break;
            }
            case SH_REPLAY_RANGE:
            case SH_REPLAY_BIN:
                status = range_route(r, id, p->frame, p->count, p->kind == SH_REPLAY_BIN, body);
                if (status == 200 && p->kind == SH_REPLAY_BIN)
                    *type = "application/octet-stream";
                break;
            case SH_REPLAY_STATE:
                status = state_route(r, id, p->frame, body);
                break;
            case SH_REPLAY_BODY_ENERGY:
            case SH_REPLAY_VELOCITY:
                status = series_route(r, id, p->body, p->kind == SH_REPLAY_BODY_ENERGY, body);
                break;
            default:
                status = fail(body, 404, "not found");
                break;
        }
    sh_replay_cache_give(q->server->replay_cache, path, &lease);
    return status;
}

static int run_request(void* arg, const char** type, sh_buf* body)
{
    replay_req* q = arg;
    if (body == NULL) // the job could not run
    {
        req_free(q);
        return 0;
    }
    sh_replay_query p;
    sh_replay_query_parse(q->uri + strlen("/api/v1/simulations"), q->query, &p);
    int status;
    if (p.kind == SH_REPLAY_LIST)
        status = q->is_delete ? fail(body, 405, "DELETE needs a recording id") : list_route(q, body);
    else if (p.kind == SH_REPLAY_TOO_DEEP)
        status = fail(body, 404, "not found");
    else
        status = recording_route(q, &p, type, body);
    req_free(q);
    return status;
}

static char* copy_query(struct lws* wsi)
{
    sh_buf b = {0};
    char frag[256];
    for (int i = 0; i < 16; i++)
    {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        if (b.len)
            sh_buf_puts(&b, "&");
        sh_buf_append(&b, frag, (size_t)n);
    }
    sh_buf_puts(&b, "");
    char* out = NULL;
    if (!b.failed)
    {
        out = sh_alloc(b.len + 1);
        if (out != NULL)
        {
            memcpy(out, b.data ? b.data : "", b.len);
            out[b.len] = '\0';
        }
    }
    sh_buf_free(&b);
    return out;
}

int sh_replay_route(struct lws* wsi, sh_conn* c, sh_server* server, const char* uri, bool is_delete)
{
    if (!c->head && !is_delete && lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
        return sh_http_error(wsi, c, 405, "only GET, HEAD and DELETE are supported here");
    sh_log("%s %s", is_delete ? "DELETE" : c->head ? "HEAD" : "GET", uri);
    replay_req* q = sh_alloc_zeroed(sizeof *q);
    if (q == NULL)
        return sh_http_error(wsi, c, 500, "out of memory");
    q->server = server;
    q->is_delete = is_delete;
    q->head = c->head;
    size_t n = strlen(uri) + 1;
    q->uri = sh_alloc(n);
    q->query = copy_query(wsi);
    if (q->uri == NULL || q->query == NULL)
    {
        req_free(q);
        return sh_http_error(wsi, c, 500, "out of memory");
    }
    memcpy(q->uri, uri, n);
    return sh_http_defer(wsi, c, server, run_request, q);
}
