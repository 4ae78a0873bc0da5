#!/bin/sh
# Runs a program under luna and a reference (PUC-Rio's lua5.4, or the same
# C host built against liblua5.4) and requires equal output (stdout and
# stderr together) and exit status.
#   run_compare.sh LUNA_CMD REFERENCE_CMD [EXPECTED_FILE]
# Commands go through sh -c. An empty REFERENCE_CMD (no reference on this
# machine) compares with EXPECTED_FILE, or skips without one. Files listed
# in CAPI_REQUIRES (space-separated) must exist, else the test is skipped.
for f in $CAPI_REQUIRES; do
  if [ ! -e "$f" ]; then
    echo "SKIP: $f is not installed (tools/setup installs lua-lpeg lua-cjson lua-filesystem)"
    exit 77
  fi
done
out=$(mktemp -d) || exit 1
trap 'rm -rf "$out"' EXIT
run() {
  sh -c "$1" >"$2" 2>&1
  echo "exit status $?" >>"$2"
}
run "$1" "$out/luna"
if [ -n "$2" ]; then
  run "$2" "$out/ref"
elif [ -n "$3" ]; then
  cp "$3" "$out/ref"
else
  echo "SKIP: no reference to compare with (lua5.4 / liblua5.4-dev not installed)"
  exit 77
fi
if ! diff -u "$out/ref" "$out/luna"; then
  echo "FAIL: luna's output differs from the reference (- reference, + luna)"
  exit 1
fi
echo "same output as the reference ($(wc -l <"$out/luna") lines)"
