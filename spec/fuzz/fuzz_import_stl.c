// STL bytes -> both STL importers (core/assets/import_stl.c), binary and ASCII, on the same bytes. A mesh
// either importer accepts must pass the oracle (mesh_oracle.h); a rejection must say why.
#include "import.h"
#include "mesh_oracle.h"

#include <stdint.h>
#include <string.h>

static void run(bool binary, const char* data, size_t size)
{
    sh_mesh m = {0};
    sh_error err = {0};
    bool ok = binary ? sh_import_stl_binary("fuzz.stl", (const unsigned char*)data, size, &m, &err)
                     : sh_import_stl_ascii("fuzz.stl", data, size, &m, &err);
    if (ok)
        check_mesh(&m);
    else
        fuzz_require(err.message[0] != '\0', "a rejection without a message");
    sh_mesh_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    char* s = fuzz_terminated_copy(data, size);
    if (s == NULL)
        return 0;
    run(true, s, size);
    run(false, s, size);
    free(s);
    return 0;
}
