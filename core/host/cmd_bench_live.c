// simhost bench-live — K concurrent live sessions of M bodies at 60 Hz against a host (its own,
// spawned on a free loopback port, or --url). Prints per-session frame-interval p50/p99/max as the
// client sees them, frames dropped, the host's CPU, and the JSON frame size and encode time for
// 1000 bodies (measured in-process through the Lua module, as a session does it).
#include "cli.h"
#include "l_simhost.h"

#include "simhost/base.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <lualib.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char bench_usage[] =
    "usage: simhost bench-live [--url ws://HOST:PORT/api/v1/live] [--sessions K] [--bodies M] [--seconds S]\n"
    "                          [--timestep-ms T]\n"
    "  Without --url it starts its own host (simhost serve) on a free loopback port.\n"
    "  Defaults: 4 sessions of 100 bodies for 5 s at 16 ms steps.\n";

typedef struct bench_session
{
    int index;
    struct lws* wsi;
    char* configure; // the configure message (LWS_PRE headroom before it)
    size_t configure_len;
    int stage; // 0 connecting, 1 configure sent, 2 start sent, 3 complete, 4 failed/closed
    bool want_start, want_configure;
    char head[160]; // first bytes of the message being received
    size_t head_len;
    double* stamps; // arrival time of each frame
    int frames, stamps_cap;
    long total_frames, dropped;
    char error[200];
} bench_session;

typedef struct bench
{
    bench_session* sessions;
    int count, finished;
    int timestep_ms;
    double seconds;
} bench;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void finish(bench* b, bench_session* s, int stage)
{
    if (s->stage < 3)
        b->finished++;
    s->stage = stage;
}

static int write_text(struct lws* wsi, const char* text, size_t len)
{
    unsigned char* buf = malloc(LWS_PRE + len);
    if (buf == NULL)
        return -1;
    memcpy(buf + LWS_PRE, text, len);
    int n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
    free(buf);
    return n == (int)len ? 0 : -1;
}

static void on_message(bench* b, bench_session* s)
{
    const char* h = s->head;
    if (strncmp(h, "{\"type\":\"frame\"", 15) == 0)
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
        s->stamps[s->frames++] = now_s();
    }
    else if (strstr(h, "\"metadata\"") != NULL && s->stage == 1)
    {
        s->want_start = true;
        lws_callback_on_writable(s->wsi);
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

static int callback(struct lws* wsi, enum lws_callback_reasons reason, void* user, void* in, size_t len)
{
    bench* b = lws_context_user(lws_get_context(wsi));
    bench_session* s = user;
    switch (reason)
    {
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            snprintf(s->error, sizeof s->error, "connect: %s", in ? (const char*)in : "failed");
            finish(b, s, 4);
            return 0;
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            s->want_configure = true;
            lws_callback_on_writable(wsi);
            return 0;
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            if (s->want_configure)
            {
                s->want_configure = false;
                s->stage = 1;
                return write_text(wsi, s->configure, s->configure_len);
            }
            if (s->want_start)
            {
                char start[160];
                int n = snprintf(start, sizeof start,
                                 "{\"type\":\"start\",\"timestep_ms\":%d,\"duration_s\":%.3f}",
                                 b->timestep_ms, b->seconds);
                s->want_start = false;
                s->stage = 2;
                return write_text(wsi, start, (size_t)n);
            }
            return 0;
        case LWS_CALLBACK_CLIENT_RECEIVE: {
            size_t room = sizeof s->head - 1 - s->head_len;
            size_t n = len < room ? len : room;
            memcpy(s->head + s->head_len, in, n);
            s->head_len += n;
            s->head[s->head_len] = 0;
            if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0)
            {
                on_message(b, s);
                s->head_len = 0;
            }
            return 0;
        }
        case LWS_CALLBACK_CLIENT_CLOSED:
            if (s->stage < 3)
                snprintf(s->error, sizeof s->error, "closed before complete");
            finish(b, s, s->stage == 3 ? 3 : 4);
            return 0;
        default:
            return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {.name = "simhost-bench", .callback = callback, .per_session_data_size = 0, .rx_buffer_size = 65536},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

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

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr*)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr*)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
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
        "return #json, (os.clock() - t0) / n\n";
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
    if (lua_pcall(L, 1, 2, 0) != LUA_OK)
        printf("frame encode (1000 bodies): failed: %s\n", lua_tostring(L, -1));
    else if (lua_isnil(L, -2))
        printf("frame encode (1000 bodies): n/a (simhost.world is not built in)\n");
    else
        printf("frame encode (1000 bodies): %.0f bytes of JSON, %.3f ms per frame (CPU)\n",
               lua_tonumber(L, -2), lua_tonumber(L, -1) * 1000);
    lua_close(L);
}

static bool parse_int(const char* s, int lo, int hi, int* out)
{
    char* end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

int sh_cmd_bench_live(int argc, char** argv)
{
    const char* url = NULL;
    int sessions = 4, bodies = 100, timestep_ms = 16;
    double seconds = 5;
    for (int i = 0; i < argc; i++)
    {
        const char* a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
        {
            fputs(bench_usage, stdout);
            return SH_EXIT_OK;
        }
        if (i + 1 >= argc)
        {
            fprintf(stderr, "simhost bench-live: %s needs a value (see simhost bench-live --help)\n", a);
            return SH_EXIT_USAGE;
        }
        const char* v = argv[++i];
        char* end;
        bool ok = true;
        if (strcmp(a, "--url") == 0)
            url = v;
        else if (strcmp(a, "--sessions") == 0)
            ok = parse_int(v, 1, 1000, &sessions);
        else if (strcmp(a, "--bodies") == 0)
            ok = parse_int(v, 1, 100000, &bodies);
        else if (strcmp(a, "--timestep-ms") == 0)
            ok = parse_int(v, 1, 1000, &timestep_ms);
        else if (strcmp(a, "--seconds") == 0)
        {
            seconds = strtod(v, &end);
            ok = *v && !*end && seconds > 0 && seconds <= 3600;
        }
        else
        {
            fprintf(stderr, "simhost bench-live: unknown option '%s' (see simhost bench-live --help)\n", a);
            return SH_EXIT_USAGE;
        }
        if (!ok)
        {
            fprintf(stderr, "simhost bench-live: bad value '%s' for %s (see simhost bench-live --help)\n", v,
                    a);
            return SH_EXIT_USAGE;
        }
    }

    char host[256] = "127.0.0.1", path[512] = "/api/v1/live";
    int port = 0;
    pid_t child = 0;
    if (url != NULL)
    {
        int n = 0;
        if (sscanf(url, "ws://%255[^:/]:%d%n", host, &port, &n) != 2 || (url[n] != '\0' && url[n] != '/'))
        {
            fprintf(stderr, "simhost bench-live: --url must look like ws://HOST:PORT/api/v1/live\n");
            return SH_EXIT_USAGE;
        }
        if (url[n] == '/')
            snprintf(path, sizeof path, "%s", url + n);
    }
    else
    {
        port = free_port();
        char port_s[16], max_s[16];
        snprintf(port_s, sizeof port_s, "%d", port);
        snprintf(max_s, sizeof max_s, "%d", sessions + 4);
        child = fork();
        if (child == 0)
        {
            int devnull = open("/dev/null", O_WRONLY);
            if (devnull >= 0)
                dup2(devnull, 2);
            execl("/proc/self/exe", "simhost", "serve", "--port", port_s, "--max-sessions", max_s,
                  "--max-objects", "100000", (char*)NULL);
            _exit(127);
        }
        if (child < 0)
        {
            fprintf(stderr, "simhost bench-live: cannot start a host: %s\n", strerror(errno));
            return SH_EXIT_FAIL;
        }
        double deadline = now_s() + 15;
        while (!port_open(port) && now_s() < deadline)
            usleep(20000);
        if (!port_open(port))
        {
            fprintf(stderr, "simhost bench-live: the host did not come up on port %d\n", port);
            kill(child, SIGTERM);
            waitpid(child, NULL, 0);
            return SH_EXIT_FAIL;
        }
    }

    size_t configure_len = 0;
    char* configure = configure_message(bodies, &configure_len);
    bench b = {.count = sessions, .timestep_ms = timestep_ms, .seconds = seconds};
    b.sessions = calloc((size_t)sessions, sizeof *b.sessions);
    int status = SH_EXIT_FAIL;
    struct lws_context* ctx = NULL;
    if (configure == NULL || b.sessions == NULL)
        goto done;

    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = &b;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    info.fd_limit_per_thread = (unsigned)sessions + 16;
    ctx = lws_create_context(&info);
    if (ctx == NULL)
        goto done;
    double cpu0 = child ? process_cpu_s(child) : -1;
    double t0 = now_s();
    for (int i = 0; i < sessions; i++)
    {
        bench_session* s = &b.sessions[i];
        s->index = i;
        s->configure = configure;
        s->configure_len = configure_len;
        struct lws_client_connect_info ci;
        memset(&ci, 0, sizeof ci);
        ci.context = ctx;
        ci.address = host;
        ci.port = port;
        ci.path = path;
        ci.host = host;
        ci.origin = host;
        ci.userdata = s;
        ci.pwsi = &s->wsi;
        if (lws_client_connect_via_info(&ci) == NULL && s->stage < 3)
        {
            snprintf(s->error, sizeof s->error, "cannot connect");
            finish(&b, s, 4);
        }
    }
    double deadline = t0 + seconds + 30;
    while (b.finished < sessions && now_s() < deadline)
        lws_service(ctx, 0);
    double wall = now_s() - t0;
    double cpu1 = child ? process_cpu_s(child) : -1;

    printf("bench-live: %d sessions x %d bodies, %d ms steps, %.1f s streams\n", sessions, bodies,
           timestep_ms, seconds);
    printf("%8s %8s %8s %9s %9s %9s %s\n", "session", "frames", "dropped", "p50 ms", "p99 ms", "max ms", "");
    status = SH_EXIT_OK;
    for (int i = 0; i < sessions; i++)
    {
        bench_session* s = &b.sessions[i];
        int n = s->frames > 1 ? s->frames - 1 : 0;
        double p50 = NAN, p99 = NAN, max = NAN;
        if (n > 0)
        {
            double* iv = malloc((size_t)n * sizeof *iv);
            if (iv != NULL)
            {
                for (int k = 0; k < n; k++)
                    iv[k] = (s->stamps[k + 1] - s->stamps[k]) * 1000;
                qsort(iv, (size_t)n, sizeof *iv, compare_double);
                p50 = iv[n / 2];
                p99 = iv[(int)ceil(n * 0.99) - 1];
                max = iv[n - 1];
                free(iv);
            }
        }
        printf("%8d %8d %8ld %9.2f %9.2f %9.2f %s\n", i, s->frames, s->dropped, p50, p99, max,
               s->stage == 3 ? "" : s->error);
        if (s->stage != 3)
            status = SH_EXIT_FAIL;
    }
    if (child)
        printf("host CPU: %.2f s over %.2f s wall (%.0f %% of one core)\n", cpu1 - cpu0, wall,
               100 * (cpu1 - cpu0) / wall);
    else
        printf("host CPU: n/a (--url: the host is not ours to measure)\n");
    frame_encode_line(getenv("SIMHOST_DB") ? getenv("SIMHOST_DB") : sh_default_assets_db());

done:
    if (ctx != NULL)
        lws_context_destroy(ctx);
    if (b.sessions != NULL)
        for (int i = 0; i < sessions; i++)
            free(b.sessions[i].stamps);
    free(b.sessions);
    free(configure);
    if (child > 0)
    {
        kill(child, SIGTERM);
        waitpid(child, NULL, 0);
    }
    return status;
}
