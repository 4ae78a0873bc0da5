-- Word frequencies: string keys in a hash table, lookups and updates,
-- then the top words ordered by count (ties broken by the word).
local n = tonumber(arg and arg[1]) or 3000000

local syllables = { "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po", "qu", "ba" }
local seed = 7
local function rand(k)
  seed = (seed * 16807) % 2147483647
  return seed % k + 1
end

local counts, distinct = {}, 0
local ns = #syllables
for _ = 1, n do
  local len = rand(3)
  local w = syllables[rand(ns)]
  if len > 1 then w = w .. syllables[rand(ns)] end
  if len > 2 then w = w .. syllables[rand(ns)] end
  local c = counts[w]
  if c then counts[w] = c + 1 else counts[w] = 1; distinct = distinct + 1 end
end

local list = {}
for w, c in pairs(counts) do list[#list + 1] = { word = w, count = c } end
table.sort(list, function(a, b)
  if a.count ~= b.count then return a.count > b.count end
  return a.word < b.word
end)

local h = 0
for i = 1, #list do
  local e = list[i]
  h = (h * 31 + e.count * i + #e.word) % 1000000007
end
print(string.format("word count %d: distinct %d top %s=%d hash %d",
  n, distinct, list[1].word, list[1].count, h))
