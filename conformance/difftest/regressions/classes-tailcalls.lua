-- Pattern classes resolved once per repetition (lib/string.cpp max_expand)
-- and Lua tail calls set up in the dispatcher (vm.cpp OP_TAILCALL).
local subject = "Abc12 \0x\tZ_9;  end\255\128qq%%Q"
local classes = {"a", "c", "d", "g", "l", "p", "s", "u", "w", "x", "z", "%", "q"}
for _, c in ipairs(classes) do
  for _, cl in ipairs({"%" .. c, "%" .. c:upper()}) do
    local out = {}
    for _, q in ipairs({"+", "*", "-", "?", ""}) do
      local n = select(2, subject:gsub(cl .. q, "#"))
      out[#out + 1] = n .. ":" .. (subject:match("(" .. cl .. q .. ")", 3) or "nil"):len()
    end
    print(cl, table.concat(out, " "))
  end
end
print(("a%b%%c"):gsub("%%+", "!"), ("x..y"):gsub("%.+", "-"), ("[]]"):gsub("%]*", "<>"))
print(pcall(string.gsub, "abc", "%", "x"))

local function count(n, acc) if n == 0 then return acc end return count(n - 1, acc + 1) end
print(count(100000, 0))
local function va(n, ...) if n == 0 then return select("#", ...), ... end return va(n - 1, n, ...) end
print(va(5))
local function missing(a, b, c, d) return a, b, c, d end
local function forward(...) return missing(...) end
print(forward(1), forward(1, 2, 3, 4, 5))
local function tail_native(...) return select("#", ...) end
local function deep(n) if n > 0 then return deep(n - 1) end return tail_native(1, nil, 3) end
print(deep(50))
local obj = setmetatable({}, {__call = function(self, x) return "called", x end})
local function tail_call_mm(x) return obj(x) end
print(tail_call_mm(7))
local function grow(n) if n == 0 then return "deep" end local a, b, c, d, e, f, g, h = 1, 2, 3, 4, 5, 6, 7, 8 return grow(n - 1) end
print(grow(20000))
local co = coroutine.wrap(function(n) local function loop(k) if k == 0 then return coroutine.yield("y") end return loop(k - 1) end return loop(n) end)
print(co(10), co("back"))
print(pcall(function() local function bad(n) if n == 0 then return nil + 1 end return bad(n - 1) end return bad(3) end))
