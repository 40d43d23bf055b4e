#!/bin/sh
# Runs the named specs with every simhost they start under Valgrind's memcheck (not in CI: the hosts run
# 20-50x slower). Usage, from the source tree after `make build`:
#   sh spec/support/memcheck.sh spec/recordings_spec.lua spec/protocol_spec.lua
# Each simhost process writes its own log; the run fails if a spec fails or any log holds an error or a
# definite/possible leak. SIMHOST_SANITIZE=1 gives the specs their longer waits (as under ASan).
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${SIMHOST_BUILD_DIR:-$src/build}
dir=$(mktemp -d /tmp/simhost-memcheck.XXXXXX)
mkdir "$dir/logs"
cat >"$dir/simhost" <<EOF
#!/bin/sh
exec valgrind -q --leak-check=full --error-exitcode=99 --log-file=$dir/logs/vg.%p.log $build/simhost "\$@"
EOF
chmod +x "$dir/simhost"
LUA_CPATH="$build/lua/?.so;;" LUA_PATH="$src/spec/support/?.lua;$src/scripts/?.lua;;" \
    SIMHOST_BIN="$dir/simhost" SIMHOST_DB="$build/assets.db" SIMHOST_SOURCE_DIR="$src" \
    SIMHOST_BUILD_DIR="$build" SIMHOST_SANITIZE=1 busted --lua=lua5.4 -o utfTerminal "$@"
status=$?
reports=$(find "$dir/logs" -type f -size +0 | wc -l)
echo "memcheck: $(ls "$dir/logs" | wc -l) simhost processes, $reports with a Valgrind report"
if [ "$reports" -gt 0 ]; then
    find "$dir/logs" -type f -size +0 -exec cat {} +
    status=1
fi
rm -rf "$dir"
exit $status
