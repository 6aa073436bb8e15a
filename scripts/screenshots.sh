#!/usr/bin/env bash
# Regenerate docs/screenshots/: every kiosk screen in Finnish and English, drawn under a private Xvfb at
# a fixed moment so the pictures are stable (the idle screen also as the app draws it at start).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
scripts/setup.sh >/dev/null
out=docs/screenshots
mkdir -p "$out"
display_no=$(for n in $(seq 120 199); do [ -e /tmp/.X11-unix/X$n ] || { echo $n; break; }; done)
Xvfb ":$display_no" -screen 0 1280x1024x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
trap 'kill $xvfb_pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$display_no" ] && break; sleep 0.1; done
export DISPLAY=":$display_no" QT_QPA_PLATFORM=xcb
kiosk() { .venv/bin/etapiste kiosk --no-devices "$@" 2>/dev/null; }
# The idle screen as the app itself draws it at start (full screen), then every screen in fi and en.
kiosk --at 2026-11-30T12:00 --language fi --screenshot "$out/start-fi.png"
kiosk --at 2026-11-30T12:00 --language en --screenshot "$out/start-en.png"
.venv/bin/python scripts/gallery.py "$out"
echo "screenshots: $(ls "$out"/*.png | tr '\n' ' ')"
