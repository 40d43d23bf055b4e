-- Validation of client messages with the exact error strings of protocol.md. Every checker returns
-- nil when the value is acceptable, or the one-line message to send.
local validate = {}

local huge = math.huge

-- A number (never a string that looks like one), not NaN, not ±inf.
function validate.finite(v)
  return type(v) == "number" and v == v and v ~= huge and v ~= -huge
end

local finite = validate.finite

-- A JSON array of exactly n finite numbers (and nothing else in the table).
function validate.vec(v, n)
  if type(v) ~= "table" then return false end
  local count = 0
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
    count = count + 1
  end
  if count ~= n then return false end
  for i = 1, n do
    if not finite(v[i]) then return false end
  end
  return true
end

-- A JSON array (a table whose keys are exactly 1..#t; an empty JSON object decodes the same as []).
function validate.array(v)
  if type(v) ~= "table" then return false end
  local n = #v
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
  end
  return true
end

-- A JSON object: a table with only string keys.
function validate.object(v)
  if type(v) ~= "table" then return false end
  for k in pairs(v) do
    if type(k) ~= "string" then return false end
  end
  return true
end

local OBJECT_TYPES = { inertial = true, environment = true }
local BODY_SCALARS = { "mass", "restitution", "friction" } -- protocol.md's order
local spawn_check = require("simhost").spawn_check

-- One SpawnObject; `i` is its 0-based index on the wire. Returns nil, or the error message.
-- Field order is the order of protocol.md's table, so the first bad field is the one named.
local function check_object(o, i)
  local p = "objects[" .. i .. "]"
  if not validate.object(o) then return p .. " must be an object" end
  if type(o.asset_name) ~= "string" or o.asset_name == "" then
    return p .. ".asset_name must be a non-empty string"
  end
  if not validate.vec(o.position, 3) then return p .. ".position must be an array of 3 finite numbers" end
  if not validate.vec(o.orientation, 3) then return p .. ".orientation must be an array of 3 finite numbers" end
  if not OBJECT_TYPES[o.object_type] then return p .. ".object_type must be 'inertial' or 'environment'" end
  -- The bounds are the core's (simhost.spawn_check), the same ones w:spawn and sh_body_create enforce.
  for _, field in ipairs(BODY_SCALARS) do
    local v = o[field]
    local what = v ~= nil and spawn_check(field, v)
    if what then return p .. "." .. field .. " must be " .. what end
  end
  if o.velocity ~= nil and not validate.vec(o.velocity, 3) then
    return p .. ".velocity must be an array of 3 finite numbers"
  end
  if o.angular_velocity ~= nil and not validate.vec(o.angular_velocity, 3) then
    return p .. ".angular_velocity must be an array of 3 finite numbers"
  end
  return nil
end

-- Steps 1-3 of protocol.md's configure validation (asset and scenario lookups need the host).
function validate.configure(msg, limits)
  if type(msg) ~= "table" or msg.type ~= "configure" then return "Expected 'configure' message first" end
  local objects = msg.objects
  if objects ~= nil and not validate.array(objects) then return "'objects' must be an array" end
  if msg.scenario == nil and (objects == nil or #objects == 0) then
    return "'configure' must include at least one object"
  end
  if msg.scenario ~= nil and (type(msg.scenario) ~= "string" or msg.scenario == "") then
    return "'scenario' must be a non-empty string"
  end
  if objects ~= nil and #objects > limits.max_objects then
    return "'configure' must include at most " .. limits.max_objects .. " objects"
  end
  for i, o in ipairs(objects or {}) do
    local err = check_object(o, i - 1)
    if err then return err end
  end
  if msg.params ~= nil and not validate.object(msg.params) then return "'params' must be an object" end
  if msg.ground ~= nil and type(msg.ground) ~= "boolean" then return "'ground' must be true or false" end
  return nil
end

-- `start`: returns nil and the run settings, or the error message.
function validate.start(msg, limits)
  local ts = msg.timestep_ms
  if ts == nil then ts = 16 end
  if not finite(ts) then return "'timestep_ms' must be an integer" end
  if ts <= 0 then return "'timestep_ms' must be positive" end
  if ts ~= math.floor(ts) then return "'timestep_ms' must be an integer" end
  if ts > 1000 then return "'timestep_ms' must be at most 1000" end
  local duration = msg.duration_s
  if duration == nil then duration = 30.0 end
  if not finite(duration) or duration < 0 then return "'duration_s' must be a finite number >= 0" end
  if duration > limits.max_duration_s then
    return string.format("'duration_s' must be at most %g", limits.max_duration_s)
  end
  local speed = msg.speed
  if speed == nil then speed = 1.0 end
  if not finite(speed) or speed < 0 then return "'speed' must be a finite number >= 0" end
  local contacts = msg.contacts
  if contacts == nil then contacts = true end
  if type(contacts) ~= "boolean" then return "'contacts' must be true or false" end
  local encoding = msg.encoding
  if encoding == nil then encoding = "json" end
  if encoding ~= "json" and encoding ~= "binary" then return "'encoding' must be \"json\" or \"binary\"" end
  return nil, { timestep_ms = math.tointeger(ts), duration_s = duration, speed = speed, contacts = contacts,
                encoding = encoding }
end

-- A scenario name names a file under scripts/scenarios/: letters, digits, '_' and '-' only.
function validate.scenario_name(name)
  return type(name) == "string" and #name <= 64 and name:match("^[%w_%-]+$") ~= nil
end

return validate
