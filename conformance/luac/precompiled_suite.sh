#!/bin/sh
# Binary-chunk conformance: every official test file that the PUC-Rio
# oracle passes when precompiled by Debian's luac5.4 must pass in luna
# precompiled the same way. Usage: precompiled_suite.sh LUNA ORACLE SUITE
# Skips (exit 77) when luac5.4 is not installed.
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
luna=$(abs "$1") oracle=$(abs "$2") suite=$3
luac=$(command -v luac5.4) || { echo "luac5.4 not installed: skipped"; exit 77; }
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
flags='_U=true _soft=true _port=true _nomsg=true'
cd "$suite" || exit 1
passed=0 failed=0
for src in *.lua; do
  name=${src%.lua}
  [ "$name" = all ] && continue  # the driver of the others, not a test
  "$luac" -o "$work/$name.luac" "$src" 2>/dev/null || continue
  timeout 300 "$oracle" -e"$flags" "$work/$name.luac" >/dev/null 2>&1 || continue
  if timeout 300 "$luna" -e"$flags" "$work/$name.luac" >"$work/$name.out" 2>&1; then
    passed=$((passed + 1))
    echo "pass $src"
  else
    failed=$((failed + 1))
    echo "FAIL $src"
    tail -n 5 "$work/$name.out"
  fi
done
echo "$passed passed, $failed failed (of the files the oracle passes precompiled)"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
