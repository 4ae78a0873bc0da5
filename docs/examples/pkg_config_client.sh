#!/bin/sh
# Builds an example the way a new user would, with nothing but the flags
# of `pkg-config --cflags --libs luna` (g++'s default standard is older
# than C++20, so luna.pc must carry it), then runs it.
# Usage: pkg_config_client.sh CXX PC_DIR LIB_PATH SOURCE OUT [EXTRA_FLAGS...]
# (LIB_PATH: the uninstalled libraries' directories, colon-separated.)
# (EXTRA_FLAGS: only the sanitizer flags of a sanitized build.)
set -eu
cxx=$1 pcdir=$2 libpath=$3 src=$4 out=$5
shift 5
flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs luna)
# shellcheck disable=SC2086
"$cxx" "$src" -o "$out" "$@" $flags
LD_LIBRARY_PATH="$libpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$out"
