-- A small, independent WebSocket client (RFC 6455) over LuaSocket, so the specs check the host with
-- a client that shares no code with libwebsockets. Text and binary messages, fragmentation,
-- masking, ping/pong and the closing handshake; enough for tests, not a general library.
local socket = require "socket"
local mime = require "mime"

local ws = {}
ws.__index = ws

-- SHA-1 (for Sec-WebSocket-Accept), Lua 5.4 integers.
local function sha1(msg)
  local function rol(x, n) return ((x << n) | (x >> (32 - n))) & 0xffffffff end
  local h0, h1, h2, h3, h4 = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
  local ml = #msg * 8
  msg = msg .. "\128" .. string.rep("\0", (55 - #msg) % 64) .. string.pack(">I8", ml)
  for chunk = 1, #msg, 64 do
    local w = {}
    for i = 0, 15 do w[i] = string.unpack(">I4", msg, chunk + i * 4) end
    for i = 16, 79 do w[i] = rol(w[i - 3] ~ w[i - 8] ~ w[i - 14] ~ w[i - 16], 1) end
    local a, b, c, d, e = h0, h1, h2, h3, h4
    for i = 0, 79 do
      local f, k
      if i < 20 then f, k = (b & c) | ((~b) & d), 0x5A827999
      elseif i < 40 then f, k = b ~ c ~ d, 0x6ED9EBA1
      elseif i < 60 then f, k = (b & c) | (b & d) | (c & d), 0x8F1BBCDC
      else f, k = b ~ c ~ d, 0xCA62C1D6 end
      local t = (rol(a, 5) + (f & 0xffffffff) + e + k + w[i]) & 0xffffffff
      e, d, c, b, a = d, c, rol(b, 30), a, t
    end
    h0, h1 = (h0 + a) & 0xffffffff, (h1 + b) & 0xffffffff
    h2, h3, h4 = (h2 + c) & 0xffffffff, (h3 + d) & 0xffffffff, (h4 + e) & 0xffffffff
  end
  return string.pack(">I4I4I4I4I4", h0, h1, h2, h3, h4)
end

local function b64(s) return (mime.b64(s)) end

local function random_bytes(n)
  local t = {}
  for i = 1, n do t[i] = string.char(math.random(0, 255)) end
  return table.concat(t)
end

-- Connects and completes the handshake. Returns the client or nil, error.
function ws.connect(url, timeout)
  local host, port, path = url:match("^ws://([^:/]+):(%d+)(/.*)$")
  assert(host, "bad url " .. url)
  local c = socket.tcp()
  c:settimeout(timeout or 10)
  local ok, err = c:connect(host, tonumber(port))
  if not ok then return nil, err end
  c:setoption("tcp-nodelay", true)
  local key = b64(random_bytes(16))
  c:send(table.concat({
    "GET " .. path .. " HTTP/1.1", "Host: " .. host .. ":" .. port, "Upgrade: websocket", "Connection: Upgrade",
    "Sec-WebSocket-Key: " .. key, "Sec-WebSocket-Version: 13", "", "",
  }, "\r\n"))
  local status = c:receive("*l")
  if not status then c:close(); return nil, "closed" end
  local headers = {}
  while true do
    local line = c:receive("*l")
    if not line then c:close(); return nil, "closed" end
    if line == "" then break end
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then headers[k:lower()] = v end
  end
  if not status:match("^HTTP/1%.1 101") then c:close(); return nil, status end
  local want = b64(sha1(key .. "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
  if headers["sec-websocket-accept"] ~= want then c:close(); return nil, "bad Sec-WebSocket-Accept" end
  -- headers: the handshake response's, lower-case names (behind HAProxy, x-simhost-server names the host).
  return setmetatable({ sock = c, closed = false, headers = headers }, ws)
end

local function frame(opcode, payload, fin)
  local b1 = (fin == false and 0 or 0x80) | opcode
  local n = #payload
  local head
  if n < 126 then head = string.pack("BB", b1, 0x80 | n)
  elseif n < 65536 then head = string.pack(">BBI2", b1, 0x80 | 126, n)
  else head = string.pack(">BBI8", b1, 0x80 | 127, n) end
  local mask = random_bytes(4)
  local m = { mask:byte(1, 4) }
  local out = {}
  local CH = 4096
  for i = 1, n, CH do
    local part = { payload:byte(i, math.min(i + CH - 1, n)) }
    for j = 1, #part do part[j] = part[j] ~ m[((i + j - 2) % 4) + 1] end
    out[#out + 1] = string.char(table.unpack(part))
  end
  return head .. mask .. table.concat(out)
end

function ws:send_raw(bytes)
  local ok, err = self.sock:send(bytes)
  if not ok then self.closed = true end
  return ok, err
end

function ws:send(text) return self:send_raw(frame(1, text)) end
function ws:send_binary(data) return self:send_raw(frame(2, data)) end
-- Several text messages in one write, so the host reads them back to back.
function ws:send_together(texts)
  local bytes = {}
  for i, t in ipairs(texts) do bytes[i] = frame(1, t) end
  return self:send_raw(table.concat(bytes))
end
-- Sends text as several fragments (the first a text frame, the rest continuations).
function ws:send_fragments(parts)
  for i, p in ipairs(parts) do
    local ok, err = self:send_raw(frame(i == 1 and 1 or 0, p, i == #parts))
    if not ok then return nil, err end
  end
  return true
end

-- The next text (or binary) message; nil, "timeout" | "closed".
function ws:receive(timeout)
  if self.closed then return nil, "closed" end
  self.sock:settimeout(timeout or 10)
  local parts = {}
  while true do
    local h, err = self.sock:receive(2)
    if not h then
      if err ~= "timeout" then self.closed = true end
      return nil, err == "timeout" and "timeout" or "closed"
    end
    -- Once a frame has started, read it whole even past the timeout.
    self.sock:settimeout(10)
    local b1, b2 = h:byte(1, 2)
    local fin, opcode, n = b1 & 0x80 ~= 0, b1 & 0x0f, b2 & 0x7f
    if n == 126 then n = string.unpack(">I2", self.sock:receive(2))
    elseif n == 127 then n = string.unpack(">I8", self.sock:receive(8)) end
    local payload = n > 0 and self.sock:receive(n) or ""
    if not payload then self.closed = true; return nil, "closed" end
    if opcode == 8 then
      self.close_code = #payload >= 2 and string.unpack(">I2", payload) or nil
      pcall(self.send_raw, self, frame(8, payload:sub(1, 2)))
      self.sock:close()
      self.closed = true
      return nil, "closed"
    elseif opcode == 9 then
      self:send_raw(frame(10, payload))
    elseif opcode == 10 then -- luacheck: ignore (pong)
    else
      parts[#parts + 1] = payload
      if fin then
        self.last_binary = opcode == 2 or (opcode == 0 and self.last_binary)
        return table.concat(parts)
      end
    end
    self.sock:settimeout(timeout or 10)
  end
end

function ws:close()
  if self.closed then return end
  pcall(self.send_raw, self, frame(8, string.pack(">I2", 1000)))
  self.sock:close()
  self.closed = true
end

-- Closes the TCP connection without a closing handshake (a vanished client).
function ws:drop()
  self.sock:close()
  self.closed = true
end

return ws
