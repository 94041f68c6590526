#!/usr/bin/env bash
# What the tests start besides Python: Debian's prometheus, postgresql and
# chromium, each run by the tests on loopback in a temp folder and stopped
# after. Installs whichever is missing (apt-get, as root or through sudo);
# where it cannot, it says what to install and the tests that need it fail at
# once with the same line. About 30 s here with the package lists fresh.
set -uo pipefail

need=()
[ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ] || need+=(prometheus)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "tests/install-servers.sh: the tests need Debian's ${need[*]}: run 'apt-get install ${need[*]}' as root" >&2
  exit 0
fi
command -v apt-get >/dev/null || {
  echo "tests/install-servers.sh: no apt-get here: install ${need[*]} by hand" >&2
  exit 0
}
echo "tests/install-servers.sh: apt-get install ${need[*]}"
"${as_root[@]}" apt-get update -q >/dev/null || true
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -q "${need[@]}" >/dev/null || {
  echo "tests/install-servers.sh: apt-get install ${need[*]} failed" >&2
  exit 1
}
# Debian starts the packages' own services on install; the tests run theirs.
for service in prometheus postgresql; do
  "${as_root[@]}" systemctl stop "$service" >/dev/null 2>&1 || "${as_root[@]}" service "$service" stop >/dev/null 2>&1 || true
done
exit 0
