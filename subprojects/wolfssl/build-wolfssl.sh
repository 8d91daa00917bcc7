#!/bin/sh
# Builds Debian's wolfSSL source (subprojects/wolfssl-src, fetched by scripts/bootstrap) inside
# the meson build tree: copy the source, `autoreconf -fi` (the source ships no configure),
# configure with the given options, make the static library, copy it to OUT_LIB and the
# generated wolfssl/options.h to OUT_OPTIONS.
# usage: build-wolfssl.sh SRC WORK OUT_LIB OUT_OPTIONS CC -- CONFIGURE_ARGS...
# The source tree is never written to; configure reruns only when its arguments change.
set -eu
src=$1 work=$2 out_lib=$3 out_options=$4 cc=$5
shift 6
log="$work/build.log"
mkdir -p "$work"
tree="$work/src"
if [ ! -f "$tree/configure" ]; then
  rm -rf "$tree"
  cp -a "$src" "$tree"
  echo "wolfssl: autoreconf" >"$log"
  (cd "$tree" && autoreconf -fi) >>"$log" 2>&1 || { cat "$log" >&2; exit 1; }
fi
args="$cc $*"
if [ ! -f "$tree/Makefile" ] || [ "$(cat "$work/configure.args" 2>/dev/null)" != "$args" ]; then
  echo "wolfssl: configure $args" >>"$log"
  (cd "$tree" && CC="$cc" ./configure "$@") >>"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  printf '%s' "$args" >"$work/configure.args"
fi
(cd "$tree" && make -j2 src/libwolfssl.la) >>"$log" 2>&1 || { tail -50 "$log" >&2; exit 1; }
cp "$tree/src/.libs/libwolfssl.a" "$out_lib"
cp "$tree/wolfssl/options.h" "$out_options"
