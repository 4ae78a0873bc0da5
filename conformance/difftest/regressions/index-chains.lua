-- __index chains of tables walked by finish_get (vm.cpp) and OP_SELF's
-- method lookup that continues from the class (execute.cpp): fields and
-- methods found two and three levels deep, missing ones, an __index
-- function or a non-table further down, loops and errors.
local Base = {kind = "base"}
Base.__index = Base
function Base:who() return "base:" .. tostring(rawget(self, "name")) end
local Mid = setmetatable({}, Base)
Mid.__index = Mid
local Top = setmetatable({}, Mid)
Top.__index = Top
local o = setmetatable({name = "o"}, Top)
print(o.kind, o:who(), o.missing, Top.kind, Mid:who())
function Mid:who() return "mid" end
print(o:who(), o.who == Mid.who)
Mid.who = nil
print(o:who())
-- an __index function below the class gets the table of its level
local F
F = setmetatable({}, {__index = function(t, k) return k .. (t == F and "@F" or "@other") end})
local C = setmetatable({}, {__index = F})
C.__index = C
local x = setmetatable({}, C)
print(x.foo, x.len, pcall(function() return x:nothing() end))
local G = setmetatable({}, {__index = function(t, k) return function(self) return k, self == x2 end end})
G.__index = G
x2 = setmetatable({}, {__index = setmetatable({}, {__index = G})})
print(x2:hello())
-- a number as __index further down
local N = setmetatable({}, {__index = 5})
N.__index = N
local y = setmetatable({}, N)
print(pcall(function() return y.field end))
print(pcall(function() return y:method() end))
-- a loop of __index tables
local L1, L2 = {}, {}
setmetatable(L1, {__index = L2}); setmetatable(L2, {__index = L1})
print(pcall(function() return L1.x end))
print(pcall(function() return L1:m() end))
-- long-string method names
local longname = string.rep("m", 60)
Base[longname] = function() return "long" end
print(o[longname](o), o:mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm())
-- __index set after the absence was cached
local P = {}
local q = setmetatable({}, P)
print(q.z, q.z)
P.__index = {z = "late"}
print(q.z)
