// HTTP request bytes -> the router (core/net/http_route.c). The input is a request as a client sends it;
// its request line is split as lws would ("METHOD SP target SP version"), and the target's bytes, NULs
// included, go to sh_http_route. Oracle: a static route names a path that cannot leave the web root
// (starts with '/', no "." or ".." segment, no '\\', no control byte) and is the request's own path or
// /index.html; the API routes answer exactly their paths; only the replay API takes other methods.
#include "net_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void require(int ok, const char* what)
{
    if (!ok)
    {
        fprintf(stderr, "fuzz_http_route: %s\n", what);
        abort();
    }
}

static void check_static_path(const char* p)
{
    require(p[0] == '/', "static path does not start with '/'");
    for (const char* q = p; *q; q++)
        require(*q != '\\' && (unsigned char)*q >= 0x20, "static path has '\\' or a control byte");
    for (const char* seg = p; (seg = strchr(seg, '/')) != NULL; seg++)
    {
        require(strncmp(seg, "/../", 4) != 0 && strcmp(seg, "/..") != 0, "static path has a '..' segment");
        require(strncmp(seg, "/./", 3) != 0 && strcmp(seg, "/.") != 0, "static path has a '.' segment");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const uint8_t* sp = memchr(data, ' ', size);
    if (sp == NULL)
        return 0;
    size_t method_len = (size_t)(sp - data);
    const uint8_t* target = sp + 1;
    size_t rest = size - method_len - 1;
    const uint8_t* end = memchr(target, ' ', rest);
    const uint8_t* eol = memchr(target, '\r', rest);
    size_t len = end != NULL ? (size_t)(end - target) : eol != NULL ? (size_t)(eol - target) : rest;
    char* uri = malloc(len + 1);
    if (uri == NULL)
        return 0;
    memcpy(uri, target, len);
    uri[len] = '\0';
    bool get = method_len == 3 && memcmp(data, "GET", 3) == 0;
    bool head = method_len == 4 && memcmp(data, "HEAD", 4) == 0;
    sh_route r = sh_http_route(get, head, uri, len);
    bool replay = strcmp(uri, "/api/v1/simulations") == 0 || strncmp(uri, "/api/v1/simulations/", 20) == 0;
    if (strlen(uri) != len)
        require(r.kind == SH_ROUTE_BAD_PATH, "a path with a NUL was routed");
    else if (replay)
        require(r.kind == SH_ROUTE_REPLAY, "a replay path went elsewhere");
    else if (!get && !head)
        require(r.kind == SH_ROUTE_BAD_METHOD, "a method other than GET/HEAD was routed");
    if (r.kind == SH_ROUTE_REPLAY)
        require(replay, "the replay route on another path");
    if (r.kind == SH_ROUTE_STATIC)
    {
        require(r.path != NULL, "static route without a path");
        require(r.path == uri || strcmp(r.path, "/index.html") == 0,
                "static path is neither the request's nor index");
        check_static_path(r.path);
        require(strncmp(uri, "/api/", 5) != 0, "an /api/ path served as a file");
    }
    if (r.kind == SH_ROUTE_HEALTH)
        require(strcmp(uri, "/api/v1/health") == 0, "health on another path");
    free(uri);
    return 0;
}
