-- Where the spec run finds the program, the default asset DB, the sources and a scratch dir.
-- ctest sets these (CMakeLists.txt SPEC_ENV); running busted by hand falls back to ./build.
local env = {}

local function getenv(name, fallback)
  local v = os.getenv(name)
  if v == nil or v == "" then return fallback end
  return v
end

env.source_dir = getenv("SIMHOST_SOURCE_DIR", ".")
env.build_dir = getenv("SIMHOST_BUILD_DIR", env.source_dir .. "/build")
env.bin = getenv("SIMHOST_BIN", env.build_dir .. "/simhost")
env.db = getenv("SIMHOST_DB", env.build_dir .. "/assets.db")
env.sanitize = os.getenv("SIMHOST_SANITIZE") == "1"

-- A fresh scratch directory under /tmp, removed by the caller with env.rmtree.
function env.tmpdir()
  local p = io.popen("mktemp -d /tmp/simhost-spec.XXXXXX")
  local dir = p:read("*l")
  p:close()
  return dir
end

function env.rmtree(dir)
  assert(dir:match("^/tmp/simhost%-spec%."), "refusing to remove " .. dir)
  os.execute("rm -rf '" .. dir .. "'")
end

-- Runs a shell command; returns stdout, stderr, exit status.
function env.run(cmd)
  local dir = env.tmpdir()
  local full = string.format("(%s) >%s/out 2>%s/err </dev/null; echo $? >%s/rc", cmd, dir, dir, dir)
  os.execute(full)
  local function slurp(name)
    local f = assert(io.open(dir .. "/" .. name, "rb"))
    local s = f:read("a")
    f:close()
    return s
  end
  local out, err, rc = slurp("out"), slurp("err"), tonumber(slurp("rc"))
  env.rmtree(dir)
  return out, err, rc
end

-- Quotes a string for the shell.
function env.q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

return env
