#!/usr/bin/env python3
"""The house rules the build cannot check, checked from the source tree:

- no non-test Rust source file over MAX_LINES lines (tests, test-only
  modules and load generators are exempt);
- no import cycle between the modules of a crate: a module reaching another
  through `crate::`, `super::` or `self::` paths, directly or through
  others (a module using its ancestors' items is fine);
- every function's `main.rs` and `bin/*.rs` at most MAX_MAIN lines of code;
- every relative link in a Markdown file points at a file that exists.

Exits 1 naming each breach. Usage: python3 tests/house.py [repo root]
"""

import re
import sys
from pathlib import Path

MAX_LINES = 500
MAX_MAIN = 15
ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
SKIP_DIRS = {"target", "node_modules", ".venv", ".git"}
# Load generators and test harness crates: exempt from the size rule.
EXEMPT = ("tests/", "local/bench/")


def rust_files():
    for path in sorted(ROOT.rglob("*.rs")):
        parts = path.relative_to(ROOT).parts
        if not SKIP_DIRS.intersection(parts):
            yield path


def is_test_file(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return (
        rel.startswith(EXEMPT)
        or "/tests/" in rel
        or "/benches/" in rel
        or name in ("tests.rs",)
        or name.endswith("_tests.rs")
    )


def non_test_text(text: str) -> str:
    """The file up to its first `#[cfg(test)]` item (test modules come last)."""
    index = text.find("#[cfg(test)]")
    return text if index < 0 else text[:index]


def crates():
    """Each crate's source root: the `src/` beside a Cargo.toml."""
    for manifest in sorted(ROOT.rglob("Cargo.toml")):
        parts = manifest.relative_to(ROOT).parts
        if SKIP_DIRS.intersection(parts):
            continue
        src = manifest.parent / "src"
        if src.is_dir():
            yield src


def module_of(src: Path, path: Path):
    """The module path of a source file, e.g. ('log', 'format'); bin
    targets and test files are their own roots (None)."""
    rel = path.relative_to(src).with_suffix("").parts
    if rel[0] in ("bin", "main") or rel == ("main",):
        return None
    if rel == ("lib",):
        return ()
    if rel[-1] == "mod":
        rel = rel[:-1]
    return tuple(rel)


def use_paths(text: str):
    """Every `crate::`/`super::`/`self::` path a file names, `use` trees
    expanded."""
    paths = []
    for statement in re.finditer(r"\buse\s+([^;]+);", text):
        paths.extend(expand(re.sub(r"\s+", "", statement.group(1))))
    body = re.sub(r"\buse\s+[^;]+;", "", text)
    paths.extend(m.group(0) for m in re.finditer(r"\b(?:crate|super|self)(?:::\w+)+", body))
    return [p for p in paths if p.split("::")[0] in ("crate", "super", "self")]


def expand(tree: str):
    """`a::{b, c::{d, e}}` -> a::b, a::c::d, a::c::e."""
    brace = tree.find("{")
    if brace < 0:
        return [tree.split(" as ")[0]]
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    items, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(inner[start:i])
            start = i + 1
    items.append(inner[start:])
    return [p for item in items if item for p in expand(prefix + item)]


def resolve(module, is_mod_file, path, modules):
    """The module a path reaches from `module`: its longest known prefix."""
    parts = path.split("::")
    here = list(module)
    if parts[0] == "crate":
        base, rest = [], parts[1:]
    else:
        base, rest = here, parts
        # In `a/b.rs` (module a::b) `super` is `a`; in `a/mod.rs` too.
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    target = tuple(base)
    for name in rest:
        if target + (name,) in modules:
            target = target + (name,)
        else:
            break
    return target


def cycles_in(src: Path):
    files = {}
    for path in src.rglob("*.rs"):
        rel = path.relative_to(ROOT).as_posix()
        module = module_of(src, path)
        if module is None or is_test_file(rel):
            continue
        files[module] = path
    modules = set(files)
    edges = {m: set() for m in modules}
    for module, path in files.items():
        text = non_test_text(path.read_text())
        for used in use_paths(text):
            target = resolve(module, path.name == "mod.rs", used, modules)
            if target == module or module[: len(target)] == target:
                continue  # itself, or an ancestor's items
            edges[module].add(target)
    # Strongly connected components (Tarjan) with more than one module.
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    sys.setrecursionlimit(10000)
    for v in sorted(modules):
        if v not in index:
            visit(v)
    return found, edges


def code_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip() and not line.strip().startswith("//"))


def main() -> int:
    breaches = []
    for path in rust_files():
        rel = path.relative_to(ROOT).as_posix()
        if is_test_file(rel):
            continue
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            breaches.append(f"{rel}: {lines} lines (at most {MAX_LINES} outside tests)")
    for src in crates():
        found, edges = cycles_in(src)
        for component in found:
            names = sorted("::".join(m) or "crate" for m in component)
            links = [
                f"{'::'.join(a) or 'crate'} -> {'::'.join(b) or 'crate'}"
                for a in sorted(component)
                for b in sorted(edges[a])
                if b in component
            ]
            breaches.append(
                f"{src.parent.relative_to(ROOT)}: import cycle among {', '.join(names)} ({'; '.join(links)})"
            )
    for main in sorted(ROOT.glob("functions/*/src/main.rs")) + sorted(ROOT.glob("functions/*/src/bin/*.rs")):
        count = code_lines(main.read_text())
        if count > MAX_MAIN:
            breaches.append(f"{main.relative_to(ROOT)}: {count} lines of code (a main is at most {MAX_MAIN})")
    for doc in sorted(ROOT.rglob("*.md")):
        if SKIP_DIRS.intersection(doc.relative_to(ROOT).parts):
            continue
        text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.S)
        for link in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", link) or link.startswith("#"):
                continue
            target = link.split("#", 1)[0]
            if target and not (doc.parent / target).exists():
                breaches.append(f"{doc.relative_to(ROOT)}: dead link {link}")
    for breach in breaches:
        print(f"house: {breach}")
    if breaches:
        return 1
    print("house: file sizes, import cycles, mains and links are in order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
