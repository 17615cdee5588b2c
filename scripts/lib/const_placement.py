#!/usr/bin/env python3
"""One const placement: "const T name", never "T const name" (.clang-format says the same with
QualifierAlignment: Left, but clang-format 14 leaves many declarations alone: inside lambdas, and
with qualified or template types). Looks at the code before a line's first string literal and
outside comments; a const pointer ("T* const p") is another meaning and is left alone.

    scripts/lib/const_placement.py          list what is placed after its type; exit 1 if any
    scripts/lib/const_placement.py --fix    rewrite those declarations in place
"""
import re
import subprocess
import sys

# Words that can stand before "const" without being its type.
NOT_TYPES = {'static', 'constexpr', 'inline', 'mutable', 'volatile', 'typename', 'extern',
             'thread_local', 'return', 'const', 'case', 'else', 'do', 'new', 'delete', 'throw',
             'using', 'friend', 'virtual', 'explicit', 'operator'}
# A type: a name, qualified or not, with one level of template arguments; then " const" and a
# declarator (blank, & or *).
EAST = re.compile(r'(?<![\w:>)\]])((?:[A-Za-z_]\w*::)*[A-Za-z_]\w*(?:<[^<>;()"]*>)?) const(?=[\s&*])')


def west(match):
    name = match.group(1).split('::')[-1].split('<')[0]
    return match.group(0) if name in NOT_TYPES else 'const ' + match.group(1)


def code_part(line):
    """The part of a line a declaration can be in: before any comment or string literal."""
    cut = len(line)
    for marker in ('//', '"', '/*'):
        at = line.find(marker)
        if at != -1:
            cut = min(cut, at)
    return line[:cut]


def main():
    fix = '--fix' in sys.argv[1:]
    files = subprocess.run(['git', 'ls-files', '*.cpp', '*.h', '*.cpp.in'], check=True,
                           capture_output=True, text=True).stdout.split()
    found = 0
    for path in files:
        with open(path, encoding='utf-8') as f:
            lines = f.read().split('\n')
        changed = False
        for i, line in enumerate(lines):
            if line.lstrip().startswith('*'):
                continue  # inside a block comment
            code = code_part(line)
            new = EAST.sub(west, code)
            if new == code:
                continue
            found += 1
            if fix:
                lines[i] = new + line[len(code):]
                changed = True
            else:
                print(f'{path}:{i + 1}: {line.strip()}')
        if changed:
            with open(path, 'w', encoding='utf-8') as f:
                f.write('\n'.join(lines))
    if fix:
        print(f'const_placement: {found} declarations rewritten as "const T"')
        return 0
    print(f'const_placement: {found} declarations with const after the type'
          + (' (scripts/lib/const_placement.py --fix rewrites them)' if found else ''))
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
