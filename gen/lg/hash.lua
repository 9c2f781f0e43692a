--- SHA-256 of bytes already in memory: the description's source, the weights
-- file as it was read once, each tensor's raw bytes, the generated text.
local M = {}

--- Lower-case hexadecimal SHA-256 of a string.
function M.sha256_hex(bytes)
  local digest = require("openssl.digest")
  local raw = digest.new("sha256"):final(bytes)
  return (raw:gsub(".", function(ch) return string.format("%02x", ch:byte()) end))
end

return M
