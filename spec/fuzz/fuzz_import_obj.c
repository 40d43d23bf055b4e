// OBJ bytes -> the Wavefront OBJ importer (core/assets/import_obj.c). A mesh it accepts must pass the
// oracle (mesh_oracle.h); a rejection must say why.
#include "import.h"
#include "mesh_oracle.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    char* s = fuzz_terminated_copy(data, size);
    if (s == NULL)
        return 0;
    sh_mesh m = {0};
    sh_error err = {0};
    if (sh_import_obj("fuzz.obj", s, size, &m, &err))
        check_mesh(&m);
    else
        fuzz_require(err.message[0] != '\0', "a rejection without a message");
    sh_mesh_free(&m);
    free(s);
    return 0;
}
