#!/usr/bin/env bash
# Builds sosproxy's Debian package: a release build without tests and benchmarks (prefix /usr)
# in build-package/, then cpack. The last line printed is the .deb's path:
#   build-package/sosproxy_<version>_<arch>.deb
# Install it with `apt install ./build-package/sosproxy_*.deb` (or `scripts/setup.sh --runtime`
# then `dpkg -i`); README: Install as a service.
#   SOS_PACKAGE_DIR=DIR   build in DIR instead of build-package
#   SOS_PACKAGE_REUSE=1   DIR is an existing release build (scripts/build.sh's build/): keep its
#                         settings, set only the install prefix, build sosproxy and its manual
#                         page and pack them
#   SOS_GIT_COMMIT=HASH   the commit --version reports, for a tree without git (a tarball)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${SOS_PACKAGE_DIR:-build-package}
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr
       -DSOS_BUILD_TESTS=OFF -DSOS_BUILD_BENCH=OFF -DSOS_SANITIZE=OFF -DSOS_FUZZ=OFF)
[ -n "${SOS_GIT_COMMIT:-}" ] && flags+=(-DSOS_GIT_COMMIT="$SOS_GIT_COMMIT")
if [ -n "${SOS_PACKAGE_REUSE:-}" ]; then
  [ -f "$dir/CMakeCache.txt" ] || { echo "package: $dir is not a configured build" >&2; exit 1; }
  grep -q '^SOS_SANITIZE:BOOL=OFF' "$dir/CMakeCache.txt" &&
    ! grep -q '^SOS_TSAN:BOOL=ON' "$dir/CMakeCache.txt" ||
    { echo "package: $dir is a sanitizer build" >&2; exit 1; }
  cmake -S . -B "$dir" -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
  cmake --build "$dir" -j "$(nproc)" --target sosproxy sosproxy_man
else
  cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
fi
rm -f "$dir"/sosproxy_*.deb
(cd "$dir" && cpack -G DEB >/dev/null)
debs=("$dir"/sosproxy_*.deb)
[ -f "${debs[0]}" ] || { echo "package: cpack made no .deb in $dir" >&2; exit 1; }
dpkg-deb --field "${debs[0]}" Package Version Architecture Depends >&2
echo "${debs[0]}"
