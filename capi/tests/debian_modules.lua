-- Real work with Debian's lua-lpeg, lua-cjson and lua-filesystem (modules
-- built for PUC-Rio's Lua 5.4). Run by luna and by lua5.4 with LUA_CPATH
-- and LUA_PATH pointing at Debian's 5.4 folders; the outputs must be equal.
local lpeg = require "lpeg"
local re = require "re"
local cjson = require "cjson"
local lfs = require "lfs"

print("-- lpeg", lpeg.version())
local P, R, S, V, C, Ct, Cs, Cg, Cf, Cc, Cmt = lpeg.P, lpeg.R, lpeg.S, lpeg.V, lpeg.C, lpeg.Ct,
  lpeg.Cs, lpeg.Cg, lpeg.Cf, lpeg.Cc, lpeg.Cmt

-- an arithmetic grammar that evaluates as it matches
local space = S" \t\n"^0
local number = C(P"-"^-1 * R"09"^1 * (P"." * R"09"^1)^-1) / tonumber * space
local function binop(a, op, b)
  if op == "+" then return a + b elseif op == "-" then return a - b
  elseif op == "*" then return a * b else return a / b end
end
local function fold(t)
  local acc = t[1]
  for i = 2, #t, 2 do acc = binop(acc, t[i], t[i + 1]) end
  return acc
end
local calc = P{
  "Exp",
  Exp = Ct(V"Term" * (C(S"+-") * space * V"Term")^0) / fold,
  Term = Ct(V"Factor" * (C(S"*/") * space * V"Factor")^0) / fold,
  Factor = number + P"(" * space * V"Exp" * P")" * space,
}
for _, e in ipairs{"1 + 2 * 3", "(1 + 2) * 3", "10 / 4 - 1", "2 * (3 + 4) * (5 - 1)", "1 +"} do
  print(e, calc:match(e))
end

-- captures
local csv = Ct(C((1 - P",")^0) * ("," * C((1 - P",")^0))^0)
print(table.concat(csv:match("a,b,,d"), "|"))
local kv = Cf(Ct"" * Cg(C(R"az"^1) * "=" * C(R"09"^1) * P";"^-1)^0, rawset)
local t = kv:match("x=1;y=22;z=333")
print(t.x, t.y, t.z)
print(Cs((P"cat" / "dog" + 1)^0):match("a cat and another cat"))
print(lpeg.match(Cmt(C(R"09"^1), function(_, i, d) return #d == 3, d * 2 end), "123"))
print(lpeg.match(Cc(1, 2, 3), ""))
print(lpeg.match(P"abc" * lpeg.Cp(), "abcdef"))
print(pcall(lpeg.match, P(1)^0^0, "x"))
print(pcall(lpeg.P, {"A", A = V"A" * "x"}))
print(lpeg.type(P"a"), lpeg.type(1))

-- re
print(re.match("the number 423 is odd", "({%a+} / .)*"))
print(re.find("hello world", "'o' ' '"))
print(re.gsub("hello world", "%w+", "<%0>"))
local list = re.compile[[
  list <- {| item (',' item)* |}
  item <- %s* { [^,]+ } %s*
]]
print(table.concat(list:match(" a , bb,ccc "), "/"))
local balanced = re.compile("b <- '(' ([^()] / b)* ')'")
print(balanced:match("(a(b)(c(d)))rest"), balanced:match("(a(b"))
print(pcall(re.compile, "a <- 'x' b"))

print("-- cjson")
local big = {}
for i = 1, 2000 do
  big[i] = {id = i, name = "item" .. i, tags = {"t" .. i % 7, "u" .. i % 3},
            score = i / 8, ok = i % 2 == 0, none = cjson.null}
end
local text = cjson.encode(big)
local back = cjson.decode(text)
local same = #back == #big
for i = 1, #big do
  local a, b = big[i], back[i]
  same = same and a.id == b.id and a.name == b.name and a.score == b.score and a.ok == b.ok
    and b.none == cjson.null and a.tags[1] == b.tags[1] and a.tags[2] == b.tags[2]
end
print(#text, same, #cjson.encode(back) == #text)
print(cjson.encode({1, 2.5, "x\n\"y\"", true, false, cjson.null, {}, {{}}}))
print(cjson.encode({k = {1, {k2 = "v"}}}))
print(cjson.encode(1e300), cjson.encode(-0.0), cjson.encode(123456789012))
print(cjson.encode("\0\1\127/\\"))
local d = cjson.decode('{"a":[1,2,{"b":"\\u00e9\\n"}],"c":-1.5e3,"d":null}')
print(d.a[3].b, d.c, d.d == cjson.null, math.type(d.a[1]))
for _, bad in ipairs{'{bad', '[1,2', '{"a":}', '"\\x"', '1 2', '', 'nul', '[1,]'} do
  print(pcall(cjson.decode, bad))
end
print(pcall(cjson.encode, {f = print}))
print(pcall(cjson.encode, {[1] = 1, [100] = 2}))
local deep = {}
local cur = deep
for _ = 1, 2000 do cur[1] = {}; cur = cur[1] end
print(pcall(cjson.encode, deep))
print(pcall(cjson.decode, string.rep("[", 2000)))
local enc = cjson.new()
enc.encode_sparse_array(true)
print(enc.encode({[1] = 1, [5] = 2}))

print("-- lfs")
local base = os.tmpname()
os.remove(base)
-- The temporary name differs from run to run: print it as BASE.
local rawprint, quoted = print, base:gsub("%p", "%%%0")
function print(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = (tostring(t[i]):gsub(quoted, "BASE")) end
  rawprint(table.unpack(t, 1, t.n))
end
print(lfs.mkdir(base))
print(select(2, lfs.mkdir(base)) ~= nil)
for i = 1, 5 do
  local f = assert(io.open(base .. "/file" .. i .. ".txt", "w"))
  f:write(string.rep("x", i * 100))
  f:close()
end
print(lfs.mkdir(base .. "/sub"))
local names = {}
for name in lfs.dir(base) do names[#names + 1] = name end
table.sort(names)
print(table.concat(names, " "))
for _, n in ipairs(names) do
  if n ~= "." and n ~= ".." then
    local a = lfs.attributes(base .. "/" .. n)
    print(n, a.mode, a.mode == "file" and a.size or "-", a.nlink >= 1)
  end
end
print(lfs.attributes(base .. "/file3.txt", "size"), lfs.attributes(base .. "/missing"))
print(lfs.touch(base .. "/file1.txt", 1000000000, 1000000000))
print(lfs.attributes(base .. "/file1.txt", "modification"))
local fh = assert(io.open(base .. "/file2.txt", "r+"))
print(lfs.lock(fh, "w"), lfs.unlock(fh))
fh:close()
print(pcall(lfs.lock, fh, "w"))
local old = lfs.currentdir()
print(lfs.chdir(base), lfs.currentdir() == base or lfs.currentdir():sub(-#base) == base)
print(lfs.chdir(old), lfs.currentdir() == old)
print(pcall(lfs.dir, base .. "/missing"))
local it, dirobj = lfs.dir(base)
print(type(it), tostring(dirobj):match("^directory") ~= nil)
dirobj:close()
print(pcall(lfs.attributes, base, "nosuchfield"))
for _, n in ipairs(names) do
  if n:match("^file") then os.remove(base .. "/" .. n) end
end
print(lfs.rmdir(base .. "/sub"), lfs.rmdir(base))
print(lfs.attributes(base, "mode"))
