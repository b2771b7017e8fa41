#!/usr/bin/env python3
"""Check that the daemon's modules include only headers of their own layer
or of lower layers.

The layers are read from docs/DESIGN.md: a fenced block whose first line is
`layers (top to bottom):`, then one line per layer, topmost first; the
modules named on one line are peers and may include each other.  A module
is the name of a file without its extension: daemon/conn.c and
daemon/conn.h are the module `conn`; `#include "mtrprobe/protocol.h"` is
the module `protocol`.

For every daemon/*.c and daemon/*.h, each `#include "X.h"` is checked
(`#include <...>` names system headers and is not):
  - X must be listed in the block, and so must the file's own module, so
    that the list stays complete;
  - X's layer must not be above the file's own.
Every problem is printed as FILE:LINE: ..., and the exit status is 1 if
there is any.

    tests/check-layers.py [--self-test] [SOURCE_ROOT]

Without --self-test it first checks itself on small trees in a temporary
directory (a good one, and bad ones that must be refused), then checks
SOURCE_ROOT (default: the directory above this script).  With --self-test
it does only the former.  Python 3 standard library only; no root needed.
"""

import os
import re
import sys
import tempfile

HEADER_LINE = "layers (top to bottom):"
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


class BlockError(Exception):
    pass


def read_layers(design_path):
    """[[module, ...], ...] from the block in design_path, topmost first."""
    try:
        with open(design_path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise BlockError("%s: %s" % (design_path, e.strerror))
    start = None
    for i, line in enumerate(lines):
        if line.strip() == HEADER_LINE and i > 0 and \
                lines[i - 1].strip().startswith("```"):
            if start is not None:
                raise BlockError("%s:%d: a second '%s' block (the first is "
                                 "at line %d)" % (design_path, i + 1,
                                                  HEADER_LINE, start))
            start = i + 1
    if start is None:
        raise BlockError("%s: no fenced block beginning with the line '%s'"
                         % (design_path, HEADER_LINE))
    layers, seen = [], {}
    for j in range(start, len(lines)):
        text = lines[j].strip()
        if text.startswith("```"):
            break
        if not text:
            continue
        mods = text.split()
        for m in mods:
            if m in seen:
                raise BlockError("%s:%d: module %r is listed twice (also at "
                                 "line %d)" % (design_path, j + 1, m,
                                               seen[m]))
            seen[m] = j + 1
        layers.append(mods)
    else:
        raise BlockError("%s:%d: the layers block is not closed"
                         % (design_path, start))
    if not layers:
        raise BlockError("%s:%d: the layers block is empty"
                         % (design_path, start))
    return layers


def module_of(path):
    name = os.path.basename(path)
    for ext in (".c", ".h"):
        if name.endswith(ext):
            return name[:-len(ext)]
    return name


def check(root):
    """The problems found under root, as printable lines (empty: all
    good)."""
    try:
        layers = read_layers(os.path.join(root, "docs", "DESIGN.md"))
    except BlockError as e:
        return [str(e)]
    rank = {m: i for i, mods in enumerate(layers) for m in mods}
    daemon = os.path.join(root, "daemon")
    try:
        files = sorted(n for n in os.listdir(daemon)
                       if n.endswith(".c") or n.endswith(".h"))
    except OSError as e:
        return ["%s: %s" % (daemon, e.strerror)]
    if not files:
        return ["%s: no .c or .h file" % daemon]
    problems = []
    for name in files:
        rel = os.path.join("daemon", name)
        own = module_of(name)
        if own not in rank:
            problems.append("%s: module %r is not in the layers block of "
                            "docs/DESIGN.md" % (rel, own))
            continue
        with open(os.path.join(daemon, name), encoding="utf-8",
                  errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                inc = m.group(1)
                mod = module_of(inc)
                if mod not in rank:
                    problems.append(
                        "%s:%d: includes \"%s\": module %r is not in the "
                        "layers block of docs/DESIGN.md" % (rel, lineno, inc,
                                                            mod))
                elif rank[mod] < rank[own]:
                    problems.append(
                        "%s:%d: includes \"%s\": module %r (layer %d, %s) is "
                        "above %r (layer %d, %s)" % (
                            rel, lineno, inc, mod, rank[mod] + 1,
                            " ".join(layers[rank[mod]]), own, rank[own] + 1,
                            " ".join(layers[rank[own]])))
    return problems


# --------------------------------------------------------------------------
# the checker's own test

GOOD_DESIGN = """# Design

## Layers

```
layers (top to bottom):
top
middle peer
bottom
```
"""

GOOD_TREE = {
    "top.c": '#include "top.h"\n#include "middle.h"\n#include "bottom.h"\n',
    "top.h": '#include <stdio.h>\n',
    "middle.c": '#include "middle.h"\n#include "peer.h"\n',
    "middle.h": '#include "daemon/bottom.h"\n',
    "peer.c": '#include "peer.h"\n  #  include "middle.h"\n',
    "peer.h": '',
    "bottom.c": '#include "bottom.h"\n#include <string.h>\n',
    "bottom.h": '',
}


def write_tree(root, design, files):
    os.makedirs(os.path.join(root, "docs"), exist_ok=True)
    os.makedirs(os.path.join(root, "daemon"), exist_ok=True)
    with open(os.path.join(root, "docs", "DESIGN.md"), "w") as f:
        f.write(design)
    for name, text in files.items():
        with open(os.path.join(root, "daemon", name), "w") as f:
            f.write(text)


def self_test():
    """Run check() on small trees; return the failures (empty: good)."""
    cases = [
        ("a good tree", GOOD_DESIGN, {}, []),
        ("an include of a higher layer", GOOD_DESIGN,
         {"bottom.c": '#include "bottom.h"\n\n#include "middle.h"\n'},
         ["daemon/bottom.c:3: includes \"middle.h\": module 'middle'"]),
        ("an include of a higher layer in a header", GOOD_DESIGN,
         {"middle.h": '#include "top.h"\n'},
         ["daemon/middle.h:1: includes \"top.h\""]),
        ("an unknown header", GOOD_DESIGN,
         {"top.c": '#include "top.h"\n#include "stranger.h"\n'},
         ["daemon/top.c:2: includes \"stranger.h\": module 'stranger' is "
          "not in the layers block"]),
        ("a file of an unknown module", GOOD_DESIGN,
         {"extra.c": '#include "bottom.h"\n'},
         ["daemon/extra.c: module 'extra' is not in the layers block"]),
        ("no layers block", "# Design\n\nnothing here\n", {},
         ["no fenced block beginning with the line"]),
        ("a module listed twice",
         GOOD_DESIGN.replace("bottom\n```", "bottom top\n```"), {},
         ["module 'top' is listed twice"]),
    ]
    failures = []
    with tempfile.TemporaryDirectory(prefix="check-layers-") as tmp:
        for i, (what, design, changes, want) in enumerate(cases):
            root = os.path.join(tmp, "t%d" % i)
            files = dict(GOOD_TREE)
            files.update(changes)
            write_tree(root, design, files)
            got = check(root)
            if len(got) != len(want) or not all(
                    w in g for w, g in zip(want, got)):
                failures.append("self-test, %s: expected %r, got %r"
                                % (what, want, got))
    return failures


def main(argv):
    args = argv[1:]
    only_self = "--self-test" in args
    args = [a for a in args if a != "--self-test"]
    if len(args) > 1 or any(a.startswith("-") for a in args):
        print("usage: check-layers.py [--self-test] [SOURCE_ROOT]",
              file=sys.stderr)
        return 2
    failures = self_test()
    for f in failures:
        print("check-layers: " + f)
    if failures:
        print("check-layers: the checker itself is broken")
        return 1
    print("check-layers: self-test passed")
    if only_self:
        return 0
    root = args[0] if args else os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print("check-layers: %d problem(s); the layers are in the "
              "'layers (top to bottom):' block of docs/DESIGN.md"
              % len(problems))
        return 1
    print("check-layers: every include of daemon/ follows the layers of "
          "docs/DESIGN.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
