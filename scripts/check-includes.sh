#!/usr/bin/env bash
# Checks the include graph of the libraries (docs/ARCHITECTURE.md, "Libraries and arrows"):
# each folder includes only its own headers and those of the folders below it, so the arrows
# point one way, nothing of Sofia-SIP appears outside proxy/, and no source includes a .cpp
# file. Reads the sources only (no build needed); prints every offending line as FILE:LINE:
# what is wrong, and exits 1 if any.
#
#   scripts/check-includes.sh
#
# tests/, bench/ and fuzz/ are not layered: a test or a benchmark includes what it exercises.
set -euo pipefail
cd "$(dirname "$0")/.."

# What each library folder may include besides itself, lowest first. An arrow "A may include
# B" never has a way back from B to A: base <- model <- config <- (pidf) <- routing, store
# <- notify, admin <- proxy.
declare -A allowed=(
  [base]=""
  [model]="base"
  [config]="base model"
  [pidf]="base model"
  [routing]="base model config pidf"
  [store]="base model config"
  [notify]="base model config store"
  [admin]="base model config pidf routing store"
  [proxy]="base model config pidf routing store notify admin"
)
# Sofia-SIP (its headers, and proxy/sofia.h which wraps them) stays behind the SIP edge.
sofia='(^sofia-sip/|^proxy/sofia\.h$)'

include_re='^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]([^">]+)[">]'

status=0
report() {
  echo "$1" >&2
  status=1
}

for folder in "${!allowed[@]}"; do
  [[ -d "$folder" ]] || { report "$folder/: no such folder (update scripts/check-includes.sh)"; continue; }
  while IFS= read -r hit; do
    file="${hit%%:*}"
    rest="${hit#*:}"
    line="${rest%%:*}"
    text="${rest#*:}"
    # The included path, from "..." or <...> (matched in bash: a process per line took most
    # of this script's 20 s).
    included="$text"
    [[ "$text" =~ $include_re ]] && included="${BASH_REMATCH[1]}"
    if [[ "$included" == *.cpp ]]; then
      report "$file:$line: includes $included: a source is compiled, never included"
      continue
    fi
    if [[ "$folder" != proxy && "$included" =~ $sofia ]]; then
      report "$file:$line: $folder/ includes $included: Sofia-SIP stays inside proxy/"
      continue
    fi
    # Only the project's own headers are layered: "folder/name.h" where folder is a library.
    target="${included%%/*}"
    [[ "$included" == */* && -n "${allowed[$target]+set}" ]] || continue
    [[ "$target" == "$folder" ]] && continue
    if [[ " ${allowed[$folder]} " != *" $target "* ]]; then
      report "$file:$line: $folder/ includes $included: $folder may include only ${allowed[$folder]:-nothing of the other folders}"
    fi
  done < <(find "$folder" -type f \( -name '*.h' -o -name '*.cpp' \) -print0 | sort -z |
           xargs -0 -r grep -nE '^[[:space:]]*#[[:space:]]*include' /dev/null)
done

# Every library folder is layered above: a new one must be placed in the table.
for cmake in */CMakeLists.txt; do
  folder="${cmake%%/*}"
  if grep -q '^add_library(' "$cmake" && [[ -z "${allowed[$folder]+set}" ]]; then
    report "$cmake: library folder $folder/ has no place in scripts/check-includes.sh"
  fi
done

if [[ "$status" -eq 0 ]]; then
  echo "check-includes: the include graph of ${#allowed[@]} library folders points one way"
fi
exit "$status"
