--- Loading a model: the one part the emitter and the reference interpreter share.
-- load (sandboxed description) -> validate (fields, shapes) -> weights (tensors).
--
-- The model table (each stage returns a new one; nothing changes it later):
--   path, source     the description's path (as given) and its bytes
--   name             the network's C identifier
--   input            { channels =, height =, width =, normalize =, description = }
--                    normalize (optional): { range =, mean = {per channel},
--                    std = {per channel} }, input = (pixel / range - mean) / std;
--                    description (optional): free text; see lg.interface
--   labels           optional list of strings, label i naming output i
--   output_shape     the last layer's output shape
--   weights_file, weights_path, weights_line
--                    the `weights` field as written, resolved against the
--                    description's directory, and its line (nil when absent)
--   weights_sha256   SHA-256 of the weights file as read (file weights only)
--   random_seed      the seed of --random-weights (random weights only)
--   weights_absent   true when loaded without tensors because the weights
--                    file does not exist (only with opts.weights_optional)
--   notes            { line =, text = } said on a successful run (today: the
--                    weights file left out by --explain)
--   nonfinite        whether any weight or bias is NaN or Inf
--   layers           list; each layer:
--     index, type, line  0-based position, layer type, line in the description
--     in_shape, out_shape  {c, h, w} or {n}
--     unroll         the layer's own unroll level, or nil
--     kernel, stride {h =, w =} (conv2d and pooling)
--     padding        {top =, left =, bottom =, right =}, resolved in validation
--                    from every form a description may write (number, {h, w},
--                    {top, left, bottom, right}, "same", "same_lower")
--     padding_mode   "same" | "same_lower" when written so (for the comment), else nil
--     dilation       {h =, w =} (conv2d and pooling; 1x1 for avgpool2d)
--     groups         conv2d: input and output channels split into this many groups
--     ceil_mode      pooling: PyTorch's ceil_mode
--     count_include_pad  avgpool2d: divide by the window clipped to the padded
--                    input (true) or by the taps inside the input (false)
--     out_channels | out_features  (conv2d | linear)
--     bias           whether the layer adds a bias (conv2d and linear)
--     weight_name, bias_name, weight_line, bias_line  tensor names and lines
--     weight, bias_values  tensors (see lg.weights)
local load = require("lg.load")
local validate = require("lg.validate")
local weights = require("lg.weights")

local M = {}

--- Load and check a description and its weights.
-- @param path description file
-- @param opts { random_seed = n|nil, allow_nonfinite = bool, weights_optional =
--   bool (--explain: a weights file that does not exist, or no `weights`
--   field, gives a model without tensors and a note instead of an error; a
--   file that exists is still read and checked) }
-- @return the model table above; raises lg.errors on a mistake
function M.load(path, opts)
  opts = opts or {}
  local raw, src, lines = load.load(path)
  local described = validate.validate(raw, path, lines, src)
  described.notes = {}
  if opts.random_seed then
    return weights.attach_random(described, opts.random_seed)
  end
  if opts.weights_optional then
    local absent = weights.absent_note(described)
    if absent then
      described.weights_absent = true
      described.notes[1] = absent
      return described
    end
  end
  return weights.attach_file(described, opts)
end

return M
