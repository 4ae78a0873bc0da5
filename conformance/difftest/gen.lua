-- Generates one random, deterministic Lua 5.4 test program on stdout.
-- Usage: lua gen.lua SEED
-- Run by the reference oracle, so the same seed always gives the same
-- program. Every case prints what it computes (or the message of the error
-- it raises, caught by pcall), never addresses or hash order, so two correct
-- implementations print byte-identical output.

local seed = assert(tonumber(arg[1]), "usage: gen.lua SEED")
math.randomseed(seed)
local R = math.random

local out = {}
local function emit(s) out[#out + 1] = s end
local function pick(t) return t[R(#t)] end

-- Operands, as source text.
local numbers = {
  "0", "1", "-1", "2", "3", "7", "-7", "10", "255", "256", "1000000007",
  "math.maxinteger", "math.mininteger", "(math.maxinteger - 1)", "(math.mininteger + 1)",
  "0.0", "-0.0", "0.5", "-0.5", "1.5", "-2.5", "3.0", "-3.0", "1e15", "1e16", "2^53", "2^63", "-2^63",
  "1e308", "-1e308", "1e-310", "(1/0)", "(-1/0)", "(0/0)", "0x7fffffff", "0xffffffff", "0x10",
  "12.75", "100.0", "1e100", "3.14159", "-0.1", "2^-1074", "(2^63 - 1024)",
}
local strings = {
  '"10"', '"0x10"', '"1e2"', '" 5 "', '"abc"', '"3.0"', '"-7"', '""', '"0x"', '"1e"',
  '"  0x1p4  "', '"inf"', '"nan"', '"9223372036854775807"', '"9223372036854775808"',
  '"-9223372036854775809"', '"1.5e300"', '"0.1"', '"5\\0"', '"hello world"', '"x"',
}
local others = { "nil", "true", "false", "{}", "print", "setmetatable({}, mt_arith)" }

local function operand()
  local r = R(10)
  if r <= 6 then return pick(numbers) elseif r <= 9 then return pick(strings) else return pick(others) end
end

local binops = { "+", "-", "*", "/", "//", "%", "^", "&", "|", "~", "<<", ">>", "..",
                 "==", "~=", "<", "<=", ">", ">=", "and", "or" }
local unops = { "-", "~", "not ", "#" }

-- Prints a value without addresses: tables and functions by type only.
emit([[
local function show(...)
  local n = select('#', ...)
  local t = {}
  for i = 1, n do
    local v = select(i, ...)
    local tv = type(v)
    if tv == "number" then
      t[i] = (math.type(v) == "integer" and "i:" or "f:") .. string.format("%.17g", v)
    elseif tv == "string" then
      -- addresses differ between any two runs
      t[i] = string.format("%q", (v:gsub("(%a+): 0x%x+", "%1: ADDR")))
    elseif tv == "table" or tv == "function" or tv == "thread" or tv == "userdata" then
      t[i] = tv
    else
      t[i] = tostring(v)
    end
  end
  print(n, table.concat(t, " "))
end
local function try(f, ...)
  local r = table.pack(pcall(f, ...))
  if r[1] then show(table.unpack(r, 2, r.n)) else
    local e = r[2]
    if type(e) == "string" or type(e) == "number" then print("error:", e) else print("error of type", type(e)) end
  end
end
local mt_arith = {}
for _, e in ipairs{"add", "sub", "mul", "div", "mod", "pow", "unm", "idiv", "band", "bor",
                   "bxor", "shl", "shr", "bnot", "concat", "len", "lt", "le"} do
  mt_arith["__" .. e] = function(a, b) return e end
end
mt_arith.__eq = function() return true end
]])

local cases = {}

-- Arithmetic, bitwise, comparison and concatenation on mixed operands; the
-- operands are locals so error messages name them.
cases[#cases + 1] = function()
  local a, b, op = operand(), operand(), pick(binops)
  emit(("try(function() local a, b = %s, %s return a %s b end)"):format(a, b, op))
end
cases[#cases + 1] = function()
  emit(("try(function() local a = %s return %sa end)"):format(operand(), pick(unops)))
end
-- Operations on globals, fields and upvalues, for the variable kinds in messages.
cases[#cases + 1] = function()
  local target = pick{ "G_undefined", "t.field", "t[1]", "up", "t.sub.x", "string.nope" }
  local use = pick{ "%s + 1", "%s()", "%s.x", "#%s", "%s .. 'x'", "-%s", "%s < 1", "%s:m()" }
  emit(("do local up; local t = {sub = {}}; try(function() return %s end) end")
    :format(use:format(target)))
end
-- Conversions.
cases[#cases + 1] = function()
  local f = pick{ "math.tointeger(%s)", "tostring(%s)", "tonumber(%s)", "math.type(%s)",
                  "math.floor(%s)", "math.ceil(%s)", "math.abs(%s)", "math.fmod(%s, 3)",
                  "math.max(%s, 2)", "math.min(%s, 2.5)", "math.ult(%s, 5)", "string.format('%%d', %s)",
                  "string.format('%%x', %s)", "string.format('%%5.2f', %s)", "string.format('%%g', %s)",
                  "string.format('%%q', %s)", "string.format('%%s', %s)", "string.format('%%i', %s)",
                  "string.format('%%c', %s)", "string.format('%%10.3s|', %s)", "string.format('%%-8d|', %s)",
                  "string.format('%%+.3e', %s)", "string.format('%%o', %s)", "string.format('%%X', %s)",
                  "string.format('%%.0f', %s)", "string.format('%%.20g', %s)" }
  emit(("try(function() return %s end)"):format(f:format(operand())))
end
cases[#cases + 1] = function()
  local s = pick{ '"10"', '"ff"', '"zz"', '"777"', '" 11 "', '"1e1"', '"-101"', '"8"', '"7fffffffffffffff"', '"z"' }
  emit(("try(function() return tonumber(%s, %d) end)"):format(s, pick{ 2, 8, 10, 16, 36, 1, 37 }))
end
-- Strings and patterns.
local subjects = { '"hello world"', '"  trim me  "', '"a,b,,c"', '"key = value"', '"2024-01-15"',
                   '"(nested (parens))"', '"aaa"', '""', '"x1y22z333"', '"THE end"', '"a.b.c"', '"\\0\\1\\2"' }
local patterns = { '"%a+"', '"%d+"', '"(%w+)=(%w+)"', '"^%s*(.-)%s*$"', '"[^,]*"', '"(%d+)-(%d+)-(%d+)"',
                   '"%b()"', '"a-"', '"a*"', '"()a"', '"%f[%w]%w+"', '"."', '"[%u]"', '"%s"', '"(a+)(b?)"',
                   '"[a-"', '"%"', '"(()"', '"%g"', '"[]"', '"%1"', '"x(y*)"', '"%.(%a)"', '"%z"' }
cases[#cases + 1] = function()
  local s, p = pick(subjects), pick(patterns)
  local f = pick{ "string.find(%s, %s)", "string.match(%s, %s)", "string.gsub(%s, %s, '<%%0>')",
                  "string.find(%s, %s, 1, true)", "string.gsub(%s, %s, string.upper)",
                  "string.gsub(%s, %s, {hello = 'HI', a = false})", "string.find(%s, %s, -3)",
                  "string.match(%s, %s, 2)" }
  emit(("try(function() return %s end)"):format(f:format(s, p)))
end
cases[#cases + 1] = function()
  local s, p = pick(subjects), pick(patterns)
  emit(("try(function() local r = {} for a, b in string.gmatch(%s, %s) do r[#r + 1] = tostring(a) .. '/' .. tostring(b) end return table.concat(r, ';') end)")
    :format(s, p))
end
cases[#cases + 1] = function()
  local s = pick(subjects)
  local f = pick{ "string.sub(%s, %d, %d)", "string.byte(%s, %d, %d)", "string.rep(%s, %d, %d)",
                  "#%s + %d + %d", "string.upper(%s), %d, %d", "string.reverse(%s), %d, %d",
                  "string.len(%s) + %d + %d", "string.char(%d, %d, %d)" }
  if f:find("char") then
    emit(("try(function() return %s end)"):format(f:format(R(-2, 300), R(0, 255), R(0, 255))))
  else
    emit(("try(function() return %s end)"):format(f:format(s, R(-12, 12), R(-12, 12))))
  end
end
cases[#cases + 1] = function()
  local fmt = pick{ '"%5s|%-5s|"', '"%3d %03d"', '"%q"', '"%.3f"', '"%10.4g"', '"%%"', '"%y"',
                    '"%d"', '"%s %s"', '"%-20s|"', '"%.99f"', '"%#x"', '"% d"' }
  emit(("try(function() return string.format(%s, %s, %s) end)"):format(fmt, operand(), operand()))
end
-- Tables and the table library.
cases[#cases + 1] = function()
  local n = R(0, 8)
  local items = {}
  for i = 1, n do items[i] = pick{ tostring(R(-50, 50)), pick(strings), "1.5", "true" } end
  local list = "{" .. table.concat(items, ", ") .. "}"
  local f = pick{ "table.concat(t, ',')", "#t", "table.unpack(t)", "select('#', table.unpack(t))",
                  "(function() table.insert(t, 1, 'z') return table.concat(t, ' ') end)()",
                  "(function() table.remove(t) return #t, t[#t] end)()",
                  "(function() table.sort(t) return table.unpack(t) end)()",
                  "(function() table.sort(t, function(a, b) return a > b end) return table.unpack(t) end)()",
                  "table.move(t, 1, #t, 3)[3]", "(function() table.insert(t, 5, 1) return #t end)()",
                  "table.concat(t, ',', 2, 3)", "select(-1, table.unpack(t))", "select(2, table.unpack(t))",
                  "next({}, nil)", "rawlen(t)", "rawequal(t, t)", "table.pack(table.unpack(t)).n" }
  emit(("try(function() local t = %s return %s end)"):format(list, f))
end
-- Metatables.
cases[#cases + 1] = function()
  local mm = pick{
    "__index = function(t, k) return k .. '!' end",
    "__index = {x = 42}",
    "__newindex = function(t, k, v) rawset(t, k, v * 2) end",
    "__call = function(self, a) return 'called', a end",
    "__tostring = function() return 'custom' end",
    "__name = 'MyType'",
    "__len = function() return 99 end",
    "__concat = function(a, b) return 'cat' end",
    "__unm = function() return 'neg' end",
    "__eq = function() return true end",
    "__lt = function() return true end",
    "__le = function() return false end",
    "__close = function() end",
    "__metatable = 'locked'",
  }
  local use = pick{ "o.x", "o.y", "(function() o.z = 4 return rawget(o, 'z') end)()", "o(5)",
                    "tostring(o):gsub('0x%x+', 'ADDR')", "#o", "o .. 'a'", "-o", "o == setmetatable({}, getmetatable(o))",
                    "o < o", "o <= o", "getmetatable(o)", "pcall(setmetatable, o, {})", "o + 1", "o.x.y" }
  emit(("try(function() local o = setmetatable({}, {%s}) return %s end)"):format(mm, use))
end
-- Closures.
cases[#cases + 1] = function()
  local n = R(1, 5)
  emit(("try(function() local fs = {} for i = 1, %d do local j = i * 2 fs[i] = function(d) j = j + d return i, j end end local r = {} for k = 1, %d do local a, b = fs[k](k) r[k] = a .. ':' .. b end return table.concat(r, ' ') end)")
    :format(n, n))
end
-- Coroutines.
cases[#cases + 1] = function()
  local body = pick{
    "local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end) return co(1), co(10)",
    "local co = coroutine.create(function() error('inside') end) return coroutine.resume(co)",
    "local co = coroutine.create(function() return 1 end) coroutine.resume(co) return coroutine.resume(co)",
    "local co = coroutine.create(function(...) return select('#', coroutine.yield(...)) end) return coroutine.resume(co, 1, 2, 3), coroutine.resume(co, nil, nil), coroutine.status(co)",
    "return coroutine.isyieldable(), coroutine.running() ~= nil",
    "local co = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end) return co(), co(), co(), co()",
    "return coroutine.resume(coroutine.running())",
    "local co = coroutine.create(function() local x <close> = setmetatable({}, {__close = function() print('closed') end}) coroutine.yield(1) end) coroutine.resume(co) return coroutine.close(co), coroutine.status(co)",
    "return pcall(coroutine.yield, 1)",
    "local co = coroutine.wrap(function() error({code = 1}) end) local ok, e = pcall(co) return ok, type(e), e.code",
    "local co = coroutine.create(function() return pcall(function() coroutine.yield('y') error('after') end) end) return coroutine.resume(co), coroutine.resume(co)",
  }
  emit("try(function() " .. body .. " end)")
end
-- goto and loops.
cases[#cases + 1] = function()
  local a, b, s = R(-3, 6), R(-3, 6), pick{ 1, 2, -1, 3 }
  emit(("try(function() local r = {} for i = %d, %d, %d do if i %% 2 == 0 then goto continue end r[#r + 1] = i ::continue:: end return table.concat(r, ',') end)")
    :format(a, b, s))
end
cases[#cases + 1] = function()
  local a, b, s = pick(numbers), pick(numbers), pick{ "1", "-1", "0.5", "0", "2^62", "-0.25", "math.maxinteger" }
  emit(("try(function() local n, last = 0 for i = %s, %s, %s do n = n + 1 last = i if n >= 5 then break end end return n, last end)")
    :format(a, b, s))
end
-- Errors and their values.
cases[#cases + 1] = function()
  local e = pick{ "error('msg')", "error('msg', 0)", "error('msg', 2)", "error()", "error(nil)", "error(42)",
                  "error(setmetatable({}, {__tostring = function() return 'obj' end}))", "assert(false)",
                  "assert(nil, 'custom')", "assert(false, 12)", "local x = nil; x.y = 1", "(nil)()",
                  "local t = setmetatable({}, {__index = function() error('deep') end}) return t.x",
                  "string.rep('x', -1):byte()", "('x'):bad()", "math.floor('a')", "setmetatable(1, {})",
                  "string.sub()", "table.insert({}, 1, 2, 3)", "ipairs()", "select(0)", "tostring()",
                  "string.char(256)", "table.concat({1, {}, 3})", "math.random(0)", "utf8.char(-1)",
                  "rawset({}, nil, 1)", "local t = {} t[nil] = 1", "local t = {} t[0/0] = 1", "string.format('%d', 1.5)",
                  "xpcall(error, function(m) return 'handled: ' .. tostring(m) end, 'e')",
                  "select('#', pcall(error))", "load('return 1 +')()", "return string.rep('ab', 3, ', ') .. nil" }
  emit("try(function() " .. e .. " end)")
end
-- load of generated text, including syntax errors.
cases[#cases + 1] = function()
  local src = pick{ "return 1 + 2", "x = = 1", "return 'unfinished", "for i = 1 do end", "goto nowhere",
                    "local x <const> = 1; x = 2", "return 0x", "return 1e", "break", "::a:: ::a::",
                    "return ...", "local function f() return end return f()", "return [[long\nstring]]",
                    "return '\\q'", "return '\\300'", "return '\\u{110000000}'", "x = }", "return 3 // 0",
                    "return 1 .. 2", "local a <foo> = 1", "return function() end end", "--[[ unfinished",
                    "if x then else elseif y then end", "return (1)(2)", "a.b:c = 1", "local t = {,}" }
  emit(("try(function() local f, e = load(%q) if not f then return 'compile error', e end return f() end)"):format(src))
end

-- Numbers to text by every path (tostring, concatenation, %q, print).
cases[#cases + 1] = function()
  local x = pick(numbers)
  emit(("try(function() local x = %s return tostring(x), x .. '', string.format('%%q', x), string.format('%%.14g', x) end)"):format(x))
end
cases[#cases + 1] = function()
  emit(("print(%s, %s)"):format(pick(numbers), pick(numbers)))
end
-- string.pack / unpack.
cases[#cases + 1] = function()
  local fmt = pick{ '"i4"', '"<i8"', '">I2"', '"b"', '"B"', '"h"', '"d"', '"f"', '"s1"', '"z"', '"j"', '"J"',
                    '"<i3"', '"i16"', '"!4 i1 i4"', '"xi2"', '"i17"', '"c3"', '"<I5"', '"T"', '"n"', '"Xi4"' }
  local v = pick{ "0", "1", "-1", "255", "256", "-129", "32767", "65536", "1.5", '"abc"', "math.maxinteger",
                  "math.mininteger", "2^31", "-2^31", "1e10" }
  emit(("try(function() local s = string.pack(%s, %s) return #s, string.unpack(%s, s) end)"):format(fmt, v, fmt))
end
-- utf8.
cases[#cases + 1] = function()
  local f = pick{ "utf8.char(%d, 72, 0x10FFFF)", "utf8.len('h\\u{E9}llo\\u{1F600}', %d)", "utf8.codepoint('h\\u{E9}llo', 1, %d)",
                  "utf8.offset('h\\u{E9}llo', %d)", "utf8.len('\\xff\\xfe', 1, %d)", "utf8.char(%d)",
                  "utf8.offset('abc', 1, %d)", "utf8.codepoint('\\u{7FF}\\u{800}', 1, %d)" }
  emit(("try(function() return %s end)"):format(f:format(R(-4, 8))))
end
cases[#cases + 1] = function()
  emit("try(function() local r = {} for p, c in utf8.codes('a\\u{100}\\u{10000}z') do r[#r + 1] = p .. '=' .. c end return table.concat(r, ' ') end)")
end
-- Varargs and select.
cases[#cases + 1] = function()
  local args = {}
  for i = 1, R(0, 5) do args[i] = pick{ "nil", "1", "'s'", "false", "2.5" } end
  local a = table.concat(args, ", ")
  -- No # of a table with holes: any border is a valid answer (manual 3.4.7).
  local f = pick{ "select('#', ...)", "select(%d, ...)", "(select(%d, ...))", "...", "table.pack(...).n",
                  "({...})[%d]", "table.unpack(table.pack(...), %d, 5)" }
  emit(("try(function(...) return %s end%s)"):format(f:format(R(-6, 6)), a == "" and "" or ", " .. a))
end
-- String comparison and the os library on fixed inputs.
cases[#cases + 1] = function()
  local a, b = pick{ '"a"', '"ab"', '"a\\0b"', '"a\\0"', '""', '"B"', '"10"', '"9"' }, pick{ '"a"', '"ab"', '"a\\0c"', '""', '"b"', '"9"' }
  emit(("try(function() return %s < %s, %s <= %s, %s == %s end)"):format(a, b, a, b, a, b))
end
cases[#cases + 1] = function()
  local f = pick{ "os.date('!%%Y-%%m-%%d %%H:%%M:%%S', %d)", "os.time({year = 2000, month = 1, day = %d, hour = 12})",
                  "os.date('!*t', %d).yday", "os.date('!%%c', %d)", "os.date('!%%x %%X %%p', %d)", "os.date('%%Ez', %d)",
                  "os.time({year = 2000, month = %d})", "os.difftime(%d, 5)" }
  emit(("try(function() return %s end)"):format(f:format(R(-5, 2000000000))))
end
-- Integer and float conversions in indexing and for loops.
cases[#cases + 1] = function()
  local k = pick{ "1", "1.0", "2^53", "-0.0", "'1'", "3.5", "math.mininteger", "0" }
  emit(("try(function() local t = {[1] = 'one', [0] = 'zero'} t[%s] = 'set' local n = 0 for k in pairs(t) do n = n + 1 end return t[%s], n, t[1], t[0] end)"):format(k, k))
end

-- Hot loops: long enough for the JIT to compile them (in -j on mode too, not
-- only -j stress), with an operand that changes type part way through, so
-- compiled code must leave its trace, and errors raised from inside it.
cases[#cases + 1] = function()
  local n = R(60, 400)
  local op = pick{ "+", "-", "*", "/", "//", "%", "^", "&", "|", "~", "<<", ">>", "..", "<", "==", "<=" }
  emit(("try(function() local x, acc, last = %s, 0, nil for i = 1, %d do if i == %d then x = %s end last = x %s (i %% 7) acc = acc + 1 end return acc, last end)")
    :format(pick(numbers), n, R(1, n + 20), operand(), op))
end
cases[#cases + 1] = function()
  local n = R(60, 300)
  local body = pick{
    "local t = {} for i = 1, N do t[i] = i * K end local s = 0 for i = 1, #t do s = s + t[i] end return s, t[N]",
    "local s = '' for i = 1, N do s = s .. (i % 10) end return #s, s:sub(-5)",
    "local c = 0 local function f(v) c = c + v return c end for i = 1, N do f(i * K) end return c",
    "local o = setmetatable({}, {__index = function(_, k) return k * 2 end}) local s = 0 for i = 1, N do s = s + o[i] end return s",
    "local s, i = 0, 0 while i < N do i = i + 1 if i % 3 == 0 then s = s - K else s = s + i end end return s, i",
    "local t = {} for i = 1, N do t[#t + 1] = K end return #t, t[1], t[N]",
    "local s = 0 for i = N, 1, -1 do s = (s + i) * 2 %% 1000003 end return s",
    "local t = {x = 0} for i = 1, N do t.x = t.x + K end return t.x",
    "local a = {} for i = 1, N do a[i % 17] = (a[i % 17] or 0) + i end return a[0], a[16]",
    "local s = 0 for i = 1, N do s = s + math.floor(i / K) + math.abs(-i) end return s",
    "local r = 0 for i = 1, N do r = r ~ (i << (i % 5)) end return r",
    "local co = coroutine.wrap(function() for i = 1, N do coroutine.yield(i * K) end end) local s = 0 for _ = 1, N do s = s + co() end return s",
    "local n = 0 for i = 1.0, N, 0.5 do n = n + i end return n",
  }
  body = body:gsub("%%%%", "%%"):gsub("N", tostring(n)):gsub("K", function() return pick(numbers) end)
  emit("try(function() " .. body .. " end)")
end

-- Hot loops composed from the features a trace records beyond arithmetic:
-- Lua calls (fixed and variable results, varargs, tail calls, bounded
-- recursion, pcall and error), method calls, metatables (__index chains and
-- functions, __newindex, __call, comparison and arithmetic events,
-- setmetatable in the loop, raw access), closures and upvalues, table
-- constructors and the table library, iteration in deterministic order,
-- strings and number formatting, and math. Each statement names the helper
-- definitions it needs (emitted once, in hot_order); `x` is an operand that
-- may change type at one iteration, so compiled code must leave its trace or
-- raise the interpreter's error from it. Nothing appends an address to `s`:
-- its truncation could cut one where show() no longer sees it.
local hot_defs = {
  add3 = "local function add3(a, b, c) return a + (b or 0) + (c or 0) end",
  two = "local function two(a) return a, a * 2 end",
  none = "local function none() end",
  va = "local function va(...) local n = select('#', ...) local a, b = ... return n + (a or 0) + (b or 0) end",
  pass = "local function pass(...) return ... end",
  tc = "local function tc(n, d) if n <= 0 then return d end return add3(n, d) end",
  tail = "local function count(...) return select('#', ...) end local function tail(...) return count(...) end",
  fib = "local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end",
  sumr = "local function sumr(n) if n == 0 then return 0 end return n + sumr(n - 1) end",
  loopr = "local function loopr(n, a) if n == 0 then return a end return loopr(n - 1, a + n) end",
  chk = "local function chk(v) if v % 5 == 0 then error('bad ' .. v) elseif v % 7 == 0 then error({v}) end return v end",
  Obj = "local Obj = {} Obj.__index = Obj function Obj.new(v) return setmetatable({v = v}, Obj) end\n" ..
        "function Obj:get() return self.v end function Obj:inc(d) self.v = self.v + d return self end local o = Obj.new(0)",
  chain = "local Base = {base = 3} Base.__index = Base function Base:who() return self.base end\n" ..
          "local Mid = setmetatable({mid = 4}, Base) Mid.__index = Mid local leaf = setmetatable({}, Mid)",
  idxf = "local idxf = setmetatable({}, {__index = function(t, k) return k * 2 end})",
  nidx = "local log = {} local nidx = setmetatable({}, {__newindex = function(t, k, v) rawset(log, k % 10, v) end})",
  callt = "local callt = setmetatable({}, {__call = function(self, a, b) return a + (b or 1) end})",
  V = "local V = {} V.__eq = function(a, b) return a.v == b.v end V.__lt = function(a, b) return a.v < b.v end\n" ..
      "V.__le = function(a, b) return a.v <= b.v end V.__len = function(a) return a.v * 10 end V.__unm = function(a) return -a.v end\n" ..
      "V.__add = function(a, b) return (type(a) == 'table' and a.v or a) + (type(b) == 'table' and b.v or b) end\n" ..
      "V.__concat = function(a, b) return (type(a) == 'table' and 'V' or a) .. (type(b) == 'table' and 'V' or b) end\n" ..
      "V.__index = function(t, k) return k end",
  mts = "local MtA = {__index = {k = 1}} local MtB = {__index = function(t, k) return 2 end}",
  rt = "local rt = {}",
  ctr = "local function counter() local c = 0 return function(d) c = c + (d or 1) return c end end local ctr = counter()",
  bump = "local up = 0 local function bump(d) up = up + d return up end",
  fs = "local fs = {}",
  arr = "local arr = {}",
  small = "local small = {3, 1, 4, 1, 5}",
  str = "local str = 'hello, world'",
}
local hot_order = { "add3", "two", "none", "va", "pass", "tc", "tail", "fib", "sumr", "loopr", "chk", "Obj", "chain",
                    "idxf", "nidx", "callt", "V", "mts", "rt", "ctr", "bump", "fs", "arr", "small", "str" }
-- { needs, statement in the loop [, statement after it] }; $K is a number,
-- $F a float corner case, $S a string operand, $O any operand.
local hot_stmts = {
  -- calls
  { "add3", "acc = acc + add3(i, $K) + add3(i)" },
  { "add3 two", "acc = acc + add3(two(i))" },
  { "two", "local p, q = two(i) acc = acc + p - q + select('#', two(i), two(i))" },
  { "none", "acc = acc + select('#', none()) + select('#', none(), nil) + select('#', (none()))" },
  { "va two", "acc = acc + va(i, $K, nil) + va() + va(two(i))" },
  { "pass", "acc = acc + select('#', pass(i, nil, x)) + (pass(i)) + select(-1, i, $K)" },
  { "", "acc = acc + select(i % 3 + 1, 10, 20, 30)" },
  { "add3 tc", "acc = acc + tc(i % 4, x)" },
  { "tail", "acc = acc + tail(i, nil, x) + tail()" },
  { "fib", "acc = acc + fib(i % 10)" },
  { "sumr", "acc = acc + sumr(i % 20)" },
  { "loopr", "acc = acc + loopr(i % 30, 0)" },
  { "chk", "local ok, e = pcall(chk, i) if ok then acc = acc + e elseif type(e) == 'table' then acc = acc - e[1] else s = s .. e end" },
  { "", "local ok, e = pcall(error, i) acc = acc + e" },
  { "", "local ok, e = pcall(function() return x + i end) if ok then acc = acc + e else s = s .. '!' end" },
  { "", "if i == $M then error('stop at ' .. i) end" },
  { "Obj", "o:inc(i % 3) acc = acc + o:get()", "acc = acc + o.v" },
  { "Obj", "acc = acc + Obj.new(i):inc($K):get()" },
  { "Obj", "if getmetatable(o) == Obj then acc = acc + 1 end if i == $M then o = setmetatable({v = 1}, {__index = Obj}) end" },
  -- metatables
  { "chain", "acc = acc + leaf.base + leaf.mid + leaf:who()" },
  { "chain", "if i == $M then Mid.mid = $K end acc = acc + leaf.mid" },
  { "idxf", "acc = acc + idxf[i] + idxf[$K]" },
  { "nidx", "nidx[i] = i acc = acc + (log[i % 10] or 0) + (rawget(nidx, i) or 0)" },
  { "callt", "acc = acc + callt(i, $K) + callt(i)" },
  { "V", "local a, b = setmetatable({v = i % 3}, V), setmetatable({v = i % 4}, V)\n" ..
         "if a == b then acc = acc + 1 end if a < b then acc = acc + 2 end if a <= b then acc = acc + 4 end if a ~= b then acc = acc + 8 end" },
  { "V", "local a = setmetatable({v = i}, V) acc = acc + (a + $K) + (i + a) + #a + -a s = s .. (a .. i) .. a.w" },
  { "mts", "local t = setmetatable({}, i % 2 == 0 and MtA or MtB) acc = acc + t.k" },
  { "rt", "rawset(rt, i % 5, i) acc = acc + rawget(rt, i % 5) + rawlen(rt) + (rawequal(rt, rt) and 1 or 0)" },
  -- closures and upvalues
  { "", "local f = function(d) return i + d end acc = acc + f($K)" },
  { "fs", "fs[i % 4 + 1] = function() return i end", "for k = 1, #fs do acc = acc + fs[k]() end" },
  { "fs", "do local j = i * 2 fs[i % 3 + 1] = function() j = j + 1 return j end end acc = acc + fs[i % 3 + 1]()" },
  { "ctr", "acc = acc + ctr() + ctr(i)" },
  { "ctr", "local c = counter() c(i) acc = acc + c(1)" },
  { "bump", "acc = acc + bump(i)", "acc = acc + up" },
  -- tables
  { "", "local t = {i, i + 1, x = i, [i % 3 + 10] = 1} acc = acc + t[1] + t[2] + t.x + #t" },
  { "", "local n = {a = {b = {c = i}}, {i}} acc = acc + n.a.b.c + n[1][1]" },
  { "arr", "table.insert(arr, i) if #arr > 8 then acc = acc + table.remove(arr) + table.remove(arr, 1) end acc = acc + #arr" },
  { "arr", "arr[#arr + 1] = $K if #arr > 5 then arr[#arr] = nil end acc = acc + #arr" },
  { "small", "for k, v in ipairs(small) do acc = acc + k * v end" },
  { "", "for k, v in pairs({i, 2, 3}) do acc = acc + k + v end" },
  { "", "local sum = 0 for k, v in pairs({a = i, b = 2, c = 3, 4}) do sum = sum + v end acc = acc + sum" },
  { "small", "local k, v = next(small) acc = acc + k + v + (next({}) == nil and 1 or 0)" },
  { "small", "acc = acc + select('#', table.unpack(small)) + #small small[i % 5 + 1] = i" },
  -- strings
  { "", "s = s .. i .. ','" },
  { "", "s = s .. $K .. x" },
  { "", "s = s .. tostring($F) .. tostring(i * 0.5) .. tostring(-i)" },
  { "", "acc = acc + (tonumber(tostring(i)) or 0) + (tonumber(i .. '.5') or 0) + (tonumber('0x' .. i) or 0)" },
  { "", "acc = acc + (tonumber($S) or -1) + (tonumber(x) or -2)" },
  { "", "s = s .. tonumber('1' .. string.rep('0', i % 25)) .. tonumber(tostring(i), 16) .. (tonumber(' ' .. i .. 'e1 ') or '?')" },
  { "str", "acc = acc + string.byte(str, i % #str + 1) + #string.char(65 + i % 26, 97)" },
  { "str", "s = s .. str:sub(i % 7 - 3, i % 5) .. string.len(str) .. ('x'):rep(i % 3)" },
  { "", "s = s .. string.rep('ab', i % 3, '-') .. string.char(97 + i % 26)" },
  { "", "s = s .. string.format('%d:%5.2f:%s:%x|', i, i / 3, (type(x) == 'table' or type(x) == 'function') and type(x) or x, i)" },
  { "", "s = s .. string.format('%g %.3f %q', $F, i / 7, i)" },
  { "", "s = s .. (i % 2 == 0 and 'e' or 'o') .. #s if s < 'm' then acc = acc + 1 end" },
  -- math
  { "", "acc = acc + math.floor(i / 3) + math.ceil(-i / 3) + math.abs($K - i)" },
  { "", "acc = acc + math.sqrt(i) + math.max(i, $K, 3) + math.min(i, $K)" },
  { "", "acc = acc + math.fmod(i, 7) + math.fmod(-i, 3) + math.fmod(i, 2.5) + math.fmod(i, $K)" },
  { "", "acc = acc + math.floor(x) + math.abs(x) + math.max(x, i)" },
  { "", "s = s .. math.floor(i * $F) .. math.ceil(-i / 2) .. math.abs(math.mininteger + i - 1)" },
  { "", "s = s .. math.max(i, i + 0.0) .. math.min(i + 0.0, i) .. math.max(-0.0, 0.0, $K) .. math.min(0.0, -0.0)" },
  { "", "acc = acc + (math.tointeger(i / 2) or 0) + (math.type(i / 1) == 'float' and 1 or 0) + i // $K + i % $K" },
  -- the operand x
  { "", "acc = acc + x" },
  { "", "if i == $M then x = $O end" },
}
local hot_consts = { "1", "2", "3", "-1", "0", "7", "-7", "0.5", "-2.5", "3.0", "1e15", "math.maxinteger", "2^53", "-0.0" }
local hot_xstrings = { '"10"', '"0x10"', '"1e2"', '"3.0"', '"-7"', '" 5 "' }
local hot_floats = { "-0.0", "0.0", "(0/0)", "-(0/0)", "math.huge", "-math.huge", "1e100", "2^63", "0.1", "1/3", "123456789012.5",
                     "1e15", "1e16", "-1e-7", "2^53", "math.pi" }
cases[#cases + 1] = function()
  local n = R(60, 300)
  local stmts, needs, post = {}, {}, {}
  for k = 1, R(1, 5) do
    local st = pick(hot_stmts)
    for need in st[1]:gmatch("%S+") do needs[need] = true end
    local sub = { K = function() return pick(hot_consts) end, F = function() return pick(hot_floats) end,
                  S = function() return pick(strings) end, O = operand, M = function() return tostring(R(1, n + 20)) end }
    local function fill(text) return (text:gsub("%$(%u)", function(c) return sub[c]() end)) end
    stmts[k] = fill(st[2])
    if st[3] then post[#post + 1] = fill(st[3]) end
  end
  local lines = { "try(function()", ("local acc, s, x = %s, '', %s"):format(pick{ "0", "0", "0.0" }, pick(R(4) == 1 and hot_xstrings or hot_consts)) }
  for _, name in ipairs(hot_order) do
    if needs[name] then lines[#lines + 1] = hot_defs[name] end
  end
  local body = table.concat(stmts, "\n") .. "\nif #s > 80 then s = s:sub(-40) end"
  local shape = R(5)
  if shape == 1 then
    lines[#lines + 1] = ("for i = %d, 1, -1 do\n%s\nend"):format(n, body)
  elseif shape == 2 then
    lines[#lines + 1] = ("local i = 0\nwhile i < %d do\ni = i + 1\n%s\nend"):format(n, body)
  elseif shape == 3 then
    -- an outer loop: the inner loop's trace is left and entered again
    lines[#lines + 1] = ("for r = 1, 3 do for i = r, %d, r do\n%s\nend end"):format(n, body)
  else
    lines[#lines + 1] = ("for i = 1, %d do\n%s\nend"):format(n, body)
  end
  lines[#lines + 1] = table.concat(post, "\n")
  lines[#lines + 1] = "return acc, s\nend)"
  emit(table.concat(lines, "\n"))
end
-- The composed hot loops are about a third of the cases.
for _ = 1, 12 do cases[#cases + 1] = cases[#cases] end

local ncases = R(40, 80)
for _ = 1, ncases do pick(cases)() end
emit("print('done')")
io.write(table.concat(out, "\n"), "\n")
