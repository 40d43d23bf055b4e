-- JSON for session scripts: lua-cjson with the limits a network boundary needs.
-- Decoding: nesting deeper than 32 fails (a client cannot make the decoder recurse far), and the
-- literals NaN/Infinity/hex are refused. Numbers too large for a double still decode to ±inf
-- (strtod), so every numeric field is checked for finiteness by lib/validate.lua.
local cjson = require "cjson"

local json = {}

local codec = cjson.new()
codec.decode_max_depth(32)
codec.decode_invalid_numbers(false)
codec.encode_invalid_numbers(false) -- encoding NaN/inf raises instead of emitting them
codec.encode_max_depth(32)

json.null = cjson.null

-- Returns the decoded value, or nil and a short reason.
function json.decode(s)
  local ok, v = pcall(codec.decode, s)
  if not ok then return nil, "invalid JSON" end
  return v
end

function json.encode(v)
  return codec.encode(v)
end

-- {"type":"error","message":...}
function json.error(message)
  return codec.encode { type = "error", message = message }
end

return json
