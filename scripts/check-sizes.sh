#!/usr/bin/env bash
# Keeps the SIP side readable (issue 15): in proxy/ and routing/ no source file over 500 lines,
# no function over 80, and the B2BUA class (proxy/b2bua.h and proxy/b2bua*.cpp) within 900 lines
# all told (from the line of its signature to its closing brace, in the
# committed clang-format style, where a function's body ends with "}" alone at column 0). Reads
# the sources only; prints each one over as FILE:LINE: what, and exits 1 if any.
#
#   scripts/check-sizes.sh
set -euo pipefail
cd "$(dirname "$0")/.."

max_file=500
max_function=80
max_b2bua=900
mapfile -t files < <(git ls-files 'proxy/*.cpp' 'proxy/*.h' 'routing/*.cpp' 'routing/*.h')

status=0
for f in "${files[@]}"; do
  lines=$(wc -l <"$f")
  if ((lines > max_file)); then
    echo "$f:1: $lines lines (more than $max_file): split it where it has two subjects"
    status=1
  fi
done

# A definition starts at column 0 with a name and a "(" (its signature may go on over more
# lines) and its body opens with "{" at the end of a line; a ";" first makes it a declaration.
# It ends at the next "}" at column 0.
over=$(awk -v max="$max_function" '
  FNR == 1 { cand = 0; start = 0 }
  start == 0 && cand == 0 && /^[A-Za-z_]/ && /\(/ && !/;$/ &&
      !/^(namespace|struct|class|enum|union|extern|using|typedef|template)[ <]/ {
    cand = FNR; name = $0
  }
  start == 0 && cand > 0 {
    if ($0 ~ /[;}]$/) cand = 0  # a declaration, or a function on one line
    else if ($0 ~ /\{$/) start = cand
    next
  }
  start > 0 && /^}/ {
    if (FNR - start + 1 > max)
      printf "%s:%d: function of %d lines (more than %d): %s\n", FILENAME, start,
             FNR - start + 1, max, substr(name, 1, 80)
    start = 0; cand = 0
  }
' "${files[@]}")
if [[ -n "$over" ]]; then
  echo "$over"
  status=1
fi

b2bua=$(cat proxy/b2bua*.cpp proxy/b2bua.h | wc -l)
if ((b2bua > max_b2bua)); then
  echo "proxy/b2bua.h:1: the B2BUA is $b2bua lines (more than $max_b2bua): what is not dialogs,"
  echo "  transactions and the call's life belongs in a class of its own"
  status=1
fi
echo "check-sizes: ${#files[@]} files of proxy/ and routing/ checked; the B2BUA is $b2bua lines (proxy/b2bua.h, proxy/b2bua*.cpp)"
exit $status
