#!/usr/bin/env bash
# Installs what building and testing cloudspool needs, and only what is missing
# (idempotent; prints nothing but "ok" when everything is there):
#   Debian: libcurl4-openssl-dev zlib1g-dev (build), icinga2-bin icinga2-common (the monitoring tests' real peer)
#   PyPI:   moto[server] osmem-server boto3 pytest awscli pyyaml cryptography (the tests' peers and references)
# Used by scripts/test.sh, scripts/demo.sh and .ci/run. As root, or with sudo for apt.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing_deb=()
for p in libcurl4-openssl-dev zlib1g-dev icinga2-bin icinga2-common; do
    dpkg -s "$p" >/dev/null 2>&1 || missing_deb+=("$p")
done
if [ "${#missing_deb[@]}" -gt 0 ]; then
    echo "installing Debian packages: ${missing_deb[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing_deb[@]}" >/dev/null
fi

if ! python3 -c 'import moto, osmem_server, boto3, yaml, pytest, awscli, cryptography' 2>/dev/null \
   || ! python3 -c 'import shutil, sys, pathlib; sys.exit(0 if (pathlib.Path(sys.executable).parent / "moto_server").exists() or shutil.which("moto_server") else 1)'; then
    echo "installing Python packages"
    python3 -m pip install -q 'moto[server]' osmem-server boto3 pytest awscli pyyaml cryptography
fi
echo "dependencies: ok"
