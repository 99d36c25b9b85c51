#!/bin/sh
# Installs the Debian packages listed in FILE (default: debian-packages.txt, what building and
# testing SockShell need) when they are missing. As root it calls apt-get directly, otherwise
# through sudo, and says so.
set -eu
list="${1:-$(dirname "$0")/debian-packages.txt}"
packages="$(grep -v '^#' "$list" | tr '\n' ' ')"
missing=""
for package in $packages; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $package"
  fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  apt_get="apt-get"
else
  apt_get="sudo apt-get"
fi
echo "sockshell: installing missing Debian packages:$missing (with $apt_get)"
$apt_get update -qq
DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq --no-install-recommends $missing
