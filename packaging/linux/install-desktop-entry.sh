#!/bin/sh
# Add Tandem from this unpacked folder to your desktop's menu (for you only; no root).
# Run it again after moving the folder. Undo: rm ~/.local/share/applications/tandem.desktop
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$DATA/applications"
cp -r "$HERE/share/icons" "$DATA/"
sed "s|^Exec=tandem|Exec=\"$HERE/tandem\"|" "$HERE/share/applications/tandem.desktop" \
    > "$DATA/applications/tandem.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$DATA/applications" || true
echo "Tandem is in your applications menu; it runs $HERE/tandem"
