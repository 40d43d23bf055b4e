// Numbers on the command line (cli.h): one parser and one message for every subcommand's options.
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

bool sh_cli_int(const char* option, const char* text, int lo, int hi, int* out, sh_error* err)
{
    char* end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi)
        return sh_error_set(err, "%s must be an integer in %d … %d, got '%s'", option, lo, hi, text);
    *out = (int)v;
    return true;
}

bool sh_cli_number(const char* option, const char* text, double lo, double hi, bool above_lo, double* out,
                   sh_error* err)
{
    char* end;
    errno = 0;
    double v = strtod(text, &end);
    bool in_range = above_lo ? v > lo && v <= hi : v >= lo && v <= hi; // false for NaN
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v) || !in_range)
    {
        // %.15g: whole bounds print as integers (1e7 as 10000000), as the help texts write them.
        if (above_lo)
            return sh_error_set(err, "%s must be a number in %.15g … %.15g, above %.15g, got '%s'", option,
                                lo, hi, lo, text);
        return sh_error_set(err, "%s must be a number in %.15g … %.15g, got '%s'", option, lo, hi, text);
    }
    *out = v;
    return true;
}
