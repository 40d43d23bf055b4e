// The Unix-socket REPL server (protocol in repl_server.h). One accept thread; one thread per client with
// its own Lua state and REPL engine, so a slow or busy client never holds up another and states need no
// locks. No other thread ever touches a client's Lua state: stopping sets a flag that the state's own count
// hook reads (lua_sethook from another thread would race with the running state's CallInfo list — lua.c
// only does it from a signal handler on the same thread), and shuts the read side of the sockets so
// blocked reads return.
#include "repl_server.h"

#include "repl.h"

#include <errno.h>
#include <lauxlib.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

// Bounds on what one client can make the host hold: concurrent clients, one input line, and how much
// output is gathered before a frame goes out.
#define MAX_CLIENTS    16
#define MAX_LINE       (64 * 1024)
#define OUT_GATHER     (16 * 1024)
#define OUT_LATENCY_MS 50
#define POLL_EVERY     100000 // instructions between checks for an interrupt or a hung-up client
#define SEND_TIMEOUT_S 5
#define CTRL_REQUEST   '\x01'
#define CTRL_INTR      '\x03'

typedef struct repl_client repl_client;

struct sh_repl_server
{
    char path[sizeof(((struct sockaddr_un*)0)->sun_path)];
    int listen_fd;
    int wake[2]; // written by stop to wake the accept thread
    pthread_t accept_thread;
    sh_repl_setup_fn setup;
    void* user;
    pthread_mutex_t lock; // guards clients (the list), touched by the accept thread and stop
    repl_client* clients;
    atomic_bool stopping; // set by stop: a client's EOF then means "server going away", and says so
};

// ONLY touched by its own thread, except `lock`-guarded fd (read by stop) and `done` (read by reaping).
struct repl_client
{
    sh_repl_server* server;
    pthread_t thread;
    pthread_mutex_t lock; // guards fd against sh_repl_server_stop
    int fd;
    atomic_bool done;
    bool broken; // a write failed: the client is gone
    sh_repl_stream out_stream;
    char out[OUT_GATHER];
    size_t out_len;
    int64_t out_flushed_ms; // when output last went out (monotonic clock)
    char in[MAX_LINE];
    size_t in_len;
    repl_client* next;
};

// --- frames ------------------------------------------------------------------------------------

static void send_all(repl_client* c, const char* data, size_t len)
{
    while (len > 0 && !c->broken)
    {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
        {
            c->broken = true;
            return;
        }
        data += n;
        len -= (size_t)n;
    }
}

static void send_frame(repl_client* c, char tag, const char* payload, size_t len)
{
    char head[32];
    int n = snprintf(head, sizeof head, "%c %zu\n", tag, len);
    send_all(c, head, (size_t)n);
    send_all(c, payload, len);
}

static void flush_output(repl_client* c)
{
    if (c->out_len > 0)
        send_frame(c, c->out_stream == SH_REPL_ERR ? 'e' : 'o', c->out, c->out_len);
    c->out_len = 0;
    c->out_flushed_ms = (int64_t)(sh_now() * 1e3);
}

// Output older than OUT_LATENCY_MS goes out even while the chunk still runs, so progress prints of a long
// chunk show as they happen; a burst of prints within it still makes one frame.
static void flush_if_due(repl_client* c)
{
    if (c->out_len > 0 && (int64_t)(sh_now() * 1e3) - c->out_flushed_ms >= OUT_LATENCY_MS)
        flush_output(c);
}

// The engine's write callback: output is gathered per stream, so a loop of prints makes few frames.
static void gather_output(void* user, sh_repl_stream stream, const char* data, size_t len)
{
    repl_client* c = user;
    if (stream != c->out_stream)
    {
        flush_output(c);
        c->out_stream = stream;
    }
    while (len > 0)
    {
        size_t room = sizeof c->out - c->out_len;
        size_t n = len < room ? len : room;
        memcpy(c->out + c->out_len, data, n);
        c->out_len += n;
        data += n;
        len -= n;
        if (c->out_len == sizeof c->out)
            flush_output(c);
    }
    flush_if_due(c);
}

static void send_text(repl_client* c, char tag, const char* s)
{
    flush_output(c);
    send_frame(c, tag, s, strlen(s));
}

// --- running chunks --------------------------------------------------------------------------------

// Every POLL_EVERY instructions (about a millisecond): a stopping server, a client that hung up, or one
// that sent Ctrl-C (byte 0x03) stops the chunk. The client only sends while a chunk runs to interrupt
// it (lockstep protocol), so peeking is enough. A chunk blocked inside one C call is stopped when it returns.
static void poll_client(lua_State* L, lua_Debug* ar)
{
    (void)ar;
    repl_client* c = *(repl_client**)lua_getextraspace(L);
    if (atomic_load(&c->server->stopping))
        luaL_error(L, "interrupted: the REPL server is stopping");
    flush_if_due(c);
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
        return;
    char byte = 0;
    ssize_t n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (p.revents & (POLLHUP | POLLERR)) != 0)
        luaL_error(L, "interrupted: the client disconnected");
    if (n == 1 && byte == CTRL_INTR)
    {
        (void)recv(c->fd, &byte, 1, MSG_DONTWAIT);
        luaL_error(L, "interrupted!");
    }
}

static int os_exit_disabled(lua_State* L)
{
    return luaL_error(L, "os.exit is disabled in an attached REPL (Ctrl-D detaches)");
}

// Reads one line into c->in (without '\n'). Returns 1 for a line, 0 at EOF, -1 on error or an overlong line.
static int read_line(repl_client* c, size_t* len)
{
    for (;;)
    {
        char* nl = memchr(c->in, '\n', c->in_len);
        if (nl != NULL)
        {
            *len = (size_t)(nl - c->in);
            return 1;
        }
        if (c->in_len == sizeof c->in)
            return -1;
        ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
        {
            if (c->in_len == 0)
                return 0;
            *len = c->in_len; // a last line without '\n'
            c->in[c->in_len++] = '\n';
            return 1;
        }
        c->in_len += (size_t)n;
    }
}

static void consume_line(repl_client* c, size_t len)
{
    size_t used = len + 1;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
}

typedef struct frame_buf
{
    char data[MAX_LINE];
    size_t len;
} frame_buf;

static void add_to_frame(void* user, const char* s, size_t len)
{
    frame_buf* f = user;
    if (f->len + len + 1 > sizeof f->data)
        return; // a longer list than fits is no use to a person anyway
    memcpy(f->data + f->len, s, len);
    f->data[f->len + len] = '\n';
    f->len += len + 1;
}

static void handle_request(repl_client* c, lua_State* L, sh_repl* repl, const char* req, size_t len)
{
    if (len == 7 && memcmp(req, "discard", 7) == 0)
    {
        sh_repl_discard(repl); // Ctrl-C at a `>>` prompt
        send_text(c, 'p', sh_repl_prompt(repl));
        return;
    }
    static const char complete[] = "complete ";
    if (len >= sizeof complete - 1 && memcmp(req, complete, sizeof complete - 1) == 0)
    {
        char text[512];
        size_t tlen = len - (sizeof complete - 1);
        frame_buf* f = sh_alloc(sizeof *f);
        if (f != NULL && tlen < sizeof text)
        {
            memcpy(text, req + sizeof complete - 1, tlen);
            text[tlen] = '\0';
            f->len = 0;
            sh_repl_complete(L, text, add_to_frame, f);
            send_frame(c, 'm', f->data, f->len);
        }
        else
        {
            send_frame(c, 'm', "", 0);
        }
        sh_free(f, sizeof *f);
        return;
    }
    send_text(c, 'e', "repl: unknown request\n");
}

static void serve_client(repl_client* c)
{
    sh_error err = {{0}};
    lua_State* L = luaL_newstate();
    if (L == NULL)
    {
        send_text(c, 'e', "repl: out of memory\n");
        send_text(c, 'x', "1");
        return;
    }
    *(repl_client**)lua_getextraspace(L) = c;
    sh_repl* repl = NULL;
    if (!c->server->setup(L, c->server->user, &err))
    {
        char line[320];
        snprintf(line, sizeof line, "repl: %s\n", err.message);
        send_text(c, 'e', line);
        send_text(c, 'x', "1");
        goto done;
    }
    repl = sh_repl_new(L, gather_output, c);
    if (repl == NULL)
    {
        send_text(c, 'e', "repl: out of memory\n");
        send_text(c, 'x', "1");
        goto done;
    }
    sh_repl_redirect_print(repl);
    // os.exit would end the whole host, not this client's session.
    if (lua_getglobal(L, "os") == LUA_TTABLE)
    {
        lua_pushcfunction(L, os_exit_disabled);
        lua_setfield(L, -2, "exit");
    }
    lua_pop(L, 1);

    char greeting[160];
    snprintf(greeting, sizeof greeting,
             "simhost %s, %s — attached; Tab completes, Ctrl-C interrupts, Ctrl-D detaches\n", SH_VERSION,
             LUA_RELEASE);
    send_text(c, 'i', greeting);
    send_text(c, 'p', sh_repl_prompt(repl));
    while (!c->broken)
    {
        size_t len = 0;
        int got = read_line(c, &len);
        if (got < 0)
        {
            send_text(c, 'e', "repl: input line too long (over 64 KiB) or unreadable; disconnecting\n");
            send_text(c, 'x', "1");
            break;
        }
        if (got == 0)
        {
            if (atomic_load(&c->server->stopping))
                send_text(c, 'e', "repl: the server is stopping; disconnected\n");
            sh_repl_finish(repl);
            send_text(c, 'x', sh_repl_failures(repl) > 0 ? "1" : "0");
            break;
        }
        const char* line = c->in;
        // A Ctrl-C byte that arrived after its chunk had already finished is no input.
        while (len > 0 && line[0] == CTRL_INTR)
        {
            line++;
            len--;
        }
        if (len > 0 && line[0] == CTRL_REQUEST)
        {
            handle_request(c, L, repl, line + 1, len - 1);
            consume_line(c, (size_t)(line - c->in) + len);
            continue;
        }
        lua_sethook(L, poll_client, LUA_MASKCOUNT, POLL_EVERY);
        sh_repl_state st = sh_repl_feed(repl, line, len);
        lua_sethook(L, NULL, 0, 0);
        consume_line(c, (size_t)(line - c->in) + len);
        send_text(c, st == SH_REPL_MORE ? 'c' : 'p', sh_repl_prompt(repl));
    }
done:
    sh_repl_free(repl);
    lua_close(L);
}

static void* client_main(void* arg)
{
    repl_client* c = arg;
    serve_client(c);
    pthread_mutex_lock(&c->lock);
    close(c->fd);
    c->fd = -1;
    pthread_mutex_unlock(&c->lock);
    atomic_store(&c->done, true);
    return NULL;
}

static void free_client(repl_client* c)
{
    pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->lock);
    sh_free(c, sizeof *c);
}

// Joins the threads of clients that left. Called with server->lock held.
static int reap_clients(sh_repl_server* s)
{
    int live = 0;
    repl_client** link = &s->clients;
    while (*link != NULL)
    {
        repl_client* c = *link;
        if (atomic_load(&c->done))
        {
            *link = c->next;
            free_client(c);
        }
        else
        {
            live++;
            link = &c->next;
        }
    }
    return live;
}

static void refuse(int fd, const char* why)
{
    char msg[160];
    int n = snprintf(msg, sizeof msg, "e %zu\n%sx 1\n1", strlen(why), why);
    (void)send(fd, msg, (size_t)n, MSG_NOSIGNAL);
    close(fd);
}

static void accept_client(sh_repl_server* s, int fd)
{
    pthread_mutex_lock(&s->lock);
    int live = reap_clients(s);
    pthread_mutex_unlock(&s->lock);
    if (live >= MAX_CLIENTS)
    {
        refuse(fd, "repl: too many clients attached; try again later\n");
        return;
    }
    repl_client* c = sh_alloc_zeroed(sizeof *c);
    if (c == NULL)
    {
        refuse(fd, "repl: out of memory\n");
        return;
    }
    // A client that stops reading must not hold its thread (and so sh_repl_server_stop) forever.
    struct timeval timeout = {.tv_sec = SEND_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    c->server = s;
    c->fd = fd;
    pthread_mutex_init(&c->lock, NULL);
    if (pthread_create(&c->thread, NULL, client_main, c) != 0)
    {
        pthread_mutex_destroy(&c->lock);
        sh_free(c, sizeof *c);
        refuse(fd, "repl: cannot start a thread for this client\n");
        return;
    }
    pthread_mutex_lock(&s->lock);
    c->next = s->clients;
    s->clients = c;
    pthread_mutex_unlock(&s->lock);
}

static void* accept_main(void* arg)
{
    sh_repl_server* s = arg;
    for (;;)
    {
        struct pollfd p[2] = {{.fd = s->listen_fd, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0)
        {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents != 0)
            break;
        if (p[0].revents & POLLIN)
        {
            int fd = accept(s->listen_fd, NULL, NULL);
            if (fd >= 0)
                accept_client(s, fd);
        }
    }
    return NULL;
}

// --- start and stop ------------------------------------------------------------------------------

// A socket file at path: another live server (connect works) is refused; a stale one is removed.
static bool clear_path(const char* path, const struct sockaddr_un* addr, sh_error* err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
    {
        if (errno == ENOENT)
            return true;
        return sh_error_set(err, "%s: %s", path, strerror(errno));
    }
    if (!S_ISSOCK(st.st_mode))
        return sh_error_set(err, "%s: exists and is not a socket; refusing to replace it", path);
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return sh_error_set(err, "socket: %s", strerror(errno));
    bool live = connect(probe, (const struct sockaddr*)addr, sizeof *addr) == 0;
    close(probe);
    if (live)
        return sh_error_set(err, "%s: a REPL server is already listening there", path);
    if (unlink(path) != 0)
        return sh_error_set(err, "%s: cannot remove the stale socket: %s", path, strerror(errno));
    return true;
}

sh_repl_server* sh_repl_server_start(const char* path, sh_repl_setup_fn setup, void* user, sh_error* err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (path == NULL || path[0] == '\0')
    {
        sh_error_set(err, "REPL socket path is empty");
        return NULL;
    }
    if (strlen(path) >= sizeof addr.sun_path)
    {
        sh_error_set(err, "%s: socket path too long (at most %zu bytes)", path, sizeof addr.sun_path - 1);
        return NULL;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);

    sh_repl_server* s = sh_alloc_zeroed(sizeof *s);
    if (s == NULL)
    {
        sh_error_set(err, "out of memory");
        return NULL;
    }
    s->listen_fd = -1;
    s->wake[0] = s->wake[1] = -1;
    s->setup = setup;
    s->user = user;
    memcpy(s->path, path, strlen(path) + 1);
    pthread_mutex_init(&s->lock, NULL);
    bool bound = false;

    if (!clear_path(path, &addr, err))
        goto fail;
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0)
    {
        sh_error_set(err, "socket: %s", strerror(errno));
        goto fail;
    }
    // The socket file is created by bind with mode 0777 & ~umask: narrow the umask so it is never, even
    // briefly, open to others (a REPL runs arbitrary code as this user), then chmod to be explicit.
    // The umask is process-wide; this runs at startup, before the threads that create files.
    mode_t old = umask(0177);
    int rc = bind(s->listen_fd, (struct sockaddr*)&addr, sizeof addr);
    int bind_errno = errno;
    umask(old);
    if (rc != 0)
    {
        sh_error_set(err, "%s: bind: %s", path, strerror(bind_errno));
        goto fail;
    }
    bound = true;
    if (chmod(path, 0600) != 0 || listen(s->listen_fd, 8) != 0)
    {
        sh_error_set(err, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (pipe(s->wake) != 0)
    {
        sh_error_set(err, "pipe: %s", strerror(errno));
        goto fail;
    }
    if (pthread_create(&s->accept_thread, NULL, accept_main, s) != 0)
    {
        sh_error_set(err, "cannot start the REPL accept thread");
        goto fail;
    }
    return s;
fail:
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (bound)
        unlink(path);
    if (s->wake[0] >= 0)
    {
        close(s->wake[0]);
        close(s->wake[1]);
    }
    pthread_mutex_destroy(&s->lock);
    sh_free(s, sizeof *s);
    return NULL;
}

void sh_repl_server_stop(sh_repl_server* s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stopping, true);
    char byte = 1;
    while (write(s->wake[1], &byte, 1) < 0 && errno == EINTR)
        ;
    pthread_join(s->accept_thread, NULL);
    close(s->listen_fd);
    unlink(s->path);

    pthread_mutex_lock(&s->lock);
    for (repl_client* c = s->clients; c != NULL; c = c->next)
    {
        pthread_mutex_lock(&c->lock);
        // Only the read side: a blocked read returns EOF, and the client still gets the last frames
        // (the interrupted chunk's error, the x frame). SO_SNDTIMEO bounds a write to one that reads not.
        if (c->fd >= 0)
            shutdown(c->fd, SHUT_RD);
        pthread_mutex_unlock(&c->lock);
    }
    while (s->clients != NULL)
    {
        repl_client* c = s->clients;
        s->clients = c->next;
        free_client(c);
    }
    pthread_mutex_unlock(&s->lock);
    close(s->wake[0]);
    close(s->wake[1]);
    pthread_mutex_destroy(&s->lock);
    sh_free(s, sizeof *s);
}
