#!/bin/sh
# install-deps.sh: installs the Debian packages deepfreeze needs, if missing.
# Build: a C compiler, make, Lua 5.4 with lua-cjson, mbedTLS headers, xz (the bundled tokenizer).
# Tests: clang with its sanitizer/fuzzer runtimes (libFuzzer, ASan, UBSan); unicode-data (the
# Unicode tables of the tokenizer are checked against it).
set -eu
missing=""
need() { # need PACKAGE CHECK-COMMAND...
    pkg=$1; shift
    if ! "$@" >/dev/null 2>&1; then missing="$missing $pkg"; fi
}
need lua5.4 command -v lua5.4
need lua-cjson lua5.4 -e 'require "cjson"'
need make command -v make
need build-essential command -v gcc
need libmbedtls-dev test -f /usr/include/mbedtls/sha256.h
need clang command -v clang
need xz-utils command -v xz
need unicode-data test -f /usr/share/unicode/UnicodeData.txt
need libclang-rt-14-dev sh -c 'ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a'
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
