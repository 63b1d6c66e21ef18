#!/usr/bin/env bash
# Builds tollgate-guibench and runs it: the console's GUI thread idle and while open-loop traffic
# passes through its embedded gateway, page by page. Prints the machine, the load before and
# after, and the tables. See bench/README.md.
#
#   bench/guibench.sh [BUILD_DIR] [--xvfb] [--jobs N] [tollgate-guibench options]
#
# BUILD_DIR defaults to ./build (configured already, e.g. `cmake --preset default`). Without
# --xvfb the window is painted on Qt's offscreen platform (raster into an image, no display);
# --xvfb paints through the xcb platform to an Xvfb server started by xvfb-run, which adds the
# X11 transfer of every frame. --jobs (default 2) bounds the build. Everything else goes to
# tollgate-guibench (--rate 5000, --duration 10, --pages ..., see --help).
set -euo pipefail

build=build
if [[ $# -gt 0 && $1 != -* ]]; then
    build=$1
    shift
fi
xvfb=0
jobs=2
args=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --xvfb) xvfb=1; shift ;;
    --jobs) jobs=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
    esac
done
[[ $jobs =~ ^[1-9][0-9]?$ ]] || { echo "guibench.sh: --jobs must be 1-99" >&2; exit 2; }
[[ -f $build/CMakeCache.txt ]] ||
    { echo "guibench.sh: $build is not a configured build directory" >&2; exit 2; }
cmake --build "$build" --target tollgate-guibench -j "$jobs" >&2
program=$build/bench/tollgate-guibench
[[ -x $program ]] || { echo "guibench.sh: $program was not built (TOLLGATE_GUI, TOLLGATE_TESTS?)" >&2; exit 2; }

echo "# Tollgate GUI benchmark run"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "- machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
echo "- load before the run (uptime): $(uptime | sed 's/.*load average: //')"
echo "- software: Qt $(dpkg-query -W -f='${Version}' libqt6core6 2>/dev/null || echo '?'), $(g++ --version | head -n1)"
echo "- command: bench/guibench.sh $(printf '%q ' "$build" "${args[@]}")$([[ $xvfb == 1 ]] && echo '--xvfb')"
echo

# The program stops its own mock, gateway and clients; it is the only process started here
# (xvfb-run stops its Xvfb when the program ends).
rc=0
if [[ $xvfb == 1 ]]; then
    command -v xvfb-run >/dev/null || { echo "guibench.sh: xvfb-run is missing" >&2; exit 2; }
    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" "$program" "${args[@]}" || rc=$?
else
    QT_QPA_PLATFORM=offscreen "$program" "${args[@]}" || rc=$?
fi

echo
echo "- load after the run (uptime): $(uptime | sed 's/.*load average: //')"
exit "$rc"
