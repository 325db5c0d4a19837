#!/usr/bin/env bash
# Installs the Debian packages the tests need, each on its own and only when it is missing.
#   chromium      browser tests (Playwright drives /usr/bin/chromium)
#   postgresql    the second test pass and the multi-instance test (initdb, pg_ctl)
#   redis-server  the multi-instance test (shared cache)
#   poppler-utils pdftotext and pdftoppm: the printed preparation sheet as text and as a picture
#   wrk           the load script (make bench)
#   nginx         the production proxy (deploy/nginx.conf), in front of the two-instance test and
#                 the load scripts; run on loopback ports by scripts/proxy.py, never as a service
#   nodejs, npm   node --test for the browser engine, npm ci for axe-core; only when no working
#                 node/npm is on the PATH: a machine may ship Node.js from another source, whose
#                 nodejs package conflicts with Debian's npm.
# One package per apt-get call: a conflict in one never blocks the others.
set -euo pipefail

sudo=()
if [ "$(id -u)" != 0 ]; then
  sudo=(sudo)
fi

updated=0
install() {
  local package=$1
  if [ "$updated" = 0 ]; then
    "${sudo[@]}" apt-get update -qq
    updated=1
  fi
  echo "system-deps: installing Debian's $package"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq "$package" >/dev/null
}

[ -x /usr/bin/chromium ] || install chromium
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || install postgresql
command -v redis-server >/dev/null || install redis-server
command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null || install poppler-utils
command -v wrk >/dev/null || install wrk
# /usr/sbin is not on every user's PATH.
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || install nginx
if ! node --version >/dev/null 2>&1; then
  install nodejs
fi
if ! npm --version >/dev/null 2>&1; then
  install npm
fi
