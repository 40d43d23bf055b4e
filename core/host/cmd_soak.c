// simhost soak — a benchmark command, bounded in time: N client threads against a host of its own
// (simhost serve on a free loopback port), each looping over a mix of behaviours — complete runs, slow
// readers, clients that vanish mid-frame or mid-stream, garbage on the WebSocket and on raw TCP, bad
// JSON, plain HTTP — and reconnecting. Prints sessions served, errors by kind, and the host's RSS and
// open fds at the start, after warm-up and at the end (once every session has gone).
#include "cli.h"
#include "soak_ws.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char soak_usage[] =
    "usage: simhost soak [--seconds S | --minutes M] [--clients N]\n"
    "  Starts a host on a free loopback port and runs N clients against it for the given time (default\n"
    "  60 s, 8 clients). Each client loops over: a complete run, a slow reader, vanishing mid-frame,\n"
    "  vanishing mid-stream, garbage WebSocket frames, garbage TCP, bad JSON, and plain HTTP, reconnecting\n"
    "  each time. Prints sessions served, errors by kind, and the host's RSS and open fds at the start,\n"
    "  after warm-up (a quarter of the run) and at the end. Exit status 1 if the host died or did not\n"
    "  exit cleanly on SIGTERM.\n";

typedef enum behaviour
{
    B_COMPLETE,
    B_SLOW_READER,
    B_VANISH_MID_FRAME,
    B_VANISH_MID_STREAM,
    B_GARBAGE_WS,
    B_GARBAGE_TCP,
    B_BAD_JSON,
    B_HTTP,
    B_COUNT
} behaviour;

static const char* const behaviour_names[B_COUNT] = {"complete",          "slow_reader", "vanish_mid_frame",
                                                     "vanish_mid_stream", "garbage_ws",  "garbage_tcp",
                                                     "bad_json",          "http"};

typedef enum fault
{
    F_REFUSED,      // TCP connect refused
    F_HANDSHAKE,    // the upgrade was not answered with 101
    F_TIMEOUT,      // no answer within the bound (10 s)
    F_PROTOCOL,     // a frame no server sends
    F_CLOSED_EARLY, // a complete run closed before `complete`
    F_COUNT
} fault;

static const char* const fault_names[F_COUNT] = {"refused", "handshake", "timeout", "protocol",
                                                 "closed_early"};

enum
{
    MAX_ERROR_KINDS = 32
};

typedef struct soak
{
    int port;
    double deadline;
    pthread_mutex_t lock; // guards everything below
    long runs[B_COUNT];
    long served, frames;
    long faults[F_COUNT];
    struct
    {
        char text[80];
        long count;
    } host_errors[MAX_ERROR_KINDS];
    int host_error_kinds;
} soak;

typedef struct client
{
    soak* s;
    int index;
    unsigned seed;
} client;

static const double IO_TIMEOUT_S = 10;

static void count_fault(soak* s, fault f)
{
    pthread_mutex_lock(&s->lock);
    s->faults[f]++;
    pthread_mutex_unlock(&s->lock);
}

// An {"type":"error","message":...} line from the host, counted by its message.
static void count_host_error(soak* s, const char* m, size_t n)
{
    const char* p = strstr(m, "\"message\":\"");
    char text[80];
    size_t len = 0;
    if (p != NULL)
        for (p += 11; p < m + n && *p != '"' && len + 1 < sizeof text; p++)
            text[len++] = *p;
    text[len] = '\0';
    pthread_mutex_lock(&s->lock);
    int i = 0;
    while (i < s->host_error_kinds && strcmp(s->host_errors[i].text, text) != 0)
        i++;
    if (i == s->host_error_kinds && i < MAX_ERROR_KINDS)
    {
        snprintf(s->host_errors[i].text, sizeof s->host_errors[i].text, "%s", text);
        s->host_error_kinds++;
    }
    if (i < MAX_ERROR_KINDS)
        s->host_errors[i].count++;
    pthread_mutex_unlock(&s->lock);
}

// The message's "type" (the host's JSON may put it anywhere among the first keys: cjson does not keep
// key order) is `type`.
static bool is_type(const char* m, size_t n, const char* type)
{
    char head[256], want[48];
    size_t k = n < sizeof head - 1 ? n : sizeof head - 1;
    memcpy(head, m, k);
    head[k] = '\0';
    snprintf(want, sizeof want, "\"type\":\"%s\"", type);
    return strstr(head, want) != NULL;
}

// Connects and upgrades; counts the fault and returns false when that fails.
static bool open_ws(client* c, soak_ws* w)
{
    if (!soak_ws_tcp(w, c->s->port))
    {
        count_fault(c->s, F_REFUSED);
        return false;
    }
    int up = soak_ws_upgrade(w, "/api/v1/live", IO_TIMEOUT_S);
    if (up == 1)
        return true;
    count_fault(c->s, up < 0 ? F_TIMEOUT : F_HANDSHAKE);
    soak_ws_abort(w);
    return false;
}

// Receives until a message of `type` (true), or an error line, a close or a timeout (false; counted).
// Frames on the way are counted; `frames_left` > 0 stops after that many frames (true).
static bool read_until(client* c, soak_ws* w, const char* type, int frames_left, double pause_s)
{
    for (;;)
    {
        const char* m;
        size_t n;
        int rc = soak_ws_receive(w, IO_TIMEOUT_S, &m, &n);
        if (rc != 1)
        {
            count_fault(c->s, rc == -1 ? F_TIMEOUT : rc == -2 ? F_PROTOCOL : F_CLOSED_EARLY);
            return false;
        }
        if (is_type(m, n, "error"))
        {
            count_host_error(c->s, m, n);
            return false;
        }
        if (is_type(m, n, "frame"))
        {
            pthread_mutex_lock(&c->s->lock);
            c->s->frames++;
            pthread_mutex_unlock(&c->s->lock);
            if (frames_left > 0 && --frames_left == 0)
                return true;
            if (pause_s > 0)
                nanosleep(&(struct timespec){0, (long)(pause_s * 1e9)}, NULL);
        }
        if (type != NULL && is_type(m, n, type))
            return true;
    }
}

static const char configure_msg[] = "{\"type\":\"configure\",\"objects\":["
                                    "{\"asset_name\":\"ground\",\"position\":[0,0,-0.5],\"orientation\":[0,0,"
                                    "0],\"object_type\":\"environment\"},"
                                    "{\"asset_name\":\"unit_cube\",\"position\":[0,0,1],\"orientation\":[0,0,"
                                    "0],\"object_type\":\"inertial\"},"
                                    "{\"asset_name\":\"unit_sphere\",\"position\":[0.2,0,3],\"orientation\":["
                                    "0,0,0],\"object_type\":\"inertial\"},"
                                    "{\"asset_name\":\"unit_cube\",\"position\":[0,0.1,5],\"orientation\":[0."
                                    "3,0,0],\"object_type\":\"inertial\"}]}";

// configure, metadata, start: true when the run is streaming.
static bool start_run(client* c, soak_ws* w, const char* start)
{
    return soak_ws_send_text(w, configure_msg, sizeof configure_msg - 1, IO_TIMEOUT_S) &&
           read_until(c, w, "metadata", 0, 0) && soak_ws_send_text(w, start, strlen(start), IO_TIMEOUT_S);
}

static void garbage(client* c, char* buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)(rand_r(&c->seed) & 0xff);
}

// Reads until the host closes (or the timeout): what a client that sent something wrong should see.
static void expect_close(client* c, soak_ws* w)
{
    for (;;)
    {
        const char* m;
        size_t n;
        int rc = soak_ws_receive(w, IO_TIMEOUT_S, &m, &n);
        if (rc == 1 && is_type(m, n, "error"))
            count_host_error(c->s, m, n);
        else if (rc == -1)
            count_fault(c->s, F_TIMEOUT);
        if (rc != 1)
            return;
    }
}

static void run_behaviour(client* c, behaviour b)
{
    soak_ws w;
    char junk[512];
    switch (b)
    {
        case B_COMPLETE:
            if (!open_ws(c, &w))
                return;
            if (start_run(c, &w, "{\"type\":\"start\",\"timestep_ms\":16,\"duration_s\":0.5}") &&
                read_until(c, &w, "complete", 0, 0))
            {
                pthread_mutex_lock(&c->s->lock);
                c->s->served++;
                pthread_mutex_unlock(&c->s->lock);
            }
            soak_ws_close(&w);
            return;
        case B_SLOW_READER: // as fast as the host can, read at 20 messages a second, leave after 20
            if (open_ws(c, &w) && start_run(c, &w, "{\"type\":\"start\",\"speed\":0,\"duration_s\":30}"))
                read_until(c, &w, NULL, 20, 0.05);
            soak_ws_close(&w);
            return;
        case B_VANISH_MID_FRAME: // a frame header announcing 300 bytes, 10 of them, then a RST
            if (open_ws(c, &w) && start_run(c, &w, "{\"type\":\"start\",\"duration_s\":30}") &&
                read_until(c, &w, NULL, 3, 0))
            {
                static const unsigned char half[] = {0x81, 0x80 | 126, 0x01, 0x2c, 1,   2,
                                                     3,    4,          'x',  'y',  'z', 'w'};
                soak_ws_send_raw(&w, half, sizeof half, IO_TIMEOUT_S);
            }
            soak_ws_abort(&w);
            return;
        case B_VANISH_MID_STREAM:
            if (open_ws(c, &w) && start_run(c, &w, "{\"type\":\"start\",\"duration_s\":30}"))
                read_until(c, &w, NULL, 5, 0);
            soak_ws_abort(&w);
            return;
        case B_GARBAGE_WS:
            if (!open_ws(c, &w))
                return;
            garbage(c, junk, sizeof junk);
            soak_ws_send_raw(&w, junk, sizeof junk, IO_TIMEOUT_S);
            expect_close(c, &w);
            soak_ws_abort(&w);
            return;
        case B_GARBAGE_TCP:
            if (!soak_ws_tcp(&w, c->s->port))
            {
                count_fault(c->s, F_REFUSED);
                return;
            }
            garbage(c, junk, sizeof junk);
            junk[0] = 'G'; // sometimes looks like the start of a request
            soak_ws_send_raw(&w, junk, (size_t)(rand_r(&c->seed) % sizeof junk) + 1, IO_TIMEOUT_S);
            soak_ws_abort(&w);
            return;
        case B_BAD_JSON:
            if (!open_ws(c, &w))
                return;
            soak_ws_send_text(&w, "}{not json", 10, IO_TIMEOUT_S);
            expect_close(c, &w);
            soak_ws_close(&w);
            return;
        case B_HTTP: {
            if (!soak_ws_tcp(&w, c->s->port))
            {
                count_fault(c->s, F_REFUSED);
                return;
            }
            static const char get[] =
                "GET /api/v1/live/assets HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            soak_ws_send_raw(&w, get, sizeof get - 1, IO_TIMEOUT_S);
            char buf[4096];
            double deadline = sh_now() + IO_TIMEOUT_S;
            while (sh_now() < deadline && recv(w.fd, buf, sizeof buf, 0) > 0)
            {
            }
            soak_ws_close(&w);
            return;
        }
        case B_COUNT:
            return;
    }
}

static void* client_main(void* arg)
{
    client* c = arg;
    for (int i = 0; sh_now() < c->s->deadline; i++)
    {
        behaviour b = (behaviour)((c->index + i) % B_COUNT);
        run_behaviour(c, b);
        pthread_mutex_lock(&c->s->lock);
        c->s->runs[b]++;
        pthread_mutex_unlock(&c->s->lock);
    }
    return NULL;
}

// --- the host ------------------------------------------------------------------------------------

static pid_t start_host(int port, int max_sessions)
{
    char port_s[16], max_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    snprintf(max_s, sizeof max_s, "%d", max_sessions);
    pid_t pid = fork();
    if (pid == 0)
    {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        execl("/proc/self/exe", "simhost", "serve", "--port", port_s, "--max-sessions", max_s, (char*)NULL);
        _exit(127);
    }
    return pid;
}

static bool port_open(int port)
{
    soak_ws w;
    if (!soak_ws_tcp(&w, port))
        return false;
    soak_ws_close(&w);
    return true;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE* f = fopen(path, "r");
    long kb = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kb;
}

static int fd_count(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR* d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    for (struct dirent* e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

// The host's open session count from /api/v1/health, or -1.
static int host_sessions(int port)
{
    soak_ws w;
    if (!soak_ws_tcp(&w, port))
        return -1;
    static const char get[] = "GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char buf[2048];
    size_t len = 0;
    if (soak_ws_send_raw(&w, get, sizeof get - 1, 2))
    {
        double deadline = sh_now() + 2;
        ssize_t r;
        while (sh_now() < deadline && len + 1 < sizeof buf &&
               (r = recv(w.fd, buf + len, sizeof buf - 1 - len, 0)) > 0)
            len += (size_t)r;
    }
    soak_ws_close(&w);
    buf[len] = '\0';
    const char* p = strstr(buf, "\"sessions\":");
    return p != NULL ? atoi(p + 11) : -1;
}

static bool host_alive(pid_t pid)
{
    return waitpid(pid, NULL, WNOHANG) == 0;
}

// --- options and report ----------------------------------------------------------------------------

static bool parse_options(int argc, char** argv, double* seconds, int* clients)
{
    for (int i = 0; i < argc; i++)
    {
        char* end = NULL;
        if (i + 1 >= argc)
            return false;
        if (strcmp(argv[i], "--seconds") == 0 || strcmp(argv[i], "--minutes") == 0)
        {
            double v = strtod(argv[++i], &end);
            if (*end != '\0' || !(v > 0 && v <= 7 * 24 * 3600))
                return false;
            *seconds = strcmp(argv[i - 1], "--minutes") == 0 ? v * 60 : v;
        }
        else if (strcmp(argv[i], "--clients") == 0)
        {
            long v = strtol(argv[++i], &end, 10);
            if (*end != '\0' || v < 1 || v > 256)
                return false;
            *clients = (int)v;
        }
        else
            return false;
    }
    return true;
}

static void report(const soak* s, double elapsed)
{
    long runs = 0;
    for (int b = 0; b < B_COUNT; b++)
        runs += s->runs[b];
    printf("soak: %.1f s, %ld connections, %ld sessions served (complete runs), %ld frames\n", elapsed, runs,
           s->served, s->frames);
    printf("connections by behaviour:");
    for (int b = 0; b < B_COUNT; b++)
        printf(" %s=%ld", behaviour_names[b], s->runs[b]);
    printf("\nclient-side errors by kind:");
    for (int f = 0; f < F_COUNT; f++)
        printf(" %s=%ld", fault_names[f], s->faults[f]);
    printf("\nhost error lines by message:\n");
    for (int i = 0; i < s->host_error_kinds; i++)
        printf("  %6ld  %s\n", s->host_errors[i].count, s->host_errors[i].text);
}

int sh_cmd_soak(int argc, char** argv)
{
    double seconds = 60;
    int clients = 8;
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
        {
            fputs(soak_usage, stdout);
            return SH_EXIT_OK;
        }
    if (!parse_options(argc, argv, &seconds, &clients))
    {
        fputs(soak_usage, stderr);
        return SH_EXIT_USAGE;
    }
    soak s = {.port = sh_free_port()};
    pthread_mutex_init(&s.lock, NULL);
    pid_t host = start_host(s.port, 2 * clients + 8);
    double up = sh_now() + 30;
    while (host > 0 && !port_open(s.port) && sh_now() < up && host_alive(host))
        usleep(20000);
    if (host <= 0 || !port_open(s.port))
    {
        fprintf(stderr, "simhost soak: the host did not come up\n");
        if (host > 0)
            kill(host, SIGKILL), waitpid(host, NULL, 0);
        return SH_EXIT_FAIL;
    }
    long rss0 = rss_kb(host);
    int fds0 = fd_count(host);
    double t0 = sh_now();
    s.deadline = t0 + seconds;
    client* cs = calloc((size_t)clients, sizeof *cs);
    pthread_t* th = calloc((size_t)clients, sizeof *th);
    for (int i = 0; cs != NULL && th != NULL && i < clients; i++)
    {
        cs[i] = (client){.s = &s, .index = i, .seed = 12345u + (unsigned)i};
        pthread_create(&th[i], NULL, client_main, &cs[i]);
    }
    // Warm-up: the allocator's arenas and the workers' first worlds grow RSS once; what counts is after.
    long rss_warm = -1;
    int fds_warm = -1;
    while (sh_now() < s.deadline && host_alive(host))
    {
        usleep(100000);
        if (rss_warm < 0 && sh_now() - t0 >= seconds / 4)
            rss_warm = rss_kb(host), fds_warm = fd_count(host);
    }
    for (int i = 0; cs != NULL && th != NULL && i < clients; i++)
        pthread_join(th[i], NULL);
    double elapsed = sh_now() - t0;
    bool alive = host_alive(host);
    double settle = sh_now() + 15;
    while (alive && host_sessions(s.port) != 0 && sh_now() < settle)
        usleep(100000);
    long rss1 = alive ? rss_kb(host) : -1;
    int fds1 = alive ? fd_count(host) : -1;
    report(&s, elapsed);
    printf("host RSS kB: start %ld, after warm-up %ld, end %ld\n", rss0, rss_warm, rss1);
    printf("host open fds: start %d, after warm-up %d, end %d (sessions open at the end: %d)\n", fds0,
           fds_warm, fds1, alive ? host_sessions(s.port) : -1);
    int status = -1;
    if (alive)
    {
        kill(host, SIGTERM);
        waitpid(host, &status, 0);
    }
    else
        waitpid(host, &status, 0);
    bool clean = alive && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    printf("host: %s\n", !alive  ? "DIED during the soak"
                         : clean ? "exited cleanly on SIGTERM"
                                 : "exited uncleanly");
    free(cs);
    free(th);
    pthread_mutex_destroy(&s.lock);
    return clean ? SH_EXIT_OK : SH_EXIT_FAIL;
}
