--- What a description tells the integrator beyond sizes: how an image becomes
-- the input (input.normalize, input.description) and what each output value
-- means (labels). Checked here for lg.validate; written by lg.emit into the
-- header (a comment, <NAME>_LABEL_COUNT and the declaration of <name>_labels)
-- and the source (the definition of <name>_labels). A description without
-- these fields generates exactly the files it generated before they existed.
--
-- The fields, as the model table carries them (see lg.model):
--   input.normalize    nil or { range =, mean = {one per channel}, std = {...} }:
--                      input = (pixel / range - mean[c]) / std[c], PyTorch's
--                      ToTensor() (range 255) followed by Normalize(mean, std)
--   input.description  nil or a string (layout, polarity, source of the images)
--   labels             nil or a list of strings, label i naming output i
--
-- Labels and the description are untrusted text that ends up in C string
-- literals and comments, so only printable ASCII is accepted (no control
-- characters, no other bytes whose meaning depends on the encoding, none of
-- $ @ ` which are outside C99's basic source character set); backslashes,
-- quotes, "??" (trigraphs) and comment delimiters are escaped on output.
local errors = require("lg.errors")
local render = require("lg.render")

local M = {}

M.NORMALIZE_FIELDS = { range = true, mean = true, std = true }
M.MAX_LABEL = 64          -- characters in one label
M.MAX_DESCRIPTION = 200   -- characters in input.description

local describe = errors.describe

--- Why a text cannot go into C literals and comments, or nil.
local function text_problem(s)
  local at = s:find("[^ -~]") or s:find("[%$@`]")
  if at then
    return string.format("has the character %s at position %d; use printable ASCII (letters, digits, "
      .. "space and punctuation other than $ @ `): it becomes a C string literal and a comment",
      describe(s:sub(at, at)), at)
  end
end

--- A string field of at most `max` printable characters.
local function check_text(ctx, v, fpath, what, max)
  if type(v) ~= "string" or v == "" then
    ctx.fail(fpath, string.format("%s must be a non-empty string, got %s", what, describe(v)))
  end
  if #v > max then
    ctx.fail(fpath, string.format("%s is %d characters long; use at most %d", what, #v, max))
  end
  local problem = text_problem(v)
  if problem then ctx.fail(fpath, string.format("%s %s %s", what, describe(v), problem)) end
  return v
end

--- A finite number (positive when `positive`).
local function check_real(ctx, v, fpath, what, positive)
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
    ctx.fail(fpath, string.format("%s must be a finite number, got %s", what, describe(v)))
  end
  if positive and v <= 0 then
    ctx.fail(fpath, string.format("%s must be greater than 0, got %s", what, describe(v)))
  end
  return v
end

--- mean or std: one number for every channel, or a list of one per channel.
local function per_channel(ctx, v, fpath, what, channels, default, positive)
  if v == nil then v = default end
  local list = {}
  if type(v) ~= "table" then
    local x = check_real(ctx, v, fpath, what, positive)
    for c = 1, channels do list[c] = x end
    return list
  end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  if n ~= channels or #v ~= channels then
    ctx.fail(fpath, string.format("%s must be a number or a list of %d number%s (one per input channel), "
      .. "got a table with %d entr%s", what, channels, channels == 1 and "" or "s", n, n == 1 and "y" or "ies"))
  end
  for c = 1, channels do
    list[c] = check_real(ctx, v[c], fpath .. "." .. c, string.format("%s[%d]", what, c), positive)
  end
  return list
end

--- input.normalize: { range =, mean =, std = }; returns per-channel lists.
function M.check_normalize(ctx, v, channels)
  local fpath = "input.normalize"
  if type(v) ~= "table" then
    ctx.fail(fpath, "input.normalize must be a table such as { range = 255, mean = 0.5, std = 0.5 } "
      .. "(input = (pixel / range - mean) / std), got " .. describe(v))
  end
  ctx.fields(v, M.NORMALIZE_FIELDS, fpath, "input.normalize")
  if v.range == nil then
    ctx.fail(fpath, "input.normalize.range is required: the largest pixel value (255 for 8-bit images, "
      .. "1 when the pixels are already in [0, 1])")
  end
  return {
    range = check_real(ctx, v.range, fpath .. ".range", "input.normalize.range", true),
    mean = per_channel(ctx, v.mean, fpath .. ".mean", "input.normalize.mean", channels, 0, false),
    std = per_channel(ctx, v.std, fpath .. ".std", "input.normalize.std", channels, 1, true),
  }
end

--- input.description: free text for the header.
function M.check_description(ctx, v)
  return check_text(ctx, v, "input.description", "input.description", M.MAX_DESCRIPTION)
end

--- labels: one distinct string per output value, in output order.
function M.check_labels(ctx, v, outputs, last_layer)
  if type(v) ~= "table" then
    ctx.fail("labels", string.format("labels must be a list of %d strings (label i names output i), got %s",
      outputs, describe(v)))
  end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  if n ~= #v then
    ctx.fail("labels", "labels must be a plain list { \"first\", \"second\", ... } (no named entries or holes)")
  end
  if n ~= outputs then
    ctx.fail("labels", string.format("labels has %d entr%s, but the network has %d output%s (layer %d, "
      .. "the last, gives %s); give one label per output value, in output order", n, n == 1 and "y" or "ies",
      outputs, outputs == 1 and "" or "s", last_layer.index, require("lg.geometry").shape_text(last_layer.out_shape)))
  end
  local labels, seen = {}, {}
  for i = 1, n do
    local what = string.format("label %d", i - 1)
    labels[i] = check_text(ctx, v[i], "labels." .. i, what, M.MAX_LABEL)
    if seen[labels[i]] then
      ctx.fail("labels." .. i, string.format("%s %s repeats label %d; each output needs its own label", what,
        describe(labels[i]), seen[labels[i]] - 1))
    end
    seen[labels[i]] = i
  end
  return labels
end

--- A checked text as a C string literal: backslash and quote escaped, and
-- every "?" after a "?" written "\?" so no trigraph can form.
function M.c_string(s)
  local body = s:gsub("[\\\"]", "\\%0"):gsub("%?%?+", function(run)
    return "?" .. string.rep("\\?", #run - 1)
  end)
  return '"' .. body .. '"'
end

--- A checked text inside a block comment, as its C literal.
local function comment_string(s)
  return render.comment_text(M.c_string(s))
end

local function number_list(list)
  local parts = {}
  for i, x in ipairs(list) do parts[i] = describe(x) end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

local function all_equal(list, x)
  for _, y in ipairs(list) do if y ~= x then return false end end
  return true
end

--- The header's comment on the input, or nil.
local function input_comment(input)
  if not input.normalize and not input.description then return nil end
  local lines = { "/*", " * Input (the description's input.normalize and input.description):" }
  local n = input.normalize
  if n then
    local range = describe(n.range)
    if all_equal(n.mean, 0) and all_equal(n.std, 1) then
      lines[#lines + 1] = string.format(" *   input[c][y][x] = pixel[c][y][x] / %s, pixel in [0, %s]", range, range)
    else
      lines[#lines + 1] = string.format(" *   input[c][y][x] = (pixel[c][y][x] / %s - mean[c]) / std[c], pixel in "
        .. "[0, %s]", range, range)
      lines[#lines + 1] = string.format(" *   mean = %s, std = %s", number_list(n.mean), number_list(n.std))
    end
  end
  if input.description then lines[#lines + 1] = " *   " .. comment_string(input.description) end
  lines[#lines + 1] = " */"
  return table.concat(lines, "\n")
end

--- The header's label section, or nil.
local function labels_section(model, NAME)
  if not model.labels then return nil end
  local lines = { "/*", string.format(" * Output labels (the description's labels): output i is %s_labels[i].",
    model.name) }
  for i, label in ipairs(model.labels) do
    lines[#lines + 1] = string.format(" *   %d %s", i - 1, comment_string(label))
  end
  lines[#lines + 1] = " */"
  lines[#lines + 1] = string.format("#define %s_LABEL_COUNT %d /* one label per output value (%s_OUTPUT_SIZE) */",
    NAME, #model.labels, NAME)
  lines[#lines + 1] = string.format("extern const char *const %s_labels[%s_LABEL_COUNT];", model.name, NAME)
  return table.concat(lines, "\n")
end

--- Text to append to the header's size macros: "" when the description
-- has none of the fields, else the sections, each after a blank line.
function M.header_text(model, NAME)
  local parts = { "" }
  parts[#parts + 1] = input_comment(model.input)
  parts[#parts + 1] = labels_section(model, NAME)
  if #parts == 1 then return "" end
  return table.concat(parts, "\n\n")
end

--- The source's definition of the labels, or nil.
function M.source_text(model, NAME)
  if not model.labels then return nil end
  local lines = { string.format("/* Output labels, declared in %s.h: %s_labels[i] names output i. */", model.name,
    model.name), string.format("const char *const %s_labels[%s_LABEL_COUNT] = {", model.name, NAME) }
  for i, label in ipairs(model.labels) do
    lines[#lines + 1] = "    " .. M.c_string(label) .. (i < #model.labels and "," or "")
  end
  lines[#lines + 1] = "};"
  return table.concat(lines, "\n")
end

return M
