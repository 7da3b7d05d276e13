#!/usr/bin/env bash
# Install what PREP needs on a Debian machine, as root; safe to run again.
#
#   bash scripts/bootstrap.sh          # runtime: Debian libraries + `pip install -e .`
#   bash scripts/bootstrap.sh --test   # also chromium, nginx and the [test] extras
#   bash scripts/bootstrap.sh --bench  # also wrk, nginx, pdftoppm and the [test] extras
#                                      # (the benchmarks in bench/ reuse the tests' harness)
#
# apt runs only when a package is missing. Output is shown only when a step fails.
set -euo pipefail

usage() { sed -n '2,8s/^# \{0,1\}//p' "$0"; }

with_test=0
with_bench=0
for arg in "$@"; do
    case "$arg" in
        --test) with_test=1 ;;
        --bench) with_bench=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "bootstrap: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# What PySide6's offscreen platform plugin, QtGui/QtCore/QtWidgets and QtDBus link
# against (readelf -d on the wheel's libraries; ICU is bundled in the wheel), plus fonts
# so text renders without Qt warnings, the tools the network-namespace tests use, and
# libusb for pyusb (ESC/POS ticket printers on USB).
packages=(
    libegl1 libgl1 libx11-6 libxkbcommon0 libxkbcommon-x11-0
    libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0 zlib1g libzstd1
    fonts-dejavu-core fonts-noto-core
    iproute2 util-linux
    libusb-1.0-0
)
if ((with_test)); then
    # nginx: tests/difusor serve a difusor's web root with installer/nginx/prep-difusor.conf;
    # poppler-utils: tests render the simulacro's printable actas with pdftoppm;
    # prometheus: promtool checks and unit-tests installer/prometheus/ (issue 68)
    packages+=(chromium nginx poppler-utils prometheus)
fi
if ((with_bench)); then
    # wrk: bench.sitio replays citizen visits against nginx; poppler-utils: bench.dashboard
    # --screens. A benchmark that still cannot run prints a JSON line saying why.
    packages+=(wrk nginx poppler-utils)
fi

# Run a command silently; on failure show everything it printed.
quietly() {
    local log status=0
    log="$(mktemp)"
    "$@" >"$log" 2>&1 || status=$?
    if ((status != 0)); then
        echo "bootstrap: failed ($status): $*" >&2
        cat "$log" >&2
    fi
    rm -f "$log"
    return "$status"
}

is_installed() {
    dpkg-query -W -f='${db:Status-Status}\n' "$1" 2>/dev/null | grep -qx installed
}

missing=()
for package in "${packages[@]}"; do
    is_installed "$package" || missing+=("$package")
done

if ((${#missing[@]})); then
    if ((EUID != 0)); then
        echo "bootstrap: run as root to install: ${missing[*]}" >&2
        exit 1
    fi
    echo "bootstrap: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    quietly apt-get update
    quietly apt-get install -y --no-install-recommends "${missing[@]}"
fi

if ((with_test || with_bench)); then
    target=".[test]"
else
    target="."
fi
echo "bootstrap: pip install -e $target"
quietly python3 -m pip install -e "$target"
echo "bootstrap: done"
