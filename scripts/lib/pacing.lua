-- Pacing on an absolute schedule (protocol.md "Pacing"): frame n is due at anchor + n·period, with
-- period = timestep / speed, on the host's monotonic clock. Sleeping never accumulates drift because
-- each due time is computed from the anchor, not from the previous wake-up. A step that overruns
-- is not caught up by bursting: when a frame is already late the anchor moves (the schedule
-- slips) so that frame runs now and the next one a full period later.
local pacing = {}
pacing.__index = pacing

-- speed 0 means "as fast as the host can": period 0.
function pacing.new(timestep_s, speed, now)
  local self = setmetatable({}, pacing)
  self.timestep = timestep_s
  self:set_speed(speed, 0, now)
  return self
end

function pacing:set_speed(speed, frame, now)
  self.speed = speed
  self.period = speed > 0 and self.timestep / speed or 0
  -- Re-anchor so frame `frame` counts as sent now; the next is one new period away.
  self.anchor = now - frame * self.period
  self.slipped = self.slipped or 0
end

-- When frame `n` is due; slips the schedule if that moment has already passed.
function pacing:due(n, now)
  local t = self.anchor + n * self.period
  if t < now and self.period > 0 then
    self.slipped = self.slipped + (now - t)
    self.anchor = now - n * self.period
    t = now
  end
  return t
end

-- After a pause: frame `n` (the last sent) counts as sent now.
function pacing:resume(n, now)
  self.anchor = now - n * self.period
end

return pacing
