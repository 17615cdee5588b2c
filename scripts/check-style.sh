#!/usr/bin/env bash
# Checks the C++ sources against the committed style: clang-format (.clang-format) on every
# file, then clang-tidy (.clang-tidy, every finding an error) on the library sources. Prints
# what is wrong and exits 1 if anything is.
#
#   scripts/check-style.sh               clang-format, then clang-tidy
#   scripts/check-style.sh --format      clang-format (and scripts/lib/const_placement.py) only
#   scripts/check-style.sh --tidy        clang-tidy only
#
# clang-tidy reads the compile commands of build-tidy/, configured here (nothing is built) as a
# plain build: one source a translation unit, so a source that compiles only because a unity
# build put it after another (a missing #include) is an error here too. Needs no build first.
# scripts/test.sh runs both.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=all
case "${1:-}" in
  --format) mode=format ;;
  --tidy) mode=tidy ;;
  -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "check-style: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

# Files not yet in the committed format: none. A file put here must be reformatted (and taken
# off) in one later commit; the list is exact (a file on it that passes is an error), so it can
# only shrink.
format_pending=(
)

# Files with clang-tidy findings still to fix (the same rule: exact, it can only shrink).
tidy_pending=(
)

status=0
pending() {  # pending NAME LIST...: is NAME on the list?
  local name="$1" item
  shift
  for item in "$@"; do [[ "$item" == "$name" ]] && return 0; done
  return 1
}

# ---- clang-format ----
if [[ "$mode" != tidy ]]; then
  command -v clang-format >/dev/null || { echo "check-style: clang-format is not installed" >&2; exit 2; }
  mapfile -t sources < <(git ls-files '*.cpp' '*.h')
  # One clang-format for all the files (a process per file took 38 s); it names each file that
  # is not formatted in "FILE:LINE:COLUMN: error: code should be clang-formatted" lines.
  declare -A unformatted=()
  format_out=$(clang-format --dry-run --Werror "${sources[@]}" 2>&1) || true
  while IFS= read -r line; do
    [[ "$line" =~ ^(.+):[0-9]+:[0-9]+:\ (error|warning):\ code\ should\ be\ clang-formatted ]] &&
      unformatted["${BASH_REMATCH[1]}"]=1
  done <<<"$format_out"
  bad=() late=()
  for f in "${sources[@]}"; do
    if [[ -z "${unformatted[$f]+set}" ]]; then
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
  # What clang-format 14 leaves alone of the one const placement .clang-format asks for.
  scripts/lib/const_placement.py || status=1
fi
[[ "$mode" == format ]] && exit "$status"

# ---- clang-tidy ----
# The libraries' sources (their headers come in through HeaderFilterRegex); tests, benchmarks
# and fuzz targets are left to the compiler's warnings, which keeps this to about six minutes
# on two idle cores.
command -v run-clang-tidy >/dev/null || { echo "check-style: run-clang-tidy is not installed" >&2; exit 2; }
build=build-tidy
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DCMAKE_UNITY_BUILD=OFF -DSOS_BUILD_BENCH=OFF >/dev/null
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
    "(${#tidy_pending[@]} on tidy_pending left out)"
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
