// core/base: the JSON string escaper every JSON writer shares, the monotonic clock, and errors as one line.
#include "check.h"

#include "simhost/base.h"

#include <string.h>

typedef struct sink
{
    char text[256];
    size_t len;
    int puts; // calls of put: a run of plain bytes goes out in one
} sink;

static void put(void* ctx, const char* bytes, size_t n)
{
    sink* k = ctx;
    if (k->len + n < sizeof k->text)
        memcpy(k->text + k->len, bytes, n);
    k->len += n;
    k->text[k->len < sizeof k->text ? k->len : sizeof k->text - 1] = '\0';
    k->puts++;
}

static sink quote(const char* s)
{
    sink k = {{0}, 0, 0};
    sh_json_string(s, put, &k);
    return k;
}

static void test_json_plain_and_utf8_pass_through(void)
{
    sink k = quote("body 7: m\xc2\xb3 \xe2\x80\xa6 ok");
    CHECK(strcmp(k.text, "\"body 7: m\xc2\xb3 \xe2\x80\xa6 ok\"") == 0);
    CHECK(k.puts == 3); // quote, the whole run, quote
    CHECK(strcmp(quote("").text, "\"\"") == 0);
}

static void test_json_escapes(void)
{
    CHECK(strcmp(quote("a\"b\\c").text, "\"a\\\"b\\\\c\"") == 0);
    CHECK(strcmp(quote("\n\t\x01\x1f").text, "\"\\u000a\\u0009\\u0001\\u001f\"") == 0);
    CHECK(strcmp(quote("\x7f ").text, "\"\x7f \"") == 0); // DEL is not a JSON control character
    CHECK(strcmp(quote("\"").text, "\"\\\"\"") == 0);
}

static void test_clock_never_goes_back(void)
{
    double last = sh_now();
    CHECK(last > 0);
    for (int i = 0; i < 1000; i++)
    {
        double t = sh_now();
        CHECK(t >= last);
        last = t;
    }
}

// Text quoted from outside (SQLite's schema errors quote the file) must not split an error over lines.
static void test_error_is_one_line(void)
{
    sh_error err = {{0}};
    CHECK(!sh_error_set(&err, "not a recording (%s)", "malformed database schema (\n)\r\tx"));
    CHECK(strcmp(err.message, "not a recording (malformed database schema ( )  x)") == 0);
    CHECK(strchr(err.message, '\n') == NULL);
}

int main(void)
{
    RUN(test_json_plain_and_utf8_pass_through);
    RUN(test_json_escapes);
    RUN(test_clock_never_goes_back);
    RUN(test_error_is_one_line);
    return CHECK_SUMMARY();
}
