// simhost bench-live — K concurrent live sessions of M bodies at 60 Hz against a host (its own,
// spawned on a free loopback port, or --url). Prints per-session frame-interval p50/p99/max as the
// client sees them, frames dropped, the host's CPU, and the JSON frame size and encode time for
// 1000 bodies (measured in-process through the Lua module, as a session does it).
#include "bench_ws.h"
#include "cli.h"

#include "simhost/base.h"
#include "simhost/frame.h"
#include "simhost/lua.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <lualib.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char bench_usage[] =
    "usage: simhost bench-live [--url ws://HOST:PORT/api/v1/live] [--sessions K] [--bodies M] [--seconds S]\n"
    "                          [--timestep-ms T] [--find-max] [--p99-ms B] [--aligned] [--encoding "
    "json|binary]\n"
    "  Runs K sessions of M bodies at once and prints each one's frame-interval p50/p99/max as the\n"
    "  client sees it, frames dropped, and the host's CPU (and its own: the client is a minimal\n"
    "  WebSocket reader that skips frame payloads, so the host is what is measured).\n"
    "  Through HAProxy (docs/haproxy.cfg, simhost cluster) it also prints the sessions per host, from\n"
    "  the X-Simhost-Server header HAProxy adds to each handshake.\n"
    "  Without --url it starts its own host (simhost serve) on a free loopback port.\n"
    "  Session i starts i·(T + T/K) after the first, as independent clients would: their frames due\n"
    "  at phases spread over the period, and their scenes' costly steps (the cubes' first contact) in\n"
    "  different periods; --aligned starts all at once, the worst case.\n"
    "  --find-max  instead finds the most sessions of M bodies the host sustains with every session's\n"
    "              p99 interval under B ms (default 20) and none failing: K doubles from 1 until a\n"
    "              round fails, then bisects up to --sessions (default 64); one line per round.\n"
    "  --encoding  the frames' encoding the sessions ask for (start {\"encoding\"}): json (default) or\n"
    "              binary (SHF1 binary messages, docs/frames.md).\n"
    "  Defaults: 4 sessions of 100 bodies for 5 s at 16 ms steps.\n";

typedef struct bench bench;

typedef struct bench_session
{
    int index;
    bench* bench;
    bench_ws ws;
    int stage;        // 0 connecting, 1 configure sent, 2 start sent, 3 complete, 4 failed/closed
    double start_due; // when the start message goes out (staggered), 0 when none is waiting
    double* stamps;   // arrival time of each frame
    int frames, stamps_cap;
    long total_frames, dropped;
    char error[200];
} bench_session;

struct bench
{
    bench_session* sessions;
    int count, finished;
    int timestep_ms;
    double seconds;
    bool aligned;          // every session starts at once (else session i starts i·(T + T/K) later)
    bool binary;           // the sessions ask for SHF1 frames
    const char* configure; // the configure message every session sends
    size_t configure_len;
};

static void finish(bench* b, bench_session* s, int stage)
{
    if (s->stage < 3)
        b->finished++;
    s->stage = stage;
}

static void on_message(void* user, const char* h, size_t head_len)
{
    bench_session* s = user;
    bench* b = s->bench;
    if (strncmp(h, "{\"type\":\"frame\"", 15) == 0 ||
        (b->binary && head_len >= 4 && memcmp(h, SH_FRAME_MAGIC, 4) == 0))
    {
        if (s->frames == s->stamps_cap)
        {
            int cap = s->stamps_cap ? s->stamps_cap * 2 : 1024;
            double* p = realloc(s->stamps, (size_t)cap * sizeof *p);
            if (p == NULL)
                return;
            s->stamps = p;
            s->stamps_cap = cap;
        }
        s->stamps[s->frames++] = sh_now();
    }
    else if (strstr(h, "\"metadata\"") != NULL && s->stage == 1)
    {
        // Independent clients start at unrelated moments, so their frames are due at phases spread over
        // the period; K sessions started at once are all due together, every tick (--aligned). Session i
        // starts i·(T + T/K) after the first: phase i·T/K as before, plus i whole periods, so the scene's
        // costly steps (the cubes' first contact at frame 20 and bounces at 52 and 77: 1.5-2.5 ms each
        // against 0.1 ms, issue 18) fall in different periods. Started within one period, 30 sessions'
        // first contacts put 60 ms of CPU into 16 ms on 2 cores, and every session's worst frame
        // intervals were those few steps: the bench measured that coincidence, not the host's pacing.
        double period_s = b->timestep_ms / 1000.0;
        double delay_s = b->aligned ? 0 : s->index * (period_s + period_s / b->count);
        s->start_due = sh_now() + delay_s;
    }
    else if (strstr(h, "\"complete\"") != NULL)
    {
        const char* t = strstr(h, "\"total_frames\":");
        const char* d = strstr(h, "\"dropped_frames\":");
        s->total_frames = t ? strtol(t + 15, NULL, 10) : -1;
        s->dropped = d ? strtol(d + 17, NULL, 10) : -1;
        finish(b, s, 3);
    }
    else if (strstr(h, "\"error\"") != NULL)
    {
        snprintf(s->error, sizeof s->error, "%s", h);
        finish(b, s, 4);
    }
}

// "host1=4 host2=4 host3=4": sessions per host, in order of first appearance; "" without the header.
static void server_spread(const bench* b, char* out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < b->count; i++)
    {
        const char* name = b->sessions[i].ws.server;
        bool seen = name[0] == '\0';
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(b->sessions[j].ws.server, name) == 0;
        if (seen)
            continue;
        int count = 0;
        for (int j = i; j < b->count; j++)
            count += strcmp(b->sessions[j].ws.server, name) == 0;
        int n = snprintf(out + used, size - used, "%s%s=%d", used ? " " : "", name, count);
        if (n < 0 || (size_t)n >= size - used)
            return;
        used += (size_t)n;
    }
}

static void send_start(bench* b, bench_session* s)
{
    char start[160];
    int n = snprintf(start, sizeof start, "{\"type\":\"start\",\"timestep_ms\":%d,\"duration_s\":%.3f%s}",
                     b->timestep_ms, b->seconds, b->binary ? ",\"encoding\":\"binary\"" : "");
    s->start_due = 0;
    s->stage = 2;
    bench_ws_send_text(&s->ws, start, (size_t)n);
}

// One session's I/O: the configure once the handshake is done, messages, and its end.
static void service_session(bench* b, bench_session* s, short revents)
{
    bool established;
    bench_ws_service(&s->ws, revents, &established, on_message, s);
    if (established && s->stage == 0)
    {
        s->stage = 1;
        bench_ws_send_text(&s->ws, b->configure, b->configure_len);
    }
    if (s->ws.state == BENCH_WS_CLOSED && s->stage < 3)
    {
        snprintf(s->error, sizeof s->error, "%s", s->ws.error[0] ? s->ws.error : "closed before complete");
        finish(b, s, 4);
    }
}

// Polls every open session until all are done or the deadline passes; a staggered start that falls due
// goes out on time (poll's timeout is the next one).
static void run_sessions(bench* b, struct pollfd* fds, int* index, double deadline)
{
    while (b->finished < b->count && sh_now() < deadline)
    {
        double now = sh_now(), next = deadline;
        int n = 0;
        for (int i = 0; i < b->count; i++)
        {
            bench_session* s = &b->sessions[i];
            if (s->start_due > 0 && s->start_due <= now)
                send_start(b, s);
            if (s->start_due > 0 && s->start_due < next)
                next = s->start_due;
            short ev = s->stage < 3 ? bench_ws_events(&s->ws) : 0;
            if (ev == 0)
                continue;
            fds[n] = (struct pollfd){.fd = s->ws.fd, .events = ev};
            index[n++] = i;
        }
        int timeout_ms = (int)ceil((next - now) * 1000);
        if (poll(fds, (nfds_t)n, timeout_ms < 0 ? 0 : timeout_ms) < 0 && errno != EINTR)
            return;
        for (int k = 0; k < n; k++)
            if (fds[k].revents)
                service_session(b, &b->sessions[index[k]], fds[k].revents);
    }
}

// M unit cubes on a grid, stacked in layers of 400, above the default ground.
static char* configure_message(int bodies, size_t* out_len)
{
    size_t cap = 64 + (size_t)bodies * 160;
    char* buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    size_t n = (size_t)snprintf(buf, cap, "{\"type\":\"configure\",\"objects\":[");
    for (int i = 0; i < bodies; i++)
    {
        double x = (i % 20) * 1.5 - 15, y = ((i / 20) % 20) * 1.5 - 15, z = 1.0 + (i / 400) * 1.2;
        n += (size_t)snprintf(
            buf + n, cap - n,
            "%s{\"asset_name\":\"unit_cube\",\"position\":[%.2f,%.2f,%.2f],\"orientation\":[0,0,0],"
            "\"object_type\":\"inertial\"}",
            i ? "," : "", x, y, z);
    }
    n += (size_t)snprintf(buf + n, cap - n, "]}");
    *out_len = n;
    return buf;
}

static int compare_double(const void* a, const void* b)
{
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

static bool port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr*)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static double process_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE* f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char* p = strrchr(buf, ')'); // the command name may hold spaces
    unsigned long utime = 0, stime = 0;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

// The JSON frame size and encode time for 1000 bodies, through the module as a session uses it.
static void frame_encode_line(const char* assets_path)
{
    static const char code[] =
        "local simhost, path = require 'simhost', ...\n"
        "if not (simhost.world and simhost.assets and simhost.assets.open) then return nil end\n"
        "local db = simhost.assets.open(path)\n"
        "local w = simhost.world { assets = db }\n"
        "w:spawn { asset = 'ground', position = {0, 0, -0.5}, orientation = {0, 0, 0}, environment = true }\n"
        "for i = 0, 999 do\n"
        "  w:spawn { asset = 'unit_cube', position = {(i % 20) * 1.5 - 15, ((i // 20) % 20) * 1.5 - 15,\n"
        "            1 + (i // 400) * 1.2}, orientation = {0, 0, 0}, mass = 10 }\n"
        "end\n"
        "for _ = 1, 30 do w:step(1 / 60) end\n"
        "local json = w:frame_json(0, { contacts = true })\n"
        "local n, t0 = 50, os.clock()\n"
        "for i = 1, n do json = w:frame_json(i, { contacts = true }) end\n"
        "local tj = (os.clock() - t0) / n\n"
        "if not w.frame_bin then return #json, tj end\n"
        "local bin = w:frame_bin(0, { contacts = true })\n"
        "n, t0 = 2000, os.clock()\n"
        "for i = 1, n do bin = w:frame_bin(i, { contacts = true }) end\n"
        "return #json, tj, #bin, (os.clock() - t0) / n\n";
    lua_State* L = luaL_newstate();
    if (L == NULL)
        return;
    luaL_openlibs(L);
    luaL_requiref(L, "simhost", luaopen_simhost, 0);
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, code, sizeof code - 1, "=bench") != LUA_OK)
    {
        lua_close(L);
        return;
    }
    lua_pushstring(L, assets_path);
    if (lua_pcall(L, 1, 4, 0) != LUA_OK)
        printf("frame encode (1000 bodies): failed: %s\n", lua_tostring(L, -1));
    else if (lua_isnil(L, -4))
        printf("frame encode (1000 bodies): n/a (simhost.world is not built in)\n");
    else
        printf("frame encode (1000 bodies): %.0f bytes of JSON, %.3f ms per frame (CPU); SHF1 %.0f bytes, "
               "%.4f ms\n",
               lua_tonumber(L, -4), lua_tonumber(L, -3) * 1000, lua_tonumber(L, -2),
               lua_tonumber(L, -1) * 1000);
    lua_close(L);
}

typedef struct live_options
{
    const char* url;
    int sessions, bodies, timestep_ms;
    double seconds, p99_bound_ms;
    bool find_max, aligned, binary;
} live_options;

// Where the sessions connect: the host given by --url, or our own child.
typedef struct live_target
{
    char host[256], path[512];
    int port;
    pid_t child; // 0 with --url
} live_target;

// What one round of K sessions measured.
typedef struct round_result
{
    int completed;     // sessions that reached `complete`
    double worst_p99;  // ms, over the sessions
    long dropped;      // frames, over the sessions
    double cpu_share;  // host CPU over wall, one core = 1; < 0 when not ours
    double self_share; // this client's CPU over wall: near 1, the client is what limits the round
    double median_p50; // ms, the median of the sessions' p50 intervals (the proxy's overhead shows here)
    char servers[512]; // sessions per host behind HAProxy ("host1=4 host2=4"), "" when direct
} round_result;

static int parse_options(int argc, char** argv, live_options* o)
{
    for (int i = 0; i < argc; i++)
    {
        const char* a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
        {
            fputs(bench_usage, stdout);
            return -1;
        }
        if (strcmp(a, "--find-max") == 0)
        {
            o->find_max = true;
            continue;
        }
        if (strcmp(a, "--aligned") == 0)
        {
            o->aligned = true;
            continue;
        }
        if (i + 1 >= argc)
        {
            fprintf(stderr, "simhost bench-live: %s needs a value (see simhost bench-live --help)\n", a);
            return SH_EXIT_USAGE;
        }
        const char* v = argv[++i];
        bool ok = true;
        sh_error bad;
        if (strcmp(a, "--url") == 0)
            o->url = v;
        else if (strcmp(a, "--sessions") == 0)
            ok = sh_cli_int(a, v, 1, 1000, &o->sessions, &bad);
        else if (strcmp(a, "--bodies") == 0)
            ok = sh_cli_int(a, v, 1, 100000, &o->bodies, &bad);
        else if (strcmp(a, "--timestep-ms") == 0)
            ok = sh_cli_int(a, v, 1, 1000, &o->timestep_ms, &bad);
        else if (strcmp(a, "--seconds") == 0)
            ok = sh_cli_number(a, v, 0, 3600, true, &o->seconds, &bad);
        else if (strcmp(a, "--p99-ms") == 0)
            ok = sh_cli_number(a, v, 0, 1e6, true, &o->p99_bound_ms, &bad);
        else if (strcmp(a, "--encoding") == 0)
        {
            ok = strcmp(v, "json") == 0 || strcmp(v, "binary") == 0;
            o->binary = strcmp(v, "binary") == 0;
            if (!ok)
                sh_error_set(&bad, "--encoding must be json or binary, got '%s'", v);
        }
        else
        {
            fprintf(stderr, "simhost bench-live: unknown option '%s' (see simhost bench-live --help)\n", a);
            return SH_EXIT_USAGE;
        }
        if (!ok)
        {
            fprintf(stderr, "simhost bench-live: %s (see simhost bench-live --help)\n", bad.message);
            return SH_EXIT_USAGE;
        }
    }
    return 0;
}

static bool parse_url(const char* url, live_target* t)
{
    int n = 0;
    if (sscanf(url, "ws://%255[^:/]:%d%n", t->host, &t->port, &n) != 2 || (url[n] != '\0' && url[n] != '/'))
    {
        fprintf(stderr, "simhost bench-live: --url must look like ws://HOST:PORT/api/v1/live\n");
        return false;
    }
    if (url[n] == '/')
        snprintf(t->path, sizeof t->path, "%s", url + n);
    return true;
}

// Our own host on a free loopback port, its log silenced, allowed `max_sessions` at once.
static bool start_host(live_target* t, int max_sessions)
{
    t->port = sh_free_port();
    char port_s[16], max_s[16];
    snprintf(port_s, sizeof port_s, "%d", t->port);
    snprintf(max_s, sizeof max_s, "%d", max_sessions);
    t->child = fork();
    if (t->child == 0)
    {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        execl("/proc/self/exe", "simhost", "serve", "--port", port_s, "--max-sessions", max_s,
              "--max-objects", "100000", (char*)NULL);
        _exit(127);
    }
    if (t->child < 0)
    {
        fprintf(stderr, "simhost bench-live: cannot start a host: %s\n", strerror(errno));
        t->child = 0;
        return false;
    }
    double deadline = sh_now() + 15;
    while (!port_open(t->port) && sh_now() < deadline)
        usleep(20000);
    if (port_open(t->port))
        return true;
    fprintf(stderr, "simhost bench-live: the host did not come up on port %d\n", t->port);
    kill(t->child, SIGTERM);
    waitpid(t->child, NULL, 0);
    t->child = 0;
    return false;
}

// p50/p99/max of a session's frame intervals, ms; NAN without two frames.
static void interval_stats(const bench_session* s, double* p50, double* p99, double* max)
{
    *p50 = *p99 = *max = NAN;
    int n = s->frames > 1 ? s->frames - 1 : 0;
    double* iv = n > 0 ? malloc((size_t)n * sizeof *iv) : NULL;
    if (iv == NULL)
        return;
    for (int k = 0; k < n; k++)
        iv[k] = (s->stamps[k + 1] - s->stamps[k]) * 1000;
    qsort(iv, (size_t)n, sizeof *iv, compare_double);
    *p50 = iv[n / 2];
    *p99 = iv[(int)ceil(n * 0.99) - 1];
    *max = iv[n - 1];
    free(iv);
}

static void connect_sessions(bench* b, const live_target* t)
{
    for (int i = 0; i < b->count; i++)
    {
        bench_session* s = &b->sessions[i];
        s->index = i;
        s->bench = b;
        if (!bench_ws_connect(&s->ws, t->host, t->port, t->path))
        {
            snprintf(s->error, sizeof s->error, "%s", s->ws.error);
            finish(b, s, 4);
        }
    }
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static double median_p50(const bench* b)
{
    double* p = malloc((size_t)b->count * sizeof *p);
    if (p == NULL)
        return NAN;
    int n = 0;
    for (int i = 0; i < b->count; i++)
    {
        double p50, p99, max;
        interval_stats(&b->sessions[i], &p50, &p99, &max);
        if (!isnan(p50))
            p[n++] = p50;
    }
    qsort(p, (size_t)n, sizeof *p, compare_double);
    double m = n > 0 ? p[n / 2] : NAN;
    free(p);
    return m;
}

static void summarize(const bench* b, round_result* r, bool table)
{
    r->median_p50 = median_p50(b);
    server_spread(b, r->servers, sizeof r->servers);
    if (table)
        printf("%8s %8s %8s %9s %9s %9s %s\n", "session", "frames", "dropped", "p50 ms", "p99 ms", "max ms",
               "");
    for (int i = 0; i < b->count; i++)
    {
        const bench_session* s = &b->sessions[i];
        double p50, p99, max;
        interval_stats(s, &p50, &p99, &max);
        if (s->stage == 3)
            r->completed++;
        if (s->dropped > 0)
            r->dropped += s->dropped;
        // A session with no intervals to measure counts as infinitely late.
        double worst = isnan(p99) ? INFINITY : p99;
        if (worst > r->worst_p99)
            r->worst_p99 = worst;
        if (table)
            printf("%8d %8d %8ld %9.2f %9.2f %9.2f %s\n", i, s->frames, s->dropped, p50, p99, max,
                   s->stage == 3 ? "" : s->error);
    }
}

// One round: `sessions` sessions of `o->bodies` bodies at once, streamed to completion. false when the
// round could not run at all (out of memory).
static bool run_round(const live_options* o, const live_target* t, int sessions, bool table, round_result* r)
{
    memset(r, 0, sizeof *r);
    r->cpu_share = -1;
    size_t configure_len = 0;
    char* configure = configure_message(o->bodies, &configure_len);
    bench b = {.count = sessions,
               .timestep_ms = o->timestep_ms,
               .seconds = o->seconds,
               .aligned = o->aligned,
               .binary = o->binary,
               .configure = configure,
               .configure_len = configure_len};
    b.sessions = calloc((size_t)sessions, sizeof *b.sessions);
    struct pollfd* fds = calloc((size_t)sessions, sizeof *fds);
    int* index = calloc((size_t)sessions, sizeof *index);
    bool ok = configure != NULL && b.sessions != NULL && fds != NULL && index != NULL;
    if (ok)
    {
        double cpu0 = t->child ? process_cpu_s(t->child) : -1, self0 = self_cpu_s();
        double t0 = sh_now();
        connect_sessions(&b, t);
        run_sessions(&b, fds, index, t0 + o->seconds + 30);
        double wall = sh_now() - t0;
        if (t->child)
            r->cpu_share = (process_cpu_s(t->child) - cpu0) / wall;
        r->self_share = (self_cpu_s() - self0) / wall;
        summarize(&b, r, table);
    }
    if (b.sessions != NULL)
        for (int i = 0; i < sessions; i++)
        {
            bench_ws_close(&b.sessions[i].ws);
            free(b.sessions[i].stamps);
        }
    free(b.sessions);
    free(fds);
    free(index);
    free(configure);
    return ok;
}

static int fixed_round(const live_options* o, const live_target* t)
{
    printf("bench-live: %d sessions x %d bodies, %d ms steps, %.1f s streams, %s frames, %s\n", o->sessions,
           o->bodies, o->timestep_ms, o->seconds, o->binary ? "binary" : "JSON",
           o->aligned ? "all started at once" : "starts staggered (T + T/K apart)");
    round_result r;
    if (!run_round(o, t, o->sessions, true, &r))
        return SH_EXIT_FAIL;
    if (r.cpu_share >= 0)
        printf("host CPU: %.0f %% of one core (this client: %.0f %%)\n", 100 * r.cpu_share,
               100 * r.self_share);
    else
        printf("host CPU: n/a (--url: the host is not ours to measure)\n");
    printf("median p50 interval: %.2f ms\n", r.median_p50);
    if (r.servers[0] != '\0')
        printf("sessions per host: %s\n", r.servers);
    frame_encode_line(sh_default_assets_db());
    return r.completed == o->sessions ? SH_EXIT_OK : SH_EXIT_FAIL;
}

static bool sweep_round(const live_options* o, const live_target* t, int k)
{
    round_result r;
    if (!run_round(o, t, k, false, &r))
        return false;
    bool good = r.completed == k && r.worst_p99 < o->p99_bound_ms;
    printf("sessions=%d completed=%d worst_p99_ms=%.2f dropped=%ld host_cpu=%.0f%% client_cpu=%.0f%% "
           "p50_ms=%.2f%s%s %s\n",
           k, r.completed, r.worst_p99, r.dropped, r.cpu_share >= 0 ? 100 * r.cpu_share : NAN,
           100 * r.self_share, r.median_p50, r.servers[0] ? " hosts: " : "", r.servers, good ? "ok" : "over");
    fflush(stdout);
    return good;
}

// Doubling then bisection: the answer is exact for a monotone host, in about 2·log2(K) rounds.
static int find_max(const live_options* o, const live_target* t, int limit)
{
    printf("bench-live --find-max: sessions of %d bodies, %d ms steps, %.1f s rounds, p99 bound %.1f ms, %s "
           "frames, %s\n",
           o->bodies, o->timestep_ms, o->seconds, o->p99_bound_ms, o->binary ? "binary" : "JSON",
           o->aligned ? "all started at once" : "starts staggered (T + T/K apart)");
    int good = 0, bad = 0;
    for (int k = 1; k <= limit; k *= 2)
    {
        if (!sweep_round(o, t, k))
        {
            bad = k;
            break;
        }
        good = k;
    }
    if (bad == 0)
        bad = limit + 1;
    while (bad - good > 1)
    {
        int mid = good + (bad - good) / 2;
        if (sweep_round(o, t, mid))
            good = mid;
        else
            bad = mid;
    }
    printf("max sessions: %d of %d bodies with every p99 interval < %.1f ms%s\n", good, o->bodies,
           o->p99_bound_ms, bad > limit ? " (the search limit)" : "");
    return SH_EXIT_OK;
}

int sh_cmd_bench_live(int argc, char** argv)
{
    live_options o = {.sessions = 0, .bodies = 100, .timestep_ms = 16, .seconds = 5, .p99_bound_ms = 20};
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? SH_EXIT_OK : rc;
    live_target t = {.host = "127.0.0.1", .path = "/api/v1/live"};
    // --find-max searches up to --sessions, by default the host's default --max-sessions (64).
    if (o.sessions == 0)
        o.sessions = o.find_max ? 64 : 4;
    int limit = o.sessions;
    if (o.url != NULL ? !parse_url(o.url, &t) : !start_host(&t, limit + 4))
        return o.url != NULL ? SH_EXIT_USAGE : SH_EXIT_FAIL;
    rc = o.find_max ? find_max(&o, &t, limit) : fixed_round(&o, &t);
    if (t.child > 0)
    {
        kill(t.child, SIGTERM);
        waitpid(t.child, NULL, 0);
    }
    return rc;
}
