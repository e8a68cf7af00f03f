#!/usr/bin/env bash
# CI for the Linux bundle: build it with PyInstaller and run the bundle's --self-test (no archive).
# Needs the app's environment in $PYTHON (default ./.venv/bin/python, made by ./run.sh) and network
# access to PyPI for PyInstaller. About 2 minutes on 2 cores (docs/install.md has the figures).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
SKIP_ARCHIVE=1 packaging/build-linux.sh
echo "ci-bundle: build and self-test in $(( $(date +%s) - started )) s"
