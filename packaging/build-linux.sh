#!/usr/bin/env bash
# Build the Linux bundle: dist/longwriter-desktop/ (a folder with the `longwriter-desktop` program),
# run its self-test, validate the desktop files, and pack it as dist/LongWriter-Desktop-VERSION-linux-ARCH.tar.gz.
#
# Uses the Python environment in $PYTHON (default: ./.venv/bin/python, the one ./run.sh sets up), which
# must have the app's dependencies and the built-in model; PyInstaller (the `package` extra) is added to it.
# For a GPU bundle, reinstall llama-cpp-python in that environment with CMAKE_ARGS first (docs/install.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PYTHON" ] || { echo "No Python at $PYTHON: run ./run.sh once, or set PYTHON=/path/to/venv/bin/python" >&2; exit 1; }

VERSION=$("$PYTHON" -c 'import re,sys; print(re.search(r"^version\s*=\s*\"([^\"]+)\"", open("pyproject.toml").read(), re.M)[1])')
ARCH=$(uname -m)
BUNDLE=dist/longwriter-desktop

step() { printf '\n== %s\n' "$*"; }

step "PyInstaller (build-only: the 'package' extra)"
"$PYTHON" -m pip install --quiet --disable-pip-version-check "pyinstaller>=6.10" "tomli>=2; python_version < '3.11'"

if [ "${SKIP_DESKTOP_VALIDATION:-0}" != 1 ]; then
    step "Desktop files"
    if command -v desktop-file-validate >/dev/null 2>&1; then
        desktop-file-validate resources/io.github.longwriter.LongWriterDesktop.desktop && echo "desktop file: valid"
    else
        echo "desktop-file-validate not found (Debian: desktop-file-utils); skipped"
    fi
    if command -v appstreamcli >/dev/null 2>&1; then
        appstreamcli validate --no-net resources/io.github.longwriter.LongWriterDesktop.metainfo.xml
    else
        echo "appstreamcli not found (Debian: appstream); skipped"
    fi
    grep -q "<release version=\"$VERSION\"" resources/io.github.longwriter.LongWriterDesktop.metainfo.xml || {
        echo "The metainfo has no <release version=\"$VERSION\">: add this release to it." >&2; exit 1; }
fi

step "Bundle"
started=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/longwriter-desktop.spec
echo "built in $(( $(date +%s) - started )) s"
# The desktop files travel with the bundle, for whoever installs it system-wide or in ~/.local.
mkdir -p "$BUNDLE/share/applications" "$BUNDLE/share/metainfo" "$BUNDLE/share/icons/hicolor/scalable/apps"
cp resources/io.github.longwriter.LongWriterDesktop.desktop "$BUNDLE/share/applications/"
cp resources/io.github.longwriter.LongWriterDesktop.metainfo.xml "$BUNDLE/share/metainfo/"
cp resources/io.github.longwriter.LongWriterDesktop.svg "$BUNDLE/share/icons/hicolor/scalable/apps/"
for size in 16 32 48 64 128 256 512; do
    mkdir -p "$BUNDLE/share/icons/hicolor/${size}x${size}/apps"
    cp "longwriter_desktop/resources/longwriter-desktop-$size.png" \
        "$BUNDLE/share/icons/hicolor/${size}x${size}/apps/io.github.longwriter.LongWriterDesktop.png"
done
cp packaging/install-linux.sh "$BUNDLE/install.sh"

step "Self-test of the bundle"
started=$(date +%s)
QT_QPA_PLATFORM=offscreen "$BUNDLE/longwriter-desktop" --self-test
echo "self-test took $(( $(date +%s) - started )) s"

step "Size"
du -sh "$BUNDLE"
if [ "${SKIP_ARCHIVE:-0}" != 1 ]; then
    ARCHIVE="dist/LongWriter-Desktop-$VERSION-linux-$ARCH.tar.gz"
    tar -C dist -czf "$ARCHIVE" longwriter-desktop
    du -sh "$ARCHIVE"
fi
