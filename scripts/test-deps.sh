#!/usr/bin/env bash
# The Debian packages the test suite needs, checked by `make test` before `npm ci` and the tests
# (and so by .ci/run, which calls make test). As root with apt-get it installs the missing ones;
# otherwise, or with INSTALL_TEST_DEPS=no, it names them and the command that installs them in
# one line and exits 1: a machine without them learns it in seconds, not from failures minutes
# into the suite.
#
# Only shell builtins decide what is missing, so the check runs the same under any PATH.
set -uo pipefail
cd "${BASH_SOURCE[0]%/*}/.." || exit 1

has() { command -v "$1" >/dev/null 2>&1; }

missing=()
# npm ci and npm test (npm ci then brings the project's own Node.js).
has npm || missing+=(npm)
# promtool checks the metrics and alert rules; the prometheus server scrapes a real service.
{ has promtool && has prometheus; } || missing+=(prometheus)
# The browser tests drive Chromium through playwright-core, at the path the tests look for.
[[ -x ${TPS_TEST_CHROMIUM:-/usr/bin/chromium} ]] || missing+=(chromium)
# npm ci compiles the malloc-trim addon (native/build.mjs), which the tests expect on glibc.
has "${CC:-cc}" || missing+=(gcc)
[[ $OSTYPE != linux-gnu* || -f /usr/include/malloc.h ]] || missing+=(libc6-dev)
# The TLS test makes its own certificate.
has openssl || missing+=(openssl)

((${#missing[@]} == 0)) && exit 0

if [[ $EUID -eq 0 && ${INSTALL_TEST_DEPS:-yes} != no ]] && has apt-get; then
  echo "make test: installing the Debian packages ${missing[*]} (apt-get)" >&2
  log=$(mktemp -t tps-test-deps.XXXXXX)
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine has no package lists yet; a machine that has them needs no update.
  if ! apt-get install -y "${missing[@]}" >"$log" 2>&1; then
    if ! { apt-get update && apt-get install -y "${missing[@]}"; } >>"$log" 2>&1; then
      echo "make test: apt-get install -y ${missing[*]} failed; its output is in $log" >&2
      exit 1
    fi
  fi
  rm -f "$log"
  # An npm ci that ran without a compiler skipped the addon, and will not run again by itself.
  if [[ " ${missing[*]} " == *" gcc "* || " ${missing[*]} " == *" libc6-dev "* ]] && [[ -x node_modules/.bin/node ]]; then
    node_modules/.bin/node native/build.mjs
  fi
  exit 0
fi

packages=${missing[*]}
if ! has apt-get; then
  how="install them (or their equivalents) with this system's package manager"
elif [[ $EUID -eq 0 ]]; then
  how="install them with: apt-get update && apt-get install -y $packages"
else
  how="install them with: sudo apt-get update && sudo apt-get install -y $packages"
fi
echo "make test: missing Debian packages: ${packages// /, }; $how" >&2
exit 1
