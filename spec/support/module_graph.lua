-- The C module graph, read from the #include "…" lines (docs/modules.md). Used by spec/modules_spec.lua
-- (the check in `make test`) and by `make module-graph`, which writes docs/module-graph.md:
--   lua5.4 spec/support/module_graph.lua [SOURCE_DIR] [OUT.md]   -- exit 1 on a forbidden edge
local M = {}

-- Lowest first. A module may include the public headers of the modules in its `uses` list only.
M.order = { "base", "hull", "assets", "physics", "frame", "rec", "bindings", "net", "host" }
local uses = {
  base = {},
  hull = { "base" },
  assets = { "base", "hull" },
  physics = { "base", "hull" }, -- collision geometry, never the asset DB
  frame = { "base", "hull", "physics" }, -- the SHF1 codec: frames are made of the world's state
  rec = { "base", "hull", "physics", "frame" }, -- recording files: SHF1 frames in SQLite
  bindings = { "base", "hull", "assets", "physics", "frame", "rec" },
  net = { "base", "hull", "assets", "physics", "frame", "rec", "bindings" },
  host = { "base", "hull", "assets", "physics", "frame", "rec", "bindings", "net" },
}

-- Public headers (core/include/simhost/NAME) by module.
local public = {
  ["base.h"] = "base",
  ["hull.h"] = "hull",
  ["assets.h"] = "assets",
  ["physics.h"] = "physics",
  ["float_text.h"] = "base", -- shortest round-trip float text
  ["json_buf.h"] = "base", -- the JSON text buffer
  ["task_pool.h"] = "base", -- worker threads behind the task interface
  ["world_snapshot.h"] = "physics", -- a world's mass properties and energy split, for recordings
  ["frame.h"] = "frame",
  ["recording.h"] = "rec",
  ["lua.h"] = "bindings",
  ["server.h"] = "net",
}

local hull_files = { ["core/assets/hull.c"] = true, ["core/assets/hull.h"] = true, ["core/assets/mass.c"] = true }

-- The module a source path (relative to the source dir) belongs to, or nil for what is not C of
-- the program (specs, web).
function M.module_of(path)
  local header = path:match("^core/include/simhost/([^/]+)$")
  if header then return public[header] or "unknown public header " .. header end
  if hull_files[path] then return "hull" end
  local dir = path:match("^core/(%w+)/") or path:match("^(bindings)/")
  return dir
end

local function read_lines(cmd)
  local p = assert(io.popen(cmd))
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

-- Every C file of the modules and what it includes: { {file, module, includes = {{name, target}}} }.
function M.scan(root)
  local files = read_lines("cd '" .. root .. "' && find core bindings -name '*.[ch]' | LC_ALL=C sort")
  local by_name = {} -- basename -> path, false when two files share it
  for _, file in ipairs(files) do
    local base = file:match("[^/]+$")
    by_name[base] = by_name[base] == nil and file or false
  end
  local out = {}
  for _, file in ipairs(files) do
    local dir = file:match("^(.*)/[^/]+$")
    local entry = { file = file, module = M.module_of(file), includes = {} }
    for line in io.lines(root .. "/" .. file) do
      local name = line:match('^%s*#%s*include%s+"([^"]+)"')
      if name then
        local target
        if name:match("^simhost/") then
          target = "core/include/" .. name
        elseif exists(root .. "/" .. dir .. "/" .. name) then
          target = dir .. "/" .. name
        else
          target = by_name[name] or name -- found through another module's include path
        end
        entry.includes[#entry.includes + 1] = { name = name, target = target }
      end
    end
    out[#out + 1] = entry
  end
  return out
end

local function allowed(from, to)
  if from == to then return true end
  for _, m in ipairs(uses[from] or {}) do
    if m == to then return true end
  end
  return false
end

-- Module edges {from -> {to -> {files}}} and the problems: an include of a private header from another
-- folder, or of a module `from` may not use (a back edge, or physics -> assets).
function M.analyse(files)
  local edges, problems = {}, {}
  for _, f in ipairs(files) do
    for _, inc in ipairs(f.includes) do
      local to = M.module_of(inc.target)
      if to == nil then
        problems[#problems + 1] = ("%s includes \"%s\": a private header of another module"):format(f.file,
          inc.name)
      elseif to ~= f.module then
        local same_dir = inc.target:match("^(.*)/") == f.file:match("^(.*)/") -- hull and assets share one
        if not inc.target:match("^core/include/") and not same_dir then
          problems[#problems + 1] = ("%s includes %s: a private header of %s"):format(f.file, inc.target, to)
        end
        if not allowed(f.module, to) then
          problems[#problems + 1] = ("%s includes %s: %s may not use %s (docs/modules.md)"):format(f.file,
            inc.target, f.module, to)
        end
        edges[f.module] = edges[f.module] or {}
        local list = edges[f.module][to] or {}
        edges[f.module][to] = list
        if list[#list] ~= f.file then list[#list + 1] = f.file end
      end
    end
  end
  return edges, problems
end

-- docs/module-graph.md: the Graphviz graph of module edges and, per edge, the files that make it.
function M.render(edges, problems)
  local lines = {
    "# Module graph",
    "",
    "Generated by `make module-graph` from the `#include \"…\"` lines of `core/` and `bindings/`",
    "(`spec/support/module_graph.lua`); `docs/modules.md` says what each module is and which it may",
    "use. An edge A -> B: a file of A includes a public header of B. `make test` fails on an edge",
    "that points the wrong way (`spec/modules_spec.lua`).",
    "",
    "```dot",
    "digraph modules {",
    "  rankdir=BT;",
  }
  for _, from in ipairs(M.order) do
    for _, to in ipairs(M.order) do
      if edges[from] and edges[from][to] then
        lines[#lines + 1] = ("  %s -> %s;"):format(from, to)
      end
    end
  end
  lines[#lines + 1] = "}"
  lines[#lines + 1] = "```"
  lines[#lines + 1] = ""
  lines[#lines + 1] = "| edge | files |"
  lines[#lines + 1] = "|---|---|"
  for _, from in ipairs(M.order) do
    for _, to in ipairs(M.order) do
      local list = edges[from] and edges[from][to]
      if list then
        lines[#lines + 1] = ("| %s -> %s | %s |"):format(from, to, table.concat(list, ", "))
      end
    end
  end
  if #problems > 0 then
    lines[#lines + 1] = ""
    lines[#lines + 1] = "Forbidden edges:"
    lines[#lines + 1] = ""
    for _, p in ipairs(problems) do lines[#lines + 1] = "- " .. p end
  end
  return table.concat(lines, "\n") .. "\n"
end

if arg and arg[0] and arg[0]:match("module_graph%.lua$") then
  local root, out = arg[1] or ".", arg[2]
  local edges, problems = M.analyse(M.scan(root))
  local text = M.render(edges, problems)
  if out then
    local f = assert(io.open(out, "w"))
    f:write(text)
    f:close()
  else
    io.write(text)
  end
  for _, p in ipairs(problems) do io.stderr:write("module graph: ", p, "\n") end
  os.exit(#problems == 0 and 0 or 1)
end

return M
