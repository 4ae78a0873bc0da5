#!/usr/bin/env bash
# Tests of the `luna` command line against the behaviour of the standalone
# `lua` interpreter: options, `arg`, stdin, LUA_INIT, exit codes, errors.
# Usage: cli_test.sh path/to/luna   (run from conformance/cli)
set -u
luna=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

# expect NAME EXPECTED_STATUS EXPECTED_STDOUT EXPECTED_STDERR_PATTERN -- command...
expect() {
  local name=$1 want_status=$2 want_out=$3 want_err=$4
  shift 5
  local out err status
  out=$("$@" 2>"$tmp/err" <"${STDIN_FILE:-/dev/null}")
  status=$?
  err=$(cat "$tmp/err")
  if [[ $status -ne $want_status ]]; then
    echo "FAIL $name: status $status, wanted $want_status (stderr: $err)"; fail=$((fail+1)); return
  fi
  if [[ "$out" != "$want_out" ]]; then
    printf 'FAIL %s: stdout\n--- got\n%s\n--- wanted\n%s\n' "$name" "$out" "$want_out"; fail=$((fail+1)); return
  fi
  if [[ -n "$want_err" ]] && ! grep -qE -- "$want_err" <<<"$err"; then
    printf 'FAIL %s: stderr does not match /%s/\n--- got\n%s\n' "$name" "$want_err" "$err"; fail=$((fail+1)); return
  fi
  if [[ -z "$want_err" && -n "$err" ]]; then
    printf 'FAIL %s: unexpected stderr\n%s\n' "$name" "$err"; fail=$((fail+1)); return
  fi
  pass=$((pass+1))
}

cat >"$tmp/args.lua" <<'LUA'
print(#arg, arg[0], arg[1], arg[2], ...)
print(arg[-1] ~= nil)
LUA
cat >"$tmp/err.lua" <<'LUA'
local function f() error("boom") end
f()
LUA
cat >"$tmp/mod.lua" <<'LUA'
return { answer = 42 }
LUA
cat >"$tmp/exit.lua" <<'LUA'
os.exit(7)
LUA
cat >"$tmp/syntax.lua" <<'LUA'
x = = 1
LUA

expect "-e prints" 0 "3" "" -- "$luna" -e "print(1+2)"
expect "-e twice in order" 0 $'a\nb' "" -- "$luna" -e "print'a'" -e "print'b'"
expect "script args" 0 $'2\t'"$tmp/args.lua"$'\tx\ty\tx\ty\ntrue' "" -- "$luna" "$tmp/args.lua" x y
expect "arg negative indices" 0 $'-e\tprint(arg[-2], arg[-1])' "" -- "$luna" -e "print(arg[-2], arg[-1])" "$tmp/mod.lua"
expect "runtime error exit 1" 1 "" "err.lua:1: boom" -- "$luna" "$tmp/err.lua"
expect "traceback on error" 1 "" "stack traceback:" -- "$luna" "$tmp/err.lua"
expect "error in -e" 1 "" '\(command line\):1: attempt to call a nil value \(global .nofunc.\)' -- "$luna" -e "nofunc()"
expect "syntax error" 1 "" "syntax.lua:1: unexpected symbol near '='" -- "$luna" "$tmp/syntax.lua"
expect "missing file" 1 "" "cannot open" -- "$luna" "$tmp/nonexistent.lua"
expect "os.exit code" 7 "" "" -- "$luna" "$tmp/exit.lua"
expect "-l module" 0 "42" "" -- env LUA_PATH="$tmp/?.lua" "$luna" -l mod -e "print(mod.answer)"
expect "-l g=module" 0 "42" "" -- env LUA_PATH="$tmp/?.lua" "$luna" -l m=mod -e "print(m.answer)"
expect "LUA_INIT chunk" 0 "init" "" -- env LUA_INIT="print'init'" "$luna" -e ""
expect "LUA_INIT_5_4 wins" 0 "54" "" -- env LUA_INIT="print'init'" LUA_INIT_5_4="print'54'" "$luna" -e ""
expect "LUA_INIT @file" 0 "42" "" -- env LUA_INIT="@$tmp/mod.lua" "$luna" -e "print(42)"
expect "-E ignores LUA_INIT" 0 "" "" -- env LUA_INIT="print'init'" "$luna" -E -e ""
expect "-v version" 0 "luna 0.1 (Lua 5.4 language)" "" -- "$luna" -v
# A link named for a version speaks it (scripts that rerun "their" interpreter).
ln -s "$(cd "$(dirname "$luna")" && pwd)/$(basename "$luna")" "$tmp/luna5.3"
expect "luna5.3 link" 0 "Lua 5.3" "" -- "$tmp/luna5.3" -e "print(_VERSION)"
expect "--lua beats the link name" 0 "Lua 5.4" "" -- "$tmp/luna5.3" --lua=5.4 -e "print(_VERSION)"
expect "LUA_PATH_5_3" 0 "y" "" -- env LUA_PATH_5_3=y LUA_PATH=x "$luna" --lua=5.3 -e "print(package.path)"
expect "5.3 ';;' everywhere" 0 ";;true" "" -- env LUA_PATH=";;a;;" "$luna" --lua=5.3 -e "local p = package.path print(p:sub(1, 1) .. p:sub(-1) .. tostring(p:find(';a;', 1, true) ~= nil))"
expect "bad option" 1 "" "unrecognized option '-z'" -- "$luna" -z
expect "-e needs argument" 1 "" "'-e' needs argument" -- "$luna" -e
echo 'print("from stdin", ...)' >"$tmp/stdin.lua"
STDIN_FILE="$tmp/stdin.lua" expect "- reads stdin" 0 $'from stdin\ta' "" -- "$luna" - a
STDIN_FILE="$tmp/stdin.lua" expect "no args reads stdin" 0 "from stdin" "" -- "$luna"
printf 'x = 10\nprint(x * 2)\nfunction f()\nreturn 5\nend\nprint(f())\n= 1 + 1\n' >"$tmp/repl.lua"
version=$("$luna" -v 2>/dev/null)
STDIN_FILE="$tmp/repl.lua" expect "-i multi-line input" 0 "$version"$'\n20\n5\n2' "" -- "$luna" -i -e ""
expect "error object not a string" 1 "" "error object is a table value" -- "$luna" -e "error({})"
expect "-- stops options" 0 $'1\t'"$tmp/args.lua"$'\t-e\tnil\t-e\ntrue' "" -- "$luna" -- "$tmp/args.lua" -e
expect "-W warnings on" 0 "" "Lua warning: hi" -- "$luna" -W -e "warn('hi')"
loop='local s = 0 for i = 1, 200 do s = s + i end print(jit.status(), s)'
expect "-j on by default" 0 $'true\t20100' "" -- "$luna" -e "$loop"
expect "-joff" 0 $'false\t20100' "" -- "$luna" -joff -e "$loop"
expect "-j off -j on" 0 $'true\t20100' "" -- "$luna" -j off -j on -e "$loop"
expect "-jstress" 0 $'true\t20100' "" -- "$luna" -jstress -e "$loop"
expect "-jv reports trace events" 0 $'true\t20100' "^\\[TRACE " -- "$luna" -jv -e "$loop"
expect "-j unknown" 1 "" "unrecognized option '-jbogus'" -- "$luna" -jbogus -e "$loop"
expect "-j needs argument" 1 "" "'-j' needs argument" -- "$luna" -j

echo "cli: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
