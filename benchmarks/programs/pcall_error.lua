-- Errors as control flow: pcall catching an error raised one Lua call deep,
-- with a string message (position added) and with a table value.
local n = tonumber(arg and arg[1]) or 2000000

local function fail_string(i) error("bad " .. (i % 10)) end
local function fail_table(i) error({code = i % 7}) end

local caught, codes = 0, 0
for i = 1, n do
  local ok, e = pcall(fail_string, i)
  if not ok then caught = caught + #e end
  ok, e = pcall(fail_table, i)
  if not ok then codes = codes + e.code end
end
print(string.format("pcall_error %d: caught %d codes %d", n, caught, codes))
