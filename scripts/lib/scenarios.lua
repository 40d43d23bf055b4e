-- Scenario scripts (docs/scenarios.md): scripts/scenarios/NAME.lua, each returning
--   { description = "one line",
--     params = { count = { default = 10, type = "integer", min = 1, max = 200, doc = "..." }, ... },
--     gravity = {0, 0, -9.81},   -- optional: the world is created with it (worlds cannot change it later)
--     ground = true,             -- optional: false = no ground slab unless the client asks for one
--     duration = 5,              -- optional: `simhost run`'s default --duration
--     check = function(params) return nil_or_message end, -- optional: rules across params
--     setup = function(world, params, ctx) end,
--     on_step = function(world, t, dt) end,                -- optional, after each step (t: time after it)
--     on_message = function(ctx, msg) return handled end,  -- optional, the scenario's own message types
--     on_complete = function(world) return summary end }   -- optional, a JSON-able table
-- ctx: { world, params, assets (the DB), session (the live session, or nil under `simhost run`) },
-- and ctx:reply(tbl).
-- Used by scripts/session.lua (live) and scripts/lib/run.lua (`simhost run`), so both check params alike.
local simhost = require "simhost"
local json = require "lib.json"
local validate = require "lib.validate"

local scenarios = {}

-- The ground: the DB's `ground` asset (default: a 200 × 200 × 1 m slab centred on its origin) placed
-- so its top face is at z = 0, i.e. its origin at -bounds_max.z.
scenarios.GROUND_ASSET = "ground"

local function path_of(scripts_dir, name)
  return scripts_dir .. "/scenarios/" .. name .. ".lua"
end

-- Loads a scenario by name; nil when there is no such file. Errors in the file propagate.
-- loadfile, not require: the file is read afresh each time, so edits apply to the next session or run.
function scenarios.load(scripts_dir, name)
  if not validate.scenario_name(name) then return nil end
  local path = path_of(scripts_dir, name)
  local chunk, err = loadfile(path, "t")
  if not chunk then
    if err:find("^cannot open ") then return nil end -- no such scenario
    error(err, 0)
  end
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

-- ---------------------------------------------------------------------------------------------
-- Parameters

local TYPES = { integer = true, number = true, boolean = true, string = true, asset = true, assets = true }

local function num(v)
  if math.type(v) == "integer" then return tostring(v) end
  return string.format("%.10g", v)
end

-- What a param must be, as the tail of "param 'NAME' must be ...".
local function expectation(spec)
  local t = spec.type
  if t == "integer" or t == "number" then
    local what = t == "integer" and "an integer" or "a number"
    if spec.min and spec.max then return what .. " in " .. num(spec.min) .. " … " .. num(spec.max) end
    if spec.min then return what .. " >= " .. num(spec.min) end
    if spec.max then return what .. " <= " .. num(spec.max) end
    return what
  elseif t == "boolean" then
    return "true or false"
  elseif t == "asset" then
    return "an asset name"
  elseif t == "assets" then
    return "a list of asset names (an array, or one string of names separated by commas)"
  elseif spec.values then
    local quoted = {}
    for i, v in ipairs(spec.values) do quoted[i] = "'" .. v .. "'" end
    return "one of " .. table.concat(quoted, ", ")
  end
  return "a string"
end

-- The scenario's params as name → {default, type, min, max, values, doc}. A plain value (`count = 3`)
-- is shorthand for a param of that value's type with no range. A malformed spec is the script's bug.
function scenarios.param_specs(s)
  local specs = {}
  for name, p in pairs(s.params or {}) do
    if type(name) ~= "string" then error("scenario params must be keyed by name", 0) end
    local spec
    if type(p) == "table" then
      spec = p
    elseif math.type(p) == "integer" then
      spec = { default = p, type = "integer" }
    elseif type(p) == "number" then
      spec = { default = p, type = "number" }
    elseif type(p) == "boolean" or type(p) == "string" then
      spec = { default = p, type = type(p) }
    end
    if not spec or not TYPES[spec.type] or spec.default == nil then
      error("scenario param '" .. name .. "' needs a default and a type (" ..
        "integer, number, boolean, string, asset or assets)", 0)
    end
    specs[name] = spec
  end
  return specs
end

local function not_found(param, asset)
  return "param '" .. param .. "': Asset '" .. asset .. "' not found"
end

-- Returns true when every name is in the DB (or there is no DB to ask), else nil and the first missing.
local function check_names(names, db)
  if not db then return true end
  for _, n in ipairs(names) do
    if db:find(n) == nil then return nil, n end
  end
  return true
end

-- An `assets` value: a list of names (a JSON array, a Lua list) or one string of names separated by
-- commas (the command line's form, and how a default may be written). The scenario always gets the list,
-- so no scenario splits strings. Returns the list, or nil.
local function assets_list(v)
  local names = {}
  if type(v) == "string" then
    if #v > 4096 then return nil end
    for part in (v .. ","):gmatch("([^,]*),") do names[#names + 1] = part:match("^%s*(.-)%s*$") end
  elseif validate.array(v) and #v <= 1024 then
    for i, n in ipairs(v) do
      if type(n) ~= "string" then return nil end
      names[i] = n
    end
  else
    return nil
  end
  if #names == 0 then return nil end
  for _, n in ipairs(names) do
    if n == "" or #n > 4096 then return nil end
  end
  return names
end

local function check_assets(param, v, bad, db)
  local names = assets_list(v)
  if not names then return nil, bad end
  local ok, missing = check_names(names, db)
  if not ok then return nil, not_found(param, missing) end
  return names
end

-- One value checked against its spec. `from_string`: the value came from the command line, so
-- "3" may be the integer 3. Returns the value (integers as Lua integers), or nil, message.
local function check_value(name, spec, v, from_string, db)
  local bad = "param '" .. name .. "' must be " .. expectation(spec)
  local t = spec.type
  if t == "integer" or t == "number" then
    if from_string and type(v) == "string" then v = tonumber(v) end
    if not validate.finite(v) then return nil, bad end
    if t == "integer" then
      v = math.tointeger(v)
      if v == nil then return nil, bad end
    end
    if (spec.min and v < spec.min) or (spec.max and v > spec.max) then return nil, bad end
    return v
  elseif t == "boolean" then
    if from_string and type(v) == "string" then
      if v == "true" or v == "1" then v = true elseif v == "false" or v == "0" then v = false end
    end
    if type(v) ~= "boolean" then return nil, bad end
    return v
  end
  if t == "assets" then return check_assets(name, v, bad, db) end
  if type(v) ~= "string" or #v > 4096 then return nil, bad end
  if t == "string" then
    if spec.values then
      for _, allowed in ipairs(spec.values) do
        if v == allowed then return v end
      end
      return nil, bad
    end
    return v
  end
  -- asset: a name in the DB (when there is one to ask).
  if v == "" then return nil, bad end
  if not check_names({ v }, db) then return nil, not_found(name, v) end
  return v
end

-- The scenario's defaults overlaid with `given` (a table of name → value), every value checked.
-- Returns params, or nil and one line naming the param: "unknown param 'foo'",
-- "param 'count' must be an integer in 1 … 200". Unknown names are reported in sorted order, so
-- the message does not depend on table order.
function scenarios.resolve_params(s, given, opts)
  opts = opts or {}
  local specs = scenarios.param_specs(s)
  local names = {}
  for name in pairs(given or {}) do names[#names + 1] = tostring(name) end
  table.sort(names)
  for _, name in ipairs(names) do
    if not specs[name] then return nil, "unknown param '" .. name .. "'" end
  end
  local params = {}
  for name, spec in pairs(specs) do
    params[name] = spec.default
    -- An `assets` default may be written as on the command line; the scenario gets the list.
    if spec.type == "assets" then
      params[name] = assets_list(spec.default) or error("scenario param '" .. name .. "': bad default", 0)
    end
  end
  for _, name in ipairs(names) do
    local v, err = check_value(name, specs[name], given[name], opts.from_strings, opts.assets)
    if err then return nil, err end
    params[name] = v
  end
  -- Rules across params: the scenario's optional check(params) → nil or one line.
  if type(s.check) == "function" then
    local msg = s.check(params)
    if msg ~= nil then return nil, tostring(msg) end
  end
  return params
end

-- ---------------------------------------------------------------------------------------------
-- Building a scenario's world

-- Spawns the ground (top face at z = 0). Returns its body id, or nil and the error line.
function scenarios.spawn_ground(world, db)
  local info = db:find(scenarios.GROUND_ASSET)
  if info == nil then return nil, "Asset '" .. scenarios.GROUND_ASSET .. "' not found" end
  local top = info.bounds_max and info.bounds_max[3] or 0.5
  return world:spawn { asset = scenarios.GROUND_ASSET, position = { 0, 0, -top }, orientation = { 0, 0, 0 },
                       environment = true, restitution = 0.5, friction = 0.5 }
end

-- Whether a scenario's world gets the ground: the client's choice when it made one, else the scenario's.
function scenarios.wants_ground(s, requested)
  if requested ~= nil then return requested end
  return not (s and s.ground == false)
end

-- The world for a scenario (or for plain objects when s is nil): its gravity, the asset DB.
function scenarios.new_world(db, s)
  return simhost.world { assets = db, gravity = s and s.gravity or nil }
end

-- What on_message(ctx, msg) and setup's third argument see: the world, the params, the asset DB, the
-- live session (nil under `simhost run`) and ctx:reply(tbl), which sends tbl as JSON to the client
-- (under `simhost run` there is no client and it does nothing).
function scenarios.context(world, params, db, send, session)
  local ctx = { world = world, params = params, assets = db, session = session }
  function ctx.reply(self_or_tbl, tbl)
    -- Both ctx:reply(t) and ctx.reply(t) work: the older scripts called it as a function.
    local t = tbl
    if t == nil then t = self_or_tbl end
    if send then send(json.encode(t)) end
  end
  return ctx
end

-- Calls on_complete; returns its summary as a JSON string, or nil when there is none (or it is not
-- JSON-able: the error is returned second so the caller can log it).
function scenarios.summary_json(s, world)
  if not (s and s.on_complete) then return nil end
  local summary = s.on_complete(world)
  if summary == nil then return nil end
  local ok, enc = pcall(json.encode, summary)
  if not ok then return nil, "on_complete's summary is not JSON: " .. tostring(enc) end
  return enc
end

-- ---------------------------------------------------------------------------------------------
-- GET /api/v1/live/scenarios: [{name, description, params, param_info}], read now (edits show at once).
-- `params` holds the defaults (protocol.md); `param_info` (ext) the type, range and doc of each.
-- A scenario that fails to load is listed with an `error` instead of being hidden.
function scenarios.list_json(scripts_dir)
  local parts = {}
  for _, name in ipairs(scenarios.names(scripts_dir)) do
    local ok, s = pcall(scenarios.load, scripts_dir, name)
    local specs
    if ok and s then ok, specs = pcall(scenarios.param_specs, s) end
    if ok and s then
      local defaults, info = {}, {}
      for pname, spec in pairs(specs) do
        defaults[pname] = spec.default
        info[pname] = { type = spec.type, min = spec.min, max = spec.max, values = spec.values,
                        doc = spec.doc and tostring(spec.doc) or nil }
      end
      local entry = { name = name, description = tostring(s.description or ""), params = defaults,
                      param_info = info }
      local enc_ok, enc = pcall(json.encode, entry) -- cjson writes an empty table as {}
      parts[#parts + 1] = enc_ok and enc or json.encode { name = name, error = "params are not JSON" }
    else
      parts[#parts + 1] = json.encode { name = name, error = "failed to load" }
    end
  end
  return "[" .. table.concat(parts, ",") .. "]"
end

return scenarios
