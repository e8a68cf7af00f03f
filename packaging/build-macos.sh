#!/usr/bin/env bash
# Build the macOS app: "dist/LongWriter Desktop.app", run its self-test, and pack it as
# dist/LongWriter-Desktop-VERSION-macos-ARCH.zip (ditto keeps the bundle's symlinks and attributes).
#
# Uses the Python environment in $PYTHON (default: ./.venv/bin/python, the one ./run.sh sets up), which
# must have the app's dependencies and the built-in model; PyInstaller (the `package` extra) is added to it.
# llama-cpp-python builds with Metal on Apple silicon by default: the bundle then runs on the GPU.
# The app is not signed: see docs/install.md for what Gatekeeper shows. To sign and notarize, set
# CODESIGN_IDENTITY ("Developer ID Application: ...") and run notarytool on the zip afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PYTHON" ] || { echo "No Python at $PYTHON: run ./run.sh once, or set PYTHON=/path/to/venv/bin/python" >&2; exit 1; }

VERSION=$("$PYTHON" -c 'import re,sys; print(re.search(r"^version\s*=\s*\"([^\"]+)\"", open("pyproject.toml").read(), re.M)[1])')
ARCH=$(uname -m)
APP="dist/LongWriter Desktop.app"

step() { printf '\n== %s\n' "$*"; }

step "PyInstaller (build-only: the 'package' extra)"
"$PYTHON" -m pip install --quiet --disable-pip-version-check "pyinstaller>=6.10" "tomli>=2; python_version < '3.11'"

step "Bundle"
started=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/longwriter-desktop.spec
echo "built in $(( $(date +%s) - started )) s"
/usr/libexec/PlistBuddy -c "Print :CFBundleShortVersionString" "$APP/Contents/Info.plist"

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    step "Signing with $CODESIGN_IDENTITY"
    codesign --force --deep --options runtime --timestamp --sign "$CODESIGN_IDENTITY" "$APP"
    codesign --verify --deep --strict "$APP"
fi

step "Self-test of the app"
started=$(date +%s)
"$APP/Contents/MacOS/longwriter-desktop" --self-test
echo "self-test took $(( $(date +%s) - started )) s"

step "Size"
du -sh "$APP"
if [ "${SKIP_ARCHIVE:-0}" != 1 ]; then
    ARCHIVE="dist/LongWriter-Desktop-$VERSION-macos-$ARCH.zip"
    rm -f "$ARCHIVE"
    ditto -c -k --sequesterRsrc --keepParent "$APP" "$ARCHIVE"
    du -sh "$ARCHIVE"
fi
