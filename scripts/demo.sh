#!/usr/bin/env bash
# The main job: set-up (idempotent), then the whole system on one machine — switchboard, broker, TURN,
# a virtual FINEID card in a virtual reader, a private CUPS with a file printer, SANE's test scanner,
# the provisioning agent, the kiosk window (the bundled library point) and a scripted demo agent that
# answers; it prints the desk's address so a person can answer from a browser instead.
#   scripts/demo.sh                 the whole system (options go to scripts/demo_system.py: --no-agent …)
#   scripts/demo.sh --auto-customer a scripted customer walks the whole journey too (nobody needs to touch
#                                   the screen); exit 0 when every step happened, 1 naming the one that did not
#   scripts/demo.sh --kiosk-only    just the kiosk app on the sample configuration, with whatever devices
#                                   this machine has (options after it go to `etapiste kiosk`)
# Without a display the window is drawn on a virtual screen (Xvfb). Ctrl-C stops everything.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
scripts/setup.sh
export PATH="$here/.venv/bin:$PATH"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
    display_no=$(for n in $(seq 77 199); do [ -e /tmp/.X11-unix/X$n ] || { echo $n; break; }; done)
    echo "demo: no display found; the kiosk window is drawn on a virtual screen (Xvfb :$display_no)." >&2
    Xvfb ":$display_no" -screen 0 1280x1024x24 -nolisten tcp >/dev/null 2>&1 &
    xvfb_pid=$!
    trap 'kill $xvfb_pid 2>/dev/null || true' EXIT
    export DISPLAY=":$display_no"
    for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$display_no" ] && break; sleep 0.1; done
fi
if [ "${1:-}" = "--kiosk-only" ]; then
    shift
    etapiste kiosk --windowed "$@"
else
    python scripts/demo_system.py "$@"
fi
