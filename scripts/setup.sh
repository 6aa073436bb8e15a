#!/usr/bin/env bash
# Idempotent set-up of a development/test machine (Debian 12, as root): apt packages, the virtual
# environment at .venv/ in the checkout, the npm packages the browser tests use. Safe to run again;
# each step is skipped when already done. Downloads come only from Debian, PyPI and npm registries.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

stamp_dir=.venv/.stamps

apt_packages=$(grep -v '^#' scripts/apt-packages.txt | grep . | tr '\n' ' ')
missing=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $apt_packages 2>/dev/null \
          | awk '$2 != "installed" {print $1}'; \
          for p in $apt_packages; do dpkg-query -W "$p" >/dev/null 2>&1 || echo "$p"; done)
missing=$(echo "$missing" | sort -u | tr '\n' ' ')
if [ -n "${missing// /}" ]; then
    echo "setup: installing apt packages: $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -q
    # --no-install-recommends keeps cups-browsed, ipp-usb and sane-airscan (network discovery) off the machine.
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing
fi
if ! command -v npm >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends nodejs npm
fi

# Services that the packages may have started are not ours: tests and the demo start private instances.
# (Debian's policy-rc.d usually keeps them from starting; nothing here stops a service the host runs.)

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
mkdir -p "$stamp_dir"
req_hash=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp_dir/pip-$req_hash" ]; then
    .venv/bin/python -m pip install -q --upgrade pip setuptools wheel
    .venv/bin/python -m pip install -q -e ".[dev]"
    rm -f "$stamp_dir"/pip-*
    touch "$stamp_dir/pip-$req_hash"
fi

# The simulation's browser driver (simulation/browser: driver.mjs and playwright-core).
browser_dir=simulation/browser
if [ -f "$browser_dir/package.json" ]; then
    lock_hash=$(cat "$browser_dir/package.json" "$browser_dir/package-lock.json" 2>/dev/null | sha256sum | cut -c1-16)
    if [ ! -f "$stamp_dir/npm-$lock_hash" ] || [ ! -d "$browser_dir/node_modules" ]; then
        # playwright-core never downloads a browser; tests point it at Debian's /usr/bin/chromium.
        (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error)
        rm -f "$stamp_dir"/npm-*
        touch "$stamp_dir/npm-$lock_hash"
    fi
fi
echo "setup: ready (.venv at $here/.venv)"
