-- string.format with integer, float, string and hex conversions.
local n = tonumber(arg and arg[1]) or 150000
local fmt = string.format

local h, len = 0, 0
for i = 1, n do
  local a = fmt("%d:%5d|%-6s|%x", i, i % 1000, "k" .. (i % 13), i * 7)
  local b = fmt("%.3f %8.2f %s", i / 7, i * 0.25, "tail")
  local c = fmt("[%3d%%] %05d", i % 100, i % 99999)
  len = len + #a + #b + #c
  h = (h * 31 + a:byte(#a) + b:byte(#b - 5) + c:byte(3)) % 1000000007
end
print(string.format("string format %d: length %d hash %d", n, len, h))
