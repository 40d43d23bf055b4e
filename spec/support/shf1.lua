-- A reader of the SHF1 binary frame written from the contract's table alone (frames.md, "The binary
-- frame", and the friction block extension of docs/frames.md), with string.unpack: the specs' second decoder, sharing no code with the host's C codec.
-- shf1.decode(bytes) returns the frame as plain tables, or nil and the reason it was refused.
local shf1 = {}

local HEADER = "<c4 I2 I2 I4 I4 d I4 I4 I4 I4 I4 I4 I4 I4 I4 I4"
local BLOCKS = { "ids", "pose", "body_flags", "velocities", "contacts", "solver", "friction" }
local FLAG_OF = { velocities = 1, contacts = 2, solver = 4, friction = 8 }

-- Byte size of each block for n bodies and c contact points.
local function block_size(name, n, c)
  if name == "ids" then return 4 * n end
  if name == "pose" then return 28 * n end
  if name == "body_flags" then return n end
  if name == "velocities" then return 24 * n end
  if name == "contacts" then return 48 * c end
  if name == "friction" then return 12 * c end
  return 24
end

local function check_layout(h, len)
  if h.magic ~= "SHF1" then return "bad magic" end
  if h.version ~= 1 then return "unknown version " .. h.version end
  if h.header_bytes < 64 or h.header_bytes > len then return "bad header size " .. h.header_bytes end
  if h.total_bytes ~= len then return ("total %d but %d bytes"):format(h.total_bytes, len) end
  if h.flags & ~15 ~= 0 then return "unknown flags" end
  if h.flags & 2 == 0 and h.contact_count ~= 0 then return "contacts counted but absent" end
  if h.flags & 8 ~= 0 and h.flags & 2 == 0 then return "friction block without contacts" end
  local spans = {}
  for _, name in ipairs(BLOCKS) do
    local off = h.offsets[name]
    local present = FLAG_OF[name] == nil or h.flags & FLAG_OF[name] ~= 0
    if not present then
      if off ~= 0 then return name .. " offset set but absent" end
    else
      local size = block_size(name, h.body_count, h.contact_count)
      if off % 8 ~= 0 then return name .. " not 8-aligned" end
      if off < h.header_bytes then return name .. " inside the header" end
      if off + size > len then return name .. " runs past the end" end
      for _, s in ipairs(spans) do
        if off < s[2] and s[1] < off + size then return name .. " overlaps " .. s[3] end
      end
      spans[#spans + 1] = { off, off + size, name }
    end
  end
end

local function floats(bytes, at, count)
  return { string.unpack("<" .. string.rep("f", count), bytes, at + 1) }
end

local function read_bodies(bytes, h, frame)
  local n = h.body_count
  local vel_at = h.offsets.velocities
  for i = 0, n - 1 do
    local p = floats(bytes, h.offsets.pose + 28 * i, 7)
    local flags = bytes:byte(h.offsets.body_flags + i + 1)
    local body = {
      id = string.unpack("<I4", bytes, h.offsets.ids + 4 * i + 1),
      position = { p[1], p[2], p[3] },
      orientation = { p[4], p[5], p[6], p[7] }, -- x, y, z, w
      environment = flags & 1 ~= 0,
      sleeping = flags & 2 ~= 0,
      flags = flags,
    }
    if h.flags & 1 ~= 0 then
      local v = floats(bytes, vel_at + 24 * i, 6)
      body.velocity = { v[1], v[2], v[3] }
      body.angular_velocity = { v[4], v[5], v[6] }
    end
    frame.bodies[i + 1] = body
  end
end

local function read_contacts(bytes, h, frame)
  for i = 0, h.contact_count - 1 do
    local at = h.offsets.contacts + 48 * i + 1
    local a, b, px, py, pz, nx, ny, nz, depth, ni, fi = string.unpack("<I4 I4 fff fff f f f", bytes, at)
    local contact = {
      body_a = a, body_b = b, point = { px, py, pz }, normal = { nx, ny, nz },
      depth = depth, normal_impulse = ni, friction_impulse = fi,
    }
    if h.flags & 8 ~= 0 then contact.friction = floats(bytes, h.offsets.friction + 12 * i, 3) end
    frame.contacts[i + 1] = contact
  end
end

function shf1.decode(bytes)
  local len = #bytes
  if len < 64 then return nil, "shorter than the 64-byte header" end
  local v = { string.unpack(HEADER, bytes) }
  local h = {
    magic = v[1], version = v[2], header_bytes = v[3], frame_id = v[4], body_count = v[5],
    simulation_time = v[6], contact_count = v[7], flags = v[8], offsets = {}, total_bytes = v[15],
  }
  for i = 1, 6 do h.offsets[BLOCKS[i]] = v[8 + i] end
  h.offsets.friction = v[16] -- the word after the total, reserved (0) before flag bit 3
  local err = check_layout(h, len)
  if err then return nil, err end
  local frame = {
    frame_id = h.frame_id, simulation_time = h.simulation_time, flags = h.flags, bodies = {}, contacts = {},
    has_velocities = h.flags & 1 ~= 0, has_contacts = h.flags & 2 ~= 0, has_friction = h.flags & 8 ~= 0,
    offsets = h.offsets,
  }
  read_bodies(bytes, h, frame)
  read_contacts(bytes, h, frame)
  if h.flags & 4 ~= 0 then
    local it, residual, converged, constraints, contacts =
      string.unpack("<I4 f I4 I4 I4", bytes, h.offsets.solver + 1)
    frame.solver = {
      iterations = it, residual = residual, converged = converged, constraints = constraints, contacts = contacts,
    }
  end
  return frame
end

return shf1
