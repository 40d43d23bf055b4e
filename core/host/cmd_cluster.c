// simhost cluster — N `simhost serve` hosts on free loopback ports and a real HAProxy in front, for
// trying "more than one machine" on one (docs/deploy.md). It only supervises: the hosts and HAProxy
// are ordinary processes, started as an operator would, with the configuration haproxy_config.c
// writes. SIGINT/SIGTERM stops the hosts first (each tells its sessions goodbye), then HAProxy.
#include "cli.h"
#include "haproxy_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

enum
{
    MAX_HOSTS = 64,
    MAX_PASS = 64,     // flags after `--`, handed to every host
    START_WAIT_S = 30, // a host or HAProxy that does not listen by then has failed
    // Each host gets its SIGTERM grace (2 s, core/net/drain.c) plus room for a loaded machine.
    STOP_WAIT_S = 10,
};

static const char cluster_usage[] =
    "usage: simhost cluster [--hosts N] [--port P] [--host ADDR] [--max-sessions M] [--check-inter T]\n"
    "                       [--haproxy PATH] [--print-config] [-- SERVE OPTIONS...]\n"
    "  Starts N hosts (simhost serve, default 3) on free loopback ports, each with an agent-check port,\n"
    "  and HAProxy in front on ADDR:P (default 127.0.0.1:8080) with docs/haproxy.cfg's settings:\n"
    "  balance leastconn, HTTP check GET /api/v1/health, agent check, maxconn M per host (default 64).\n"
    "  --check-inter T   how often HAProxy checks each host (default 1s; HAProxy's time units)\n"
    "  --haproxy PATH    the haproxy program (default /usr/sbin/haproxy, else haproxy on PATH)\n"
    "  --print-config    print the HAProxy configuration (with placeholder ports) and exit\n"
    "  Options after -- go to every host (e.g. -- --workers 1 --exit-when-drained).\n"
    "  Drain a host with kill -USR1 PID (the PIDs are printed); SIGINT or SIGTERM stops everything.\n";

typedef struct cluster
{
    int hosts;
    int port;
    const char* bind_host;
    int max_sessions;
    const char* check_inter;
    const char* haproxy;
    bool print_config;
    char* pass[MAX_PASS];
    int pass_count;
    sh_cluster_host host[MAX_HOSTS];
    pid_t host_pid[MAX_HOSTS];
    pid_t proxy_pid;
    char dir[64];
    char config_path[96];
} cluster;

static int usage_error(const char* fmt, const char* a)
{
    fputs("simhost cluster: ", stderr);
    fprintf(stderr, fmt, a);
    fputs(" (see simhost cluster --help)\n", stderr);
    return SH_EXIT_USAGE;
}

// A check interval HAProxy accepts: digits, then an optional unit (us, ms, s, m).
static bool valid_interval(const char* s)
{
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || digits > 6)
        return false;
    const char* unit = s + digits;
    return *unit == '\0' || strcmp(unit, "us") == 0 || strcmp(unit, "ms") == 0 || strcmp(unit, "s") == 0 ||
           strcmp(unit, "m") == 0;
}

// 1 when --help was printed, otherwise 0 or an exit status.
static int parse_options(int argc, char** argv, cluster* c)
{
    sh_error bad;
    for (int i = 0; i < argc; i++)
    {
        const char* a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
        {
            fputs(cluster_usage, stdout);
            return -1;
        }
        if (strcmp(a, "--") == 0)
        {
            if (argc - i - 1 > MAX_PASS)
                return usage_error("at most 64 options after --%s", "");
            for (i++; i < argc; i++)
                c->pass[c->pass_count++] = argv[i];
            break;
        }
        if (strcmp(a, "--print-config") == 0)
        {
            c->print_config = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
            return usage_error("unexpected argument '%s'", a);
        if (i + 1 >= argc)
            return usage_error("%s needs a value", a);
        const char* v = argv[++i];
        if (strcmp(a, "--hosts") == 0)
        {
            if (!sh_cli_int(a, v, 1, MAX_HOSTS, &c->hosts, &bad))
                return usage_error("%s", bad.message);
        }
        else if (strcmp(a, "--port") == 0)
        {
            if (!sh_cli_int(a, v, 1, 65535, &c->port, &bad))
                return usage_error("%s", bad.message);
        }
        else if (strcmp(a, "--max-sessions") == 0)
        {
            if (!sh_cli_int(a, v, 1, 100000, &c->max_sessions, &bad))
                return usage_error("%s", bad.message);
        }
        else if (strcmp(a, "--check-inter") == 0)
        {
            if (!valid_interval(v))
                return usage_error("--check-inter must be a time like 200ms or 2s, got '%s'", v);
            c->check_inter = v;
        }
        else if (strcmp(a, "--host") == 0)
        {
            // Written into the configuration inside quotes: nothing that could end them.
            if (*v == '\0' || strpbrk(v, "\" \t\n\\") != NULL)
                return usage_error("--host must be an address, got '%s'", v);
            c->bind_host = v;
        }
        else if (strcmp(a, "--haproxy") == 0)
            c->haproxy = v;
        else
            return usage_error("unknown option '%s'", a);
    }
    return 0;
}

static bool port_open(const char* host, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); // a name or 0.0.0.0: HAProxy listens on loopback too
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr*)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

// The child starts with default signal handling and nothing blocked (we block them to sigwait).
static pid_t spawn(const char* path, char* const* args, bool search)
{
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGCHLD);
    sigaddset(&dflt, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int rc = search ? posix_spawnp(&pid, path, NULL, &attr, args, environ)
                    : posix_spawn(&pid, path, NULL, &attr, args, environ);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
    {
        fprintf(stderr, "simhost cluster: cannot start %s: %s\n", path, strerror(rc));
        return -1;
    }
    return pid;
}

static pid_t start_host(cluster* c, int i)
{
    char port_s[16], agent_s[16], max_s[16];
    snprintf(port_s, sizeof port_s, "%d", c->host[i].port);
    snprintf(agent_s, sizeof agent_s, "%d", c->host[i].agent_port);
    snprintf(max_s, sizeof max_s, "%d", c->max_sessions);
    char* args[12 + MAX_PASS] = {"simhost",      "serve", "--port",         port_s,
                                 "--agent-port", agent_s, "--max-sessions", max_s};
    int n = 8;
    for (int k = 0; k < c->pass_count; k++)
        args[n++] = c->pass[k];
    args[n] = NULL;
    return spawn("/proc/self/exe", args, false);
}

static bool exited(pid_t pid)
{
    return pid > 0 && waitpid(pid, NULL, WNOHANG) == pid;
}

// Waits for port to accept connections while pid runs; false if it exits or the deadline passes.
static bool wait_listening(const char* what, pid_t pid, const char* host, int port)
{
    double deadline = sh_now() + START_WAIT_S;
    while (sh_now() < deadline)
    {
        if (port_open(host, port))
            return true;
        if (exited(pid))
        {
            fprintf(stderr, "simhost cluster: %s exited before listening on port %d\n", what, port);
            return false;
        }
        sh_sleep(0.02);
    }
    fprintf(stderr, "simhost cluster: %s did not listen on port %d within %d s\n", what, port, START_WAIT_S);
    return false;
}

static bool write_config(cluster* c)
{
    snprintf(c->dir, sizeof c->dir, "/tmp/simhost-cluster.XXXXXX");
    if (mkdtemp(c->dir) == NULL)
    {
        fprintf(stderr, "simhost cluster: cannot create a directory in /tmp: %s\n", strerror(errno));
        c->dir[0] = '\0';
        return false;
    }
    snprintf(c->config_path, sizeof c->config_path, "%s/haproxy.cfg", c->dir);
    FILE* f = fopen(c->config_path, "w");
    sh_haproxy_setup s = {c->bind_host, c->port, c->max_sessions, c->check_inter, c->host, c->hosts};
    bool ok = f != NULL && sh_haproxy_config_write(f, &s);
    if (f != NULL && fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "simhost cluster: cannot write %s\n", c->config_path);
    return ok;
}

// SIGTERM to each live pid, then wait for all (SIGKILL at the deadline). Hosts before HAProxy, so
// their goodbyes still reach the clients through it.
static void stop_all(cluster* c)
{
    for (int i = 0; i < c->hosts; i++)
        if (c->host_pid[i] > 0)
            kill(c->host_pid[i], SIGTERM);
    double deadline = sh_now() + STOP_WAIT_S;
    for (int i = 0; i < c->hosts; i++)
    {
        if (c->host_pid[i] <= 0)
            continue;
        bool gone = false;
        while (!(gone = exited(c->host_pid[i])) && sh_now() < deadline)
            sh_sleep(0.02);
        if (!gone)
        {
            fprintf(stderr, "simhost cluster: host%d (pid %d) did not stop; killing it\n", i + 1,
                    (int)c->host_pid[i]);
            kill(c->host_pid[i], SIGKILL);
            waitpid(c->host_pid[i], NULL, 0);
        }
        c->host_pid[i] = 0;
    }
    if (c->proxy_pid > 0)
    {
        kill(c->proxy_pid, SIGTERM); // HAProxy's hard stop: nothing is left behind it
        waitpid(c->proxy_pid, NULL, 0);
        c->proxy_pid = 0;
    }
    if (c->dir[0] != '\0')
    {
        unlink(c->config_path);
        rmdir(c->dir);
    }
}

static const char* default_haproxy(void)
{
    // Debian puts it in /usr/sbin, which is not on an ordinary user's PATH.
    return access("/usr/sbin/haproxy", X_OK) == 0 ? "/usr/sbin/haproxy" : "haproxy";
}

static bool start_all(cluster* c)
{
    for (int i = 0; i < c->hosts; i++)
    {
        c->host[i].port = sh_free_port();
        c->host[i].agent_port = sh_free_port();
        if (c->host[i].port < 0 || c->host[i].agent_port < 0 || c->host[i].port == c->host[i].agent_port)
        {
            fputs("simhost cluster: cannot find free ports\n", stderr);
            return false;
        }
    }
    if (!write_config(c))
        return false;
    for (int i = 0; i < c->hosts; i++)
        if ((c->host_pid[i] = start_host(c, i)) < 0)
            return false;
    for (int i = 0; i < c->hosts; i++)
    {
        char what[32];
        snprintf(what, sizeof what, "host%d", i + 1);
        if (!wait_listening(what, c->host_pid[i], "127.0.0.1", c->host[i].port))
            return false;
    }
    char* args[] = {(char*)c->haproxy, "-f", c->config_path, "-db", NULL};
    c->proxy_pid = spawn(c->haproxy, args, true);
    return c->proxy_pid > 0 && wait_listening("haproxy", c->proxy_pid, c->bind_host, c->port);
}

static void print_banner(const cluster* c)
{
    fprintf(stderr, "simhost cluster: http://%s:%d/live through haproxy (pid %d) over %d hosts:\n",
            c->bind_host, c->port, (int)c->proxy_pid, c->hosts);
    for (int i = 0; i < c->hosts; i++)
        fprintf(stderr, "  host%d pid %d http://127.0.0.1:%d agent %d\n", i + 1, (int)c->host_pid[i],
                c->host[i].port, c->host[i].agent_port);
    fputs("simhost cluster: drain a host with kill -USR1 PID; Ctrl-C stops all\n", stderr);
}

// Until SIGINT/SIGTERM (status 0) or HAProxy's exit (1). A host that exits (drained, killed) is
// reported and the others go on: that is what the cluster is for.
static int supervise(cluster* c, const sigset_t* set)
{
    for (;;)
    {
        int sig = 0;
        if (sigwait(set, &sig) != 0)
            return SH_EXIT_FAIL;
        if (sig == SIGINT || sig == SIGTERM)
            return SH_EXIT_OK;
        for (int i = 0; i < c->hosts; i++)
        {
            int status = 0;
            if (c->host_pid[i] > 0 && waitpid(c->host_pid[i], &status, WNOHANG) == c->host_pid[i])
            {
                fprintf(stderr, "simhost cluster: host%d (pid %d) exited (%s %d)\n", i + 1,
                        (int)c->host_pid[i], WIFEXITED(status) ? "status" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
                c->host_pid[i] = 0;
            }
        }
        if (exited(c->proxy_pid))
        {
            fputs("simhost cluster: haproxy exited; stopping the hosts\n", stderr);
            c->proxy_pid = 0;
            return SH_EXIT_FAIL;
        }
    }
}

int sh_cmd_cluster(int argc, char** argv)
{
    static cluster c; // large (argument arrays); one per process
    memset(&c, 0, sizeof c);
    c.hosts = 3;
    c.port = 8080;
    c.bind_host = "127.0.0.1";
    c.max_sessions = 64;
    c.check_inter = "1s";
    c.haproxy = default_haproxy();
    int rc = parse_options(argc, argv, &c);
    if (rc != 0)
        return rc < 0 ? SH_EXIT_OK : rc;
    if (c.print_config)
    {
        for (int i = 0; i < c.hosts; i++)
            c.host[i] = (sh_cluster_host){.port = 9001 + 2 * i, .agent_port = 9002 + 2 * i};
        sh_haproxy_setup s = {c.bind_host, c.port, c.max_sessions, c.check_inter, c.host, c.hosts};
        return sh_haproxy_config_write(stdout, &s) ? SH_EXIT_OK : SH_EXIT_FAIL;
    }
    // Blocked before any child exists, so no signal is lost between the spawns and sigwait.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int status = SH_EXIT_FAIL;
    if (start_all(&c))
    {
        print_banner(&c);
        status = supervise(&c, &set);
    }
    fputs("simhost cluster: stopping\n", stderr);
    stop_all(&c);
    return status;
}
