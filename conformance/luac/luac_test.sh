#!/usr/bin/env bash
# Tests of the `luac` command (PUC-Rio luac's options) and of binary chunk
# exchange: luna's chunks run on the PUC-Rio oracle, luac5.4's run on luna.
# Usage: luac_test.sh LUAC LUNA [ORACLE]   (the oracle part is skipped without it)
set -u
luac=$1 luna=$2 oracle=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
check() {  # NAME WANT GOT
  if [[ "$2" == "$3" ]]; then ok; else printf 'FAIL %s\n--- got\n%s\n--- wanted\n%s\n' "$1" "$3" "$2"; fail=$((fail + 1)); fi
}

# A program exercising what binary chunks carry: arithmetic in every form
# (register, constant and immediate operands, swapped operands) with
# metamethods, closures and upvalues, varargs, loops, long strings, errors.
cat >prog.lua <<'LUA'
local mt = {}
for _, e in ipairs{"add", "sub", "mul", "div", "mod", "pow", "idiv", "band", "bor", "bxor", "shl", "shr"} do
  mt["__" .. e] = function(a, b)
    return e .. "(" .. (type(a) == "table" and "o" or tostring(a)) .. "," .. (type(b) == "table" and "o" or tostring(b)) .. ")"
  end
end
local o = setmetatable({}, mt)
print(o + 1, 1 + o, o - 1, 1 - o, o * 2.5, 2.5 * o, o / 2, o % 3, o ^ 2, o // 2)
print(o & 1, 1 | o, o ~ 3, o << 1, 1 << o, o >> 2, 2 >> o, o + o)
local x, y = 7, 2
print(x + y, x - 1, 1 - x, x * 3, x / y, x % y, x ^ y, x // y, x & 3, x | 8, x ~ 1, x << 2, 1 << x, x >> 1)
local function counter(n) return function(...) n = n + select("#", ...) return n end end
local c = counter(10)
c(1, 2); print(c(nil))
local t = {}
for i = 1, 300 do t[i] = i * 2 end
local s = 0
for _, v in ipairs(t) do s = s + v end
print(s, #t, string.rep("long ", 20))
print(pcall(function() return {} + 1 end))
print(select(2, pcall(error, "boom")))
local ok, msg = pcall(function() local z; return z.field end)
print(ok, msg)
LUA

# --- options
"$luac" -v >out 2>&1; [[ $? -eq 0 ]] && grep -q "^Lua 5.4" out && ok || bad "-v"
"$luac" -o prog.luac prog.lua && ok || bad "-o"
"$luna" prog.lua >want.txt 2>&1
"$luna" prog.luac >got.txt 2>&1
check "luna runs luac -o output" "$(cat want.txt)" "$(cat got.txt)"
"$luac" -s -o prog_s.luac prog.lua && ok || bad "-s"
[[ $(wc -c <prog_s.luac) -lt $(wc -c <prog.luac) ]] && ok || bad "-s does not shrink the chunk"
"$luna" prog_s.luac >got_s.txt 2>&1
# Stripped chunks lose line numbers and variable names in messages (the
# oracle's part below compares those lines); the rest is the same.
check "stripped output" "$(head -n 5 want.txt)" "$(head -n 5 got_s.txt)"
grep -q "^false	?:-1: attempt to index a nil value$" got_s.txt && ok || bad "stripped message: $(tail -n 1 got_s.txt)"
rm -f luac.out
"$luac" -p prog.lua && [[ ! -e luac.out ]] && ok || bad "-p writes nothing"
printf 'return (' >broken.lua
"$luac" -p broken.lua >out 2>&1
# Messages start with the command's name as invoked, as luac5.4's do.
[[ $? -eq 1 && "$(head -n 1 out)" == "$luac: broken.lua:1:"* ]] && ok || bad "syntax error: $(cat out)"
# The listing shows the chunk as written, with the MMBIN* the dump adds.
"$luac" -l prog.lua >out && grep -q "^main <prog.lua:0,0> (" out && grep -q "MMBINI.*; __add$" out && ok || bad "-l"
"$luac" -z >out 2>&1; [[ $? -eq 1 ]] && grep -q "unrecognized option '-z'" out && grep -q "^usage:" out && ok || bad "bad option"
"$luac" >out 2>&1; [[ $? -eq 1 ]] && grep -q "no input files given" out && ok || bad "no input"
"$luac" -o no/such/dir.luac prog.lua >out 2>&1
[[ $? -eq 1 && "$(cat out)" == "$luac: cannot open no/such/dir.luac: No such file or directory" ]] && ok || bad "unwritable output: $(cat out)"
"$luac" -o >out 2>&1; [[ $? -eq 1 ]] && grep -q "'-o' needs argument" out && ok || bad "-o without name"
echo 'print("from stdin")' | "$luac" -o stdin.luac - && check "- reads stdin" "from stdin" "$("$luna" stdin.luac)"
echo 'print("to stdout")' | "$luac" -o - - >stdout.luac && check "-o - writes stdout" "to stdout" "$("$luna" stdout.luac)"
printf 'print("first", ...)\nshared = 41\n' >a.lua
printf 'print("second", shared + 1)\n' >b.lua
"$luac" -o ab.luac a.lua b.lua && check "files combined in order" "$(printf 'first\nsecond\t42')" "$("$luna" ab.luac x y)"
"$luac" -o twice.luac prog.luac && "$luna" twice.luac >got2.txt 2>&1
check "luac reads binary chunks" "$(cat want.txt)" "$(cat got2.txt)"

# --- exchange with PUC-Rio
if [[ -n "$oracle" ]]; then
  "$oracle" prog.lua >owant.txt 2>&1
  check "luna matches the oracle on the source" "$(cat owant.txt)" "$(cat want.txt)"
  "$oracle" prog.luac >ogot.txt 2>&1
  check "oracle runs luna's chunk" "$(cat owant.txt)" "$(cat ogot.txt)"
  "$oracle" prog_s.luac >ogot_s.txt 2>&1
  check "oracle runs luna's stripped chunk" "$(cat got_s.txt)" "$(cat ogot_s.txt)"
  "$oracle" ab.luac x y >out 2>&1
  check "oracle runs luna's combined chunk" "$(printf 'first\nsecond\t42')" "$(cat out)"
  "$luna" -e 'io.open("sd.luac", "wb"):write(string.dump(assert(loadfile("prog.lua"))))' &&
    "$oracle" sd.luac >out 2>&1
  check "oracle runs string.dump output" "$(cat owant.txt)" "$(cat out)"
fi
if command -v luac5.4 >/dev/null; then
  for s in "" -s; do
    luac5.4 $s -o puc.luac prog.lua
    "$luna" puc.luac >out 2>&1
    want=want.txt; [[ -n "$s" ]] && want=got_s.txt
    check "luna runs luac5.4 $s output" "$(cat $want)" "$(cat out)"
  done
  # The listing of the same chunk, full and stripped, is luac5.4's line for
  # line (addresses aside).
  for s in "" -s; do
    luac5.4 $s -o puc.luac prog.lua
    check "-l -l of luac5.4 $s output" "$(luac5.4 -l -l -p puc.luac | sed 's/0x[0-9a-f]*/ADDR/g')" \
      "$("$luac" -l -l -p puc.luac | sed 's/0x[0-9a-f]*/ADDR/g')"
    check "-l of luac5.4 $s output" "$(luac5.4 -l -p puc.luac | sed 's/0x[0-9a-f]*/ADDR/g')" \
      "$("$luac" -l -p puc.luac | sed 's/0x[0-9a-f]*/ADDR/g')"
  done
else
  echo "luac5.4 not installed: its chunks not tried"
fi
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
