--- What a file that is not safetensors is, from its first bytes.
--
-- A wrong `weights` path is common (a torch.save checkpoint, a NumPy archive,
-- an ONNX export, the description itself). The reader says what the file is,
-- by magic bytes and structure only, and how to write safetensors instead. The
-- answer is a fixed phrase: it never quotes the file, so pointing `weights` at
-- a secret (/etc/shadow) reveals nothing of its content.
local M = {}

local RECIPE = "write the state_dict as safetensors (README: \"Weights from PyTorch\")"

-- The pickle that starts a legacy (non-zip) torch.save file: protocol 2 and
-- PyTorch's magic number 0x1950a86a20f9469cfc6c as a LONG1.
local TORCH_LEGACY_MAGIC = "\128\2\138\10\108\252\156\70\249\32\106\168\80\25"

-- Field tags of onnx.ModelProto that may follow ir_version (field 1):
-- producer_name 2, producer_version 3, domain 4, model_version 5, doc_string 6,
-- graph 7, opset_import 8, metadata_props 14, training_info 20, functions 25.
local ONNX_NEXT_TAG = { [0x12] = true, [0x1a] = true, [0x22] = true, [0x28] = true, [0x32] = true,
  [0x3a] = true, [0x42] = true, [0x72] = true, [0xa2] = true, [0xca] = true }

--- Name of the first entry of a zip archive (its first local file header), or nil.
local function first_zip_entry(bytes)
  if #bytes < 30 then return nil end
  local name_len = string.unpack("<I2", bytes, 27)
  if name_len == 0 or #bytes < 30 + name_len then return nil end
  return bytes:sub(31, 30 + name_len)
end

local function zip_kind(bytes)
  local entry = first_zip_entry(bytes)
  -- torch.save writes <archive>/data.pkl first; numpy.savez writes <array>.npy entries
  if entry and (entry == "data.pkl" or entry:match("/data%.pkl$")) then
    return "a PyTorch torch.save file (a zip archive with data.pkl)", RECIPE
  elseif entry and entry:match("%.npy$") then
    return "a NumPy .npz archive (a zip of .npy arrays)",
      "save the arrays as float32 safetensors (README: \"Weights from PyTorch\" shows the format)"
  end
  return "a zip archive", RECIPE
end

local function looks_like_onnx(bytes)
  if bytes:byte(1) ~= 0x08 then return false end
  local version, next_tag = bytes:byte(2), bytes:byte(3)
  if not version or version == 0 or version > 127 or not ONNX_NEXT_TAG[next_tag] then return false end
  local head = bytes:sub(1, 4096)
  return next_tag == 0x3a or next_tag == 0x42 or head:find("onnx", 1, true) ~= nil
    or head:find("pytorch", 1, true) ~= nil
end

--- Text: no NUL and no control characters other than tab, CR, LF and FF in
-- the first 4 KB, and valid UTF-8 (a cut last character is allowed).
local function looks_like_text(bytes)
  local head = bytes:sub(1, 4096)
  if head:find("[%z\1-\8\11\14-\31\127]") then return false end
  for cut = 0, 3 do
    if utf8.len(head:sub(1, #head - cut)) then return true end
  end
  return false
end

--- What the file is, when its first bytes say so.
-- @param bytes the file's first bytes (4 KB is enough) or all of it
-- @return a phrase such as "a NumPy .npy array" and advice, or nil when unknown
function M.identify(bytes)
  if bytes == "" then return "an empty file", "export the weights again" end
  if bytes:sub(1, 4) == "PK\3\4" or bytes:sub(1, 4) == "PK\5\6" then return zip_kind(bytes) end
  if bytes:sub(1, #TORCH_LEGACY_MAGIC) == TORCH_LEGACY_MAGIC then
    return "a legacy PyTorch torch.save file (a pickle)", RECIPE
  end
  local proto = bytes:byte(2)
  if bytes:byte(1) == 0x80 and proto and proto >= 2 and proto <= 5 then
    return "a Python pickle (e.g. a torch.save or joblib file)", RECIPE
  end
  if bytes:sub(1, 6) == "\147NUMPY" then
    return "a NumPy .npy array", "save the arrays as float32 safetensors (README: \"Weights from PyTorch\" "
      .. "shows the format)"
  end
  if bytes:sub(1, 8) == "\137HDF\r\n\26\n" then
    return "an HDF5 file (such as Keras .h5 weights)", "export the weights to safetensors"
  end
  if bytes:sub(1, 2) == "\31\139" then
    return "a gzip-compressed file", "decompress it first (gunzip) if it holds a safetensors file"
  end
  if bytes:sub(1, 4) == "\127ELF" then return "an executable or library (ELF)", "name the weights file" end
  if looks_like_onnx(bytes) then
    return "an ONNX model", "lenetgen reads weights only: " .. RECIPE
  end
  if looks_like_text(bytes) then
    if bytes:match("^%s*[{%[]") then
      return "JSON text without the 8-byte length that starts a safetensors file",
        "write it with a safetensors writer (README: \"Weights from PyTorch\")"
    end
    return "a text file", "name the weights file (the description names it with weights = ...)"
  end
  return nil
end

return M
