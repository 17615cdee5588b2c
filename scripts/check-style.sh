#!/usr/bin/env bash
# Checks the C++ sources against the committed style: clang-format (.clang-format) on every
# file, then clang-tidy (.clang-tidy, every finding an error) on the library sources. Prints
# what is wrong and exits 1 if anything is.
#
#   scripts/check-style.sh               clang-format, then clang-tidy
#   scripts/check-style.sh --format      clang-format (and scripts/lib/const_placement.py) only
#   scripts/check-style.sh --tidy        clang-tidy only
#
# The tidy step needs no build first: it configures (builds nothing) build-tidy/, one source a
# translation unit as a plain `cmake -S . -B build` compiles them, and build-tidy-unity/, CMake's
# unity files of 16 sources each. Each library source is compiled on its own from the first
# (clang++ -fsyntax-only), so a source that compiles only because a unity build put it after
# another (a missing #include) is an error; clang-tidy runs over the second's units.
# scripts/test.sh runs both.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=all
case "${1:-}" in
  --format) mode=format ;;
  --tidy) mode=tidy ;;
  -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "check-style: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

# Files not yet in the committed format: none. A file put here must be reformatted (and taken
# off) in one later commit; the list is exact (a file on it that passes is an error), so it can
# only shrink.
format_pending=(
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
# and fuzz targets are left to the compiler's warnings.
# clang-tidy spends most of its time matching over what a unit includes from Boost, Sofia and
# the standard library, the same for every source: over the 13 unity units it took 168 s of
# CPU where the 118 sources one by one took 690 (on two idle cores); compiling each source on
# its own, which the run source by source checked as a side effect, takes 234 s more.
command -v run-clang-tidy >/dev/null || { echo "check-style: run-clang-tidy is not installed" >&2; exit 2; }
command -v clang++ >/dev/null || { echo "check-style: clang++ is not installed" >&2; exit 2; }
jobs=${SOS_JOBS:-2}
configure() {  # configure DIR UNITY
  cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    -DCMAKE_UNITY_BUILD="$2" -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 -DSOS_BUILD_BENCH=OFF >/dev/null
}
configure build-tidy OFF
configure build-tidy-unity ON
mapfile -t libraries < <(grep -l '^add_library(' */CMakeLists.txt | xargs -n1 dirname)
mapfile -t tidy_sources < <(git ls-files "${libraries[@]/%//*.cpp}")
scripts/lib/tidy_plan.py compile build-tidy/compile_commands.json "$jobs" "${tidy_sources[@]}" ||
  status=1
units_out=$(scripts/lib/tidy_plan.py units build-tidy-unity/compile_commands.json \
  "${tidy_sources[@]}") || status=1
mapfile -t units <<<"$units_out"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# A unity file includes its sources by design: that one check is off for the units
# (scripts/check-includes.sh refuses an #include of a .cpp file in the sources themselves).
if run-clang-tidy -p build-tidy-unity -j "$jobs" -quiet -checks=-bugprone-suspicious-include \
  "${units[@]}" >"$log" 2>&1; then
  echo "check-style: clang-tidy: ${#tidy_sources[@]} library sources (in ${#units[@]} unity" \
    "units) without findings"
else
  status=1
  # The findings, without the progress lines and the colour codes.
  sed -E 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '(error|warning): ' | sort -u >&2 ||
    cat "$log" >&2
  echo "check-style: clang-tidy found the problems above" >&2
fi
exit "$status"
