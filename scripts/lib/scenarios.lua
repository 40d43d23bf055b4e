-- Scenario scripts: scripts/scenarios/NAME.lua, each returning
--   { description = "...", params = { defaults... }, setup = function(world, params, ctx) end,
--     on_step = function(world, frame_id, ctx) end,          -- optional, after each step
--     on_message = function(world, msg, ctx) return handled end, -- optional, extension messages
--     on_complete = function(world, ctx) end }                -- optional
-- ctx: { session = session, params = params, reply = function(tbl) end }.
local simhost = require "simhost"
local json = require "lib.json"
local validate = require "lib.validate"

local scenarios = {}

local function path_of(scripts_dir, name)
  return scripts_dir .. "/scenarios/" .. name .. ".lua"
end

-- Loads a scenario by name; nil when there is no such file. Errors in the file propagate.
function scenarios.load(scripts_dir, name)
  if not validate.scenario_name(name) then return nil end
  local path = path_of(scripts_dir, name)
  local f = io.open(path, "rb")
  if not f then return nil end
  f:close()
  local chunk = assert(loadfile(path, "t"))
  local s = chunk()
  if type(s) ~= "table" or type(s.setup) ~= "function" then
    error("scenario '" .. name .. "' must return a table with a setup function", 0)
  end
  return s
end

-- Names of the scenario files, sorted.
function scenarios.names(scripts_dir)
  local names = {}
  for _, file in ipairs(simhost.host.list_dir(scripts_dir .. "/scenarios") or {}) do
    local name = file:match("^(.+)%.lua$")
    if name and validate.scenario_name(name) then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

-- GET /api/v1/live/scenarios: [{name, description, params}], read now (edits show at once).
-- A scenario that fails to load is listed with an `error` instead of being hidden.
function scenarios.list_json(scripts_dir)
  local parts = {}
  for _, name in ipairs(scenarios.names(scripts_dir)) do
    local ok, s = pcall(scenarios.load, scripts_dir, name)
    local entry
    if ok and s then
      entry = { name = name, description = tostring(s.description or ""), params = s.params or {} }
      local enc_ok, enc = pcall(json.encode, entry)
      parts[#parts + 1] = enc_ok and enc or json.encode { name = name, error = "params are not JSON" }
    else
      parts[#parts + 1] = json.encode { name = name, error = "failed to load" }
    end
  end
  return "[" .. table.concat(parts, ",") .. "]"
end

return scenarios
