// Default locations of the asset DB, scripts and web files: the build tree this binary came from when
// it still exists (a developer's checkout), else the install prefix. SIMHOST_* environment overrides.
#include "cli.h"

#include <stdlib.h>
#include <unistd.h>

static const char* first_existing(const char* env, const char* build_path, const char* install_path)
{
    const char* v = getenv(env);
    if (v != NULL && v[0] != '\0')
        return v;
    if (access(build_path, F_OK) == 0)
        return build_path;
    return install_path;
}

// SIMHOST_DB, else MSD_ASSETS_DB: the old service's variable, so its deployments keep pointing at
// their DB unchanged.
const char* sh_default_assets_db(void)
{
    const char* old = getenv("MSD_ASSETS_DB");
    const char* ours = getenv("SIMHOST_DB");
    if ((ours == NULL || ours[0] == '\0') && old != NULL && old[0] != '\0')
        return old;
    return first_existing("SIMHOST_DB", SH_BUILD_DIR "/assets.db", SH_INSTALL_DATADIR "/assets.db");
}

const char* sh_default_scripts_dir(void)
{
    return first_existing("SIMHOST_SCRIPTS", SH_SOURCE_DIR "/scripts", SH_INSTALL_DATADIR "/scripts");
}

const char* sh_default_web_dir(void)
{
    return first_existing("SIMHOST_WEB", SH_SOURCE_DIR "/web", SH_INSTALL_DATADIR "/web");
}
