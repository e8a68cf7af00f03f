#!/usr/bin/env bash
# Add LongWriter Desktop to the applications menu (for this user; run as root for everyone).
# Run it from the unpacked bundle: ./install.sh    Remove with: ./install.sh --uninstall
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
APP_ID=io.github.longwriter.LongWriterDesktop
# PREFIX=/somewhere ./install.sh installs elsewhere (share/ and bin/ under it).
if [ -z "${PREFIX:-}" ]; then
    if [ "$(id -u)" = 0 ]; then PREFIX=/usr/local; else PREFIX=$HOME/.local; fi
fi
SHARE=$PREFIX/share
BIN=$PREFIX/bin

if [ "${1:-}" = --uninstall ]; then
    rm -f "$SHARE/applications/$APP_ID.desktop" "$SHARE/metainfo/$APP_ID.metainfo.xml" "$BIN/longwriter-desktop"
    find "$SHARE/icons/hicolor" -name "$APP_ID.*" -delete 2>/dev/null || true
    echo "Removed LongWriter Desktop from the menu (the folder $HERE stays; delete it yourself)."
    exit 0
fi

mkdir -p "$SHARE/applications" "$SHARE/metainfo" "$BIN"
cp -r "$HERE/share/icons" "$SHARE/"
cp "$HERE/share/metainfo/$APP_ID.metainfo.xml" "$SHARE/metainfo/"
# The menu entry runs this folder's program by its full path.
sed "s|^Exec=longwriter-desktop|Exec=\"$HERE/longwriter-desktop\"|" \
    "$HERE/share/applications/$APP_ID.desktop" > "$SHARE/applications/$APP_ID.desktop"
ln -sf "$HERE/longwriter-desktop" "$BIN/longwriter-desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$SHARE/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$SHARE/icons/hicolor" || true
echo "LongWriter Desktop is in the applications menu; or run: $BIN/longwriter-desktop"
