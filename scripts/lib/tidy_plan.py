#!/usr/bin/env python3
"""The two passes of scripts/check-style.sh --tidy over the library sources.

    tidy_plan.py compile PLAIN_COMPILE_COMMANDS JOBS SOURCE...
        Compiles each SOURCE on its own (clang++ -fsyntax-only with its flags from a build of
        one source a translation unit), JOBS at a time; names each source that does not compile
        with its first errors, and exits 1 if any. A source that compiles in a unity build only
        because another source before it included what it needs fails here.
    tidy_plan.py units UNITY_COMPILE_COMMANDS SOURCE...
        Prints each translation unit (a CMake unity file, or a source built on its own) that
        holds at least one SOURCE, each once; exits 1, naming them, if a SOURCE is in none.

SOURCE paths are relative to the current directory (the repository's top).
"""
import concurrent.futures
import json
import os
import re
import shlex
import subprocess
import sys

INCLUDE = re.compile(r'^#include "([^"]+)"', re.M)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def unit_path(entry):
    return os.path.realpath(os.path.join(entry["directory"], entry["file"]))


def wanted_sources(names):
    return {os.path.realpath(name): name for name in names}


def syntax_command(entry, source):
    """The entry's compiler flags that decide what the source means (defines, include paths,
    language), for clang++ -fsyntax-only: no output file, no warnings, no debug information."""
    args = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
    kept, skip = [], False
    for arg in args[1:]:
        if skip:
            skip = False
        elif arg == "-o":
            skip = True
        elif arg == "-c" or arg.startswith(("-W", "-g", "-O")):
            continue
        elif os.path.realpath(os.path.join(entry["directory"], arg)) != source:
            kept.append(arg)
    return ["clang++", "-fsyntax-only", "-w"] + kept + [source], entry["directory"]


def compile_each(commands_path, jobs, names):
    wanted = wanted_sources(names)
    plans = {}
    for entry in load(commands_path):
        source = unit_path(entry)
        if source in wanted and source not in plans:
            plans[source] = syntax_command(entry, source)
    missing = sorted(wanted[s] for s in wanted if s not in plans)
    if missing:
        print("check-style: not in " + commands_path + ": " + " ".join(missing), file=sys.stderr)
        return 1

    def run(source):
        argv, directory = plans[source]
        done = subprocess.run(argv, cwd=directory, capture_output=True, text=True, check=False)
        return source, done.returncode, done.stderr

    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for source, code, errors in pool.map(run, sorted(plans)):
            if code != 0:
                failed += 1
                first = [line for line in errors.splitlines() if "error:" in line][:5]
                print("check-style: " + wanted[source] + " does not compile on its own:",
                      file=sys.stderr)
                for line in first or errors.splitlines()[:5]:
                    print("  " + line, file=sys.stderr)
    print("check-style: %d library sources compile on their own, %d do not"
          % (len(plans) - failed, failed))
    return 1 if failed else 0


def units(commands_path, names):
    wanted = wanted_sources(names)
    found, covered = [], set()
    for entry in load(commands_path):
        unit = unit_path(entry)
        if "/Unity/unity_" in unit:
            with open(unit, encoding="utf-8") as f:
                held = [os.path.realpath(p) for p in INCLUDE.findall(f.read())]
        else:
            held = [unit]
        mine = [p for p in held if p in wanted]
        if mine and unit not in found:
            found.append(unit)
            covered.update(mine)
    for unit in found:
        print(unit)
    missing = sorted(wanted[s] for s in wanted if s not in covered)
    if missing:
        print("check-style: in no unit of " + commands_path + ": " + " ".join(missing),
              file=sys.stderr)
        return 1
    return 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "compile":
        return compile_each(argv[2], int(argv[3]), argv[4:])
    if len(argv) >= 3 and argv[1] == "units":
        return units(argv[2], argv[3:])
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
