#!/bin/sh
# package.path and package.cpath as PUC-Rio sets them: the defaults of a
# /usr/local build, LUA_PATH_5_4 before LUA_PATH (LUA_CPATH likewise), ";;"
# standing for the default, and -E ignoring the environment.
#   paths.sh LUNA
luna=$1
P="/usr/local/share/lua/5.4/?.lua;/usr/local/share/lua/5.4/?/init.lua;/usr/local/lib/lua/5.4/?.lua;/usr/local/lib/lua/5.4/?/init.lua;./?.lua;./?/init.lua"
C="/usr/local/lib/lua/5.4/?.so;/usr/local/lib/lua/5.4/loadall.so;./?.so"
fails=0
check() {  # check WHAT EXPECTED ENV-ASSIGNMENTS... -- LUNA-ARGS...
  what=$1 expected=$2
  shift 2
  got=$(env -u LUA_PATH -u LUA_PATH_5_4 -u LUA_CPATH -u LUA_CPATH_5_4 -u LUA_INIT -u LUA_INIT_5_4 "$@")
  if [ "$got" != "$expected" ]; then
    echo "FAIL $what"
    echo "  expected: $expected"
    echo "  got:      $got"
    fails=$((fails + 1))
  fi
}
path='io.write(package.path)'
cpath='io.write(package.cpath)'
check "default path" "$P" "$luna" -e "$path"
check "default cpath" "$C" "$luna" -e "$cpath"
check "LUA_PATH" "a/?.lua" LUA_PATH="a/?.lua" "$luna" -e "$path"
check "LUA_PATH_5_4 first" "b/?.lua" LUA_PATH="a/?.lua" LUA_PATH_5_4="b/?.lua" "$luna" -e "$path"
check "default inside" "x/?.lua;$P;y/?.lua" LUA_PATH="x/?.lua;;y/?.lua" "$luna" -e "$path"
check "default alone" "$P" LUA_PATH=";;" "$luna" -e "$path"
check "default first" "$P;y/?.lua" LUA_PATH=";;y/?.lua" "$luna" -e "$path"
check "LUA_CPATH" "c/?.so" LUA_CPATH="c/?.so" "$luna" -e "$cpath"
check "LUA_CPATH_5_4 first" "d/?.so;$C" LUA_CPATH="c/?.so" LUA_CPATH_5_4="d/?.so;;" "$luna" -e "$cpath"
check "-E ignores LUA_PATH" "$P" LUA_PATH="a/?.lua" "$luna" -E -e "$path"
check "-E ignores LUA_CPATH" "$C" LUA_CPATH="c/?.so" "$luna" -E -e "$cpath"
[ $fails -eq 0 ] && echo "package.path/cpath: all cases as PUC-Rio"
exit $fails
