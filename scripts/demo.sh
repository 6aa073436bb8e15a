#!/usr/bin/env bash
# The main job: set-up (idempotent), then the kiosk app on the bundled sample configuration of a
# library point. Windowed unless --fullscreen is given; devices that do not exist show as unavailable.
# Extra arguments go to `etapiste kiosk`.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
scripts/setup.sh
export PATH="$here/.venv/bin:$PATH"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
    echo "demo: no display found; starting the kiosk on a virtual screen (Xvfb :77)." >&2
    Xvfb :77 -screen 0 1280x1024x24 -nolisten tcp >/dev/null 2>&1 &
    xvfb_pid=$!
    trap 'kill $xvfb_pid 2>/dev/null || true' EXIT
    export DISPLAY=:77
    sleep 0.5
fi
exec_args=("$@")
etapiste kiosk --windowed "${exec_args[@]}"
