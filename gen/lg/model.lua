--- Loading a model: the one part the emitter and the reference interpreter share.
-- load (sandboxed description) -> validate (fields, shapes) -> weights (tensors).
local load = require("lg.load")
local validate = require("lg.validate")
local weights = require("lg.weights")

local M = {}

--- Load and check a description and its weights.
-- @param path description file
-- @param opts { random_seed = n|nil, allow_nonfinite = bool }
-- @return model table (see the internal contract); raises lg.errors on a mistake
function M.load(path, opts)
  opts = opts or {}
  local raw, src, lines = load.load(path)
  local model = validate.validate(raw, path, lines)
  model.source = src
  if opts.random_seed then
    weights.attach_random(model, opts.random_seed)
  else
    weights.attach_file(model, opts)
  end
  return model
end

return M
