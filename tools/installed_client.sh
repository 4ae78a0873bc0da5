#!/bin/sh
# Builds a client the way a user of the installed package would: installs
# the build into a temporary DESTDIR (`meson install`), compiles SOURCE with
# nothing but `pkg-config --cflags --libs PKG` (PKG_CONFIG_PATH pointing at
# the installed .pc files, the prefix moved to the temporary copy), then
# runs it with the installed libraries. The client's output is this
# script's output.
# Usage: installed_client.sh BUILD_ROOT PREFIX LIBDIR PKG COMPILER SOURCE [EXTRA_FLAGS...]
# (EXTRA_FLAGS: only the sanitizer flags of a sanitized build.)
set -eu
build=$1 prefix=$2 libdir=$3 pkg=$4 compiler=$5 src=$6
shift 6
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$dest/install.log" 2>&1 ||
  { cat "$dest/install.log"; exit 1; }
root=$dest$prefix
case $libdir in /*) lib=$dest$libdir ;; *) lib=$root/$libdir ;; esac
flags=$(PKG_CONFIG_PATH="$lib/pkgconfig" pkg-config --define-variable=prefix="$root" --cflags --libs "$pkg")
# shellcheck disable=SC2086
"$compiler" "$src" -o "$dest/client" "$@" $flags
LD_LIBRARY_PATH="$lib" "$dest/client"
