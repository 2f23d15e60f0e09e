#!/bin/bash
# Look at the installed app as a person would: unpack a .deb into a temporary root, start
# it under Xvfb with a window manager, ask one question, open Help › About, and save
# screenshots.   packaging/look_installed.sh dist/tandem_VERSION_amd64.deb OUTDIR
# Needs Xvfb, openbox, xdotool and ImageMagick's `import`.
set -eu
deb=$(realpath "$1"); out=$(realpath -m "$2"); mkdir -p "$out"
root=$(mktemp -d); home=$(mktemp -d); userhome=$(mktemp -d)
dpkg -x "$deb" "$root"
display=:$((70 + RANDOM % 20))
Xvfb "$display" -screen 0 1280x800x24 >/dev/null 2>&1 & xvfb=$!
trap 'kill $app $wm $xvfb 2>/dev/null; rm -rf "$root" "$home" "$userhome"' EXIT
sleep 1
DISPLAY=$display openbox >/dev/null 2>&1 & wm=$!
sleep 1
# A clean environment, as from the applications menu: no virtual environment on PATH.
env -i DISPLAY="$display" HOME="$userhome" TANDEM_HOME="$home" PATH=/usr/bin:/bin \
    "$root/usr/bin/tandem" >"$out/app.log" 2>&1 & app=$!
export DISPLAY=$display
for _ in $(seq 60); do
    win=$(xdotool search --onlyvisible --name '^Tandem$' 2>/dev/null | head -1 || true)
    [ -n "$win" ] && break
    sleep 0.5
done
xdotool windowactivate --sync "$win"; xdotool windowsize --sync "$win" 1200 760
sleep 8  # the engine loads the bundled model
xdotool type --delay 20 "Give me three tips for a long train journey."
xdotool key Return
sleep 20
import -window "$win" "$out/installed-window.png"
xdotool key alt+h; sleep 1; xdotool key Return; sleep 2
import -window root "$out/installed-about.png"
xdotool key Escape
echo "screenshots in $out"
