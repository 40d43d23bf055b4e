-- A few cubes dropped onto the ground from `height` metres, spaced `spacing` apart along X.
-- The smallest useful scenario: the host's specs use it, and it shows the scenario shape.
return {
  description = "Cubes dropped onto the ground",
  params = { count = 3, height = 2.0, spacing = 2.0, asset = "unit_cube" },

  setup = function(world, params)
    local count = math.tointeger(params.count) or 3
    if count < 1 or count > 100 then error("'count' must be an integer 1 ... 100", 0) end
    local height = tonumber(params.height) or 2.0
    local spacing = tonumber(params.spacing) or 2.0
    for i = 1, count do
      local x = (i - (count + 1) / 2) * spacing
      world:spawn { asset = params.asset, position = { x, 0, height }, orientation = { 0, 0, 0 }, mass = 10 }
    end
  end,

  -- Extension message: {"type":"drop_more","height":h} adds one more cube above the origin.
  on_message = function(world, msg, ctx)
    if msg.type ~= "drop_more" then return false end
    local h = tonumber(msg.height) or 3.0
    local id = world:spawn { asset = ctx.params.asset, position = { 0, 0, h }, orientation = { 0, 0, 0 }, mass = 10 }
    ctx.reply { type = "dropped", body_id = id }
    return true
  end,
}
