-- table.sort: records with a Lua comparator, plain numbers and strings with
-- the default order. Keys are unique so every engine's sort agrees.
local n = tonumber(arg and arg[1]) or 100000

local seed = 12345
local function rand()
  seed = (seed * 16807) % 2147483647
  return seed
end

local recs, nums, strs = {}, {}, {}
for i = 1, n do
  local r = rand()
  recs[i] = { group = r % 100, id = i, value = r }
  nums[i] = r + i / (n + 1)
  strs[i] = string.format("s%09d_%d", r % 1000000000, i)
end

table.sort(recs, function(a, b)
  if a.group ~= b.group then return a.group < b.group end
  return a.id > b.id
end)
table.sort(nums)
table.sort(strs)
table.sort(nums, function(a, b) return a > b end)

local h = 0
for i = 1, n, 7 do
  h = (h * 31 + recs[i].id + math.floor(nums[i]) % 1000 + strs[i]:byte(4)) % 1000000007
end
print(string.format("sort %d: hash %d first %d last %d", n, h, recs[1].id, recs[n].id))
