#!/usr/bin/env bash
# Drives the interactive prompt of `luna` through a pseudo-terminal (a
# private tmux server): prompts and _PROMPT/_PROMPT2, multi-line input and,
# when built with readline, history recall, in-line editing and Tab
# completion that runs no Lua code. Then checks the same session through a
# pipe, where no prompt is shown and lines are read plainly.
# Usage: terminal_test.sh path/to/luna readline|plain
# Every step waits for the expected screen text (up to $timeout seconds)
# rather than sleeping, so it holds on a slow, loaded machine.
set -u
luna=$1
editing=$2
timeout=${LUNA_TTY_TIMEOUT:-60}
command -v tmux >/dev/null || { echo "terminal_test: tmux is not installed (tools/setup installs it)"; exit 1; }
tmp=$(mktemp -d)
sock=$tmp/tmux.sock
tm() { tmux -S "$sock" -f "$tmp/tmux.conf" "$@"; }
trap 'tm kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
unset TMUX LUA_INIT LUA_INIT_5_4
export INPUTRC=$tmp/inputrc  # the user's key bindings must not change what the keys do
: >"$INPUTRC"
# Keep the pane after luna exits so a failure can still show its screen; run
# the wrapper below in a POSIX shell whatever the user's login shell is.
printf '%s\n' 'set -g remain-on-exit on' 'set -g default-shell /bin/sh' >"$tmp/tmux.conf"

screen() { tm capture-pane -p -S - -t luna; }
last_line() { screen | grep -v '^[[:space:]]*$' | tail -n 1; }
has_line() { screen | grep -qxF -- "$1"; }
is_last() { [[ "$(last_line)" == "$1" ]]; }
# The status comes from a wrapper shell, not from tmux: tmux can mark the pane
# dead before it reaps the process and then report no status at all.
exited_with() { [[ -s "$tmp/status" && "$(cat "$tmp/status")" == "$1" ]]; }

step=""
# wait_for DESCRIPTION CHECK ARGS...: polls the screen until CHECK holds.
wait_for() {
  local what=$1 deadline=$((SECONDS + timeout))
  shift
  until "$@"; do
    if ((SECONDS >= deadline)); then
      printf 'FAIL %s: no %s after %ss; screen:\n' "$step" "$what" "$timeout"
      screen | grep -v "^[[:space:]]*$" | sed "s/^/  |/"
      exit 1
    fi
    sleep 0.1
  done
}
type_text() { tm send-keys -t luna -l -- "$1"; }
keys() { tm send-keys -t luna "$@"; }
# enter LINE: types a line, presses Enter and waits for the next prompt.
enter() {
  type_text "$1"
  keys Enter
  wait_for "prompt after '$1'" is_last "${2:-P>}"
}

version=$("$luna" -v)
tm new-session -d -s luna -x 100 -y 50 "'$luna'; echo \$? >'$tmp/status'"

step="banner"
wait_for "version banner" has_line "$version"
wait_for "default prompt" is_last ">"

step="_PROMPT and _PROMPT2"
enter '_PROMPT = "P> "'
type_text '_PROMPT2 = setmetatable({}, {__tostring = function() return "C>> " end})'
keys Enter
wait_for "new prompt" is_last "P>"
type_text 'for i = 1, 2 do'
keys Enter
wait_for "continuation prompt from __tostring" is_last "C>>"
type_text 'print("loop" .. i)'
keys Enter
wait_for "continuation prompt" is_last "C>>"
enter 'end'
wait_for "loop output" has_line "loop2"
enter '=1000 + 1'
wait_for "value of =expr" has_line "1001"

if [[ $editing == readline ]]; then
  step="history and editing"
  enter 'print(1200 + 34)'
  wait_for "first result" has_line "1234"
  keys Up
  wait_for "recalled line" is_last "P> print(1200 + 34)"
  keys Left BSpace
  type_text 5
  wait_for "edited line" is_last "P> print(1200 + 35)"
  keys Enter
  wait_for "result of the edited line" has_line "1235"
  wait_for "prompt" is_last "P>"

  step="Tab completion of fields"
  type_text 'print(string.fo'
  keys Tab
  wait_for "string.format completed" is_last "P> print(string.format"
  enter '("%d|", 77))'
  wait_for "formatted output" has_line "77|"

  step="Tab completion of globals and keywords"
  type_text 'rawle'
  keys Tab
  wait_for "global completed" is_last "P> rawlen"
  keys C-u
  wait_for "cleared line" is_last "P>"
  type_text 'repe'
  keys Tab
  wait_for "keyword completed" is_last "P> repeat"
  keys C-u
  wait_for "cleared line" is_last "P>"

  step="Tab completion of methods"
  enter 's = "abc"'
  type_text 's:upp'
  keys Tab
  wait_for "string method completed" is_last "P> s:upper"
  enter '()'
  wait_for "method result" has_line "ABC"
  enter 'obj = setmetatable({}, {__index = {greet = function() return "hi" end, n = 1}})'
  type_text 'obj:g'
  keys Tab
  wait_for "method through an __index table" is_last "P> obj:greet"
  enter '()'
  wait_for "method result" has_line "hi"

  step="Tab completion runs no Lua code"
  enter 'p = setmetatable({}, {__index = function(_, k) hits = (hits or 0) + 1; return {k} end})'
  type_text 'p.x.'
  keys Tab Tab
  type_text 'y'
  wait_for "line left as typed" is_last "P> p.x.y"
  keys C-u
  wait_for "cleared line" is_last "P>"
  enter 'print(hits == nil and "no hits" or "hits!")'
  wait_for "no __index call" has_line "no hits"
fi

step="os.exit ends the session"
type_text 'os.exit(3)'
keys Enter
wait_for "exit status 3" exited_with 3

step="the same session through a pipe"
printf '%s\n' '_PROMPT = "P> "' 'for i = 1, 2 do' 'print("loop" .. i)' 'end' '=1000 + 1' \
  'print(1200 + 35)' 's = "abc"' 's:upper()' 'print(("%d|"):format(77))' 'os.exit(3)' >"$tmp/session.lua"
out=$("$luna" -i <"$tmp/session.lua" 2>"$tmp/err")
status=$?
want="$version"$'\nloop1\nloop2\n1001\n1235\nABC\n77|'
if [[ $status -ne 3 || "$out" != "$want" || -s "$tmp/err" ]]; then
  printf 'FAIL %s: status %s (wanted 3)\n--- got\n%s\n--- wanted\n%s\n--- stderr\n' "$step" "$status" "$out" "$want"
  cat "$tmp/err"
  exit 1
fi

echo "terminal: all steps passed ($editing)"
