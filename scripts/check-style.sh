#!/usr/bin/env bash
# Checks the C++ sources against the committed style: clang-format (.clang-format) on every
# file, then clang-tidy (.clang-tidy, every finding an error) on the library sources with the
# compile commands of a build. Prints what is wrong and exits 1 if anything is.
#
#   scripts/check-style.sh [BUILD_DIR]   clang-format and clang-tidy (BUILD_DIR: build/)
#   scripts/check-style.sh --format      clang-format only (needs no build)
#
# scripts/test.sh runs it after the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=all
build=build
case "${1:-}" in
  --format) mode=format ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) build="$1" ;;
esac

# Files not yet in the committed format: none. A file put here must be reformatted (and taken
# off) in one later commit; the list is exact (a file on it that passes is an error), so it can
# only shrink.
format_pending=(
)

# With clang-tidy findings, in files being changed on other branches (the same rule: exact,
# and emptied once those changes are in).
tidy_pending=(
  pidf/geodetic.cpp
  proxy/b2bua.cpp
  proxy/sip_edge.cpp
)

status=0
pending() {  # pending NAME LIST...: is NAME on the list?
  local name="$1" item
  shift
  for item in "$@"; do [[ "$item" == "$name" ]] && return 0; done
  return 1
}

# ---- clang-format ----
command -v clang-format >/dev/null || { echo "check-style: clang-format is not installed" >&2; exit 2; }
mapfile -t sources < <(git ls-files '*.cpp' '*.h')
bad=() late=()
for f in "${sources[@]}"; do
  if clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    pending "$f" "${format_pending[@]}" && late+=("$f")
  elif ! pending "$f" "${format_pending[@]}"; then
    bad+=("$f")
  fi
done
for f in "${format_pending[@]}"; do
  [[ -f "$f" ]] || late+=("$f (no such file)")
done
if [[ ${#bad[@]} -gt 0 ]]; then
  status=1
  echo "check-style: not formatted (clang-format -i FILE, or see its --dry-run output):" >&2
  printf '  %s\n' "${bad[@]}" >&2
fi
if [[ ${#late[@]} -gt 0 ]]; then
  status=1
  echo "check-style: take these off format_pending in scripts/check-style.sh:" >&2
  printf '  %s\n' "${late[@]}" >&2
fi
echo "check-style: clang-format: $((${#sources[@]} - ${#format_pending[@]})) files checked," \
  "${#bad[@]} not formatted; ${#format_pending[@]} still to be reformatted"

[[ "$mode" == format ]] && exit "$status"

# ---- clang-tidy ----
# The libraries' sources (their headers come in through HeaderFilterRegex); tests, benchmarks
# and fuzz targets are left to the compiler's warnings, which keeps this within minutes on two
# cores.
command -v run-clang-tidy >/dev/null || { echo "check-style: run-clang-tidy is not installed" >&2; exit 2; }
[[ -f "$build/compile_commands.json" ]] ||
  { echo "check-style: no $build/compile_commands.json (build first: scripts/build.sh)" >&2; exit 2; }
mapfile -t libraries < <(grep -l '^add_library(' */CMakeLists.txt | xargs -n1 dirname)
mapfile -t tidy_sources < <(git ls-files "${libraries[@]/%//*.cpp}")
checked=()
for f in "${tidy_sources[@]}"; do
  pending "$f" "${tidy_pending[@]}" || checked+=("$f")
done
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if run-clang-tidy -p "$build" -j "${SOS_JOBS:-2}" -quiet "${checked[@]/#/$PWD/}" >"$log" 2>&1; then
  echo "check-style: clang-tidy: ${#checked[@]} library sources without findings" \
    "(${#tidy_pending[@]} left out until they are reformatted)"
else
  status=1
  # The findings, without the progress lines and the colour codes.
  sed -E 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '(error|warning): ' | sort -u >&2 ||
    cat "$log" >&2
  echo "check-style: clang-tidy found the problems above" >&2
fi
# A file on tidy_pending without findings must leave the list.
for f in "${tidy_pending[@]}"; do
  [[ -f "$f" ]] || { status=1; echo "check-style: tidy_pending names $f, which does not exist" >&2; }
done
exit "$status"
