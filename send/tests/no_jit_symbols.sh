#!/bin/sh
# Usage: no_jit_symbols.sh NM READELF JIT_LIB FILE...
# Every FILE (libluna-send, libluna-core, a SendVm-only program) must
# define and reference no JIT symbol (namespace luna::jit, asmjit) and must
# not depend on libluna. JIT_LIB (libluna) must have such symbols, so the
# check is known to see them.
nm=$1 readelf=$2 jitlib=$3
shift 3
pattern='luna::jit::|asmjit'
if ! "$nm" -C "$jitlib" | grep -Eq "$pattern"; then
  echo "control failed: no JIT symbol found in $jitlib"
  exit 1
fi
status=0
for f in "$@"; do
  hits=$("$nm" -C "$f" | grep -E "$pattern")
  dyn=$("$nm" -C -D "$f" | grep -E "$pattern")
  if [ -n "$hits$dyn" ]; then
    echo "JIT symbols in $f:"
    printf '%s\n%s\n' "$hits" "$dyn" | head -20
    status=1
  fi
  if "$readelf" -d "$f" | grep -q 'NEEDED.*\[libluna\.so'; then
    echo "$f depends on libluna (the JIT library)"
    status=1
  fi
done
[ $status = 0 ] && echo "no JIT symbol in: $*"
exit $status
