"""Loading policies, inventories and waiver files: every problem at once.

Each file is read with the one safe YAML loader (:mod:`scanner.yamlio`),
then validated in two steps: the envelope (:mod:`scanner.schemas`), then each
check's parameters against the schema its check type registered
(:mod:`scanner.policy_build`). On top of the schemas the loader checks what a
schema cannot: duplicate rule ids and target names, unknown
``${placeholders}``, unknown inputs, regexes that do not compile, unknown
check types, numbers that are not finite. Problems from every file are
gathered and raised together as one :class:`~scanner.errors.LoadError`;
nothing is scanned then.

Nothing given is passed over in silence: a path that holds no file to check is
a problem, and in a directory only YAML that is plainly not ours (another
tool's) is skipped — a policyscan file with a wrong ``apiVersion`` or ``kind``
is reported, since its rules would otherwise just not run.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from scanner import schemas
from scanner.api import Target
from scanner.errors import LoadError, Problem
from scanner.plugin_host import PluginHost
from scanner.policy import EVERY_TARGET, Policy, Waiver, WaiverSet
from scanner.policy_build import Resolve, load_policy_docs
from scanner.validation import validate
from scanner.yamlio import Marks, YamlError, load_yaml_bytes, read_bytes

KINDS = ("Policy", "Inventory", "Waivers", "PolicyTest")


class _Doc:
    def __init__(self, path: Path, display: str, data: Any, marks: Marks, raw: bytes) -> None:
        self.path = path
        self.display = display
        self.data = data
        self.marks = marks
        self.sha256 = hashlib.sha256(raw).hexdigest()

    @property
    def kind(self) -> str | None:
        if isinstance(self.data, dict) and self.data.get("apiVersion") == schemas.API_VERSION:
            kind = self.data.get("kind")
            return kind if isinstance(kind, str) and kind in KINDS else None
        return None

    @property
    def ours(self) -> bool:
        """Whether the file means to be a policyscan file, even a broken one.

        A directory holds other YAML too, which is passed over; but a file that
        says ``apiVersion: policyscan/...`` (or has no ``apiVersion`` and says
        ``kind: Policy``) and gets either wrong must be reported, never passed
        over: its rules would silently not run.
        """
        if not isinstance(self.data, dict):
            return False
        api = self.data.get("apiVersion")
        if isinstance(api, str):
            return api.lower().startswith("policyscan")
        kind = self.data.get("kind")
        return isinstance(kind, str) and kind.lower() in {k.lower() for k in KINDS}

    def kind_problem(self, want: Sequence[str]) -> Problem | None:
        """Why this is not a document of one of the kinds ``want``, or None."""
        what = _WHAT.get(want[0], "policyscan document") if len(want) == 1 else "policyscan document"
        expected = f"expected apiVersion {schemas.API_VERSION} and kind {' or '.join(want)}"
        if not isinstance(self.data, dict):
            return self.marks.problem((), f"not a {what}: {expected}")
        if self.data.get("apiVersion") != schemas.API_VERSION:
            where = ("apiVersion",) if "apiVersion" in self.data else ()
            written = f"apiVersion {self.data['apiVersion']!r}" if "apiVersion" in self.data else "no apiVersion"
            return self.marks.problem(where, f"not a {what} ({written}): {expected}")
        kind = self.data.get("kind")
        if kind not in want:
            where = ("kind",) if "kind" in self.data else ()
            return self.marks.problem(where, f"not a {what} (kind {kind!r}): {expected}")
        return None


_WHAT = {"Policy": "policy", "Inventory": "inventory", "Waivers": "waiver file", "PolicyTest": "policy test"}


def _read(path: Path, problems: list[Problem]) -> _Doc | None:
    display = str(path)
    try:
        raw = read_bytes(path, display)  # read once: the sha256 is of the text that was checked
        docs = load_yaml_bytes(raw, display)
    except YamlError as exc:
        problems.append(exc.problem)
        return None
    if len(docs) != 1:
        problems.append(Problem(display, 1, 1, f"expected exactly one YAML document, found {len(docs)}"))
        return None
    data, marks = docs[0]
    return _Doc(path, display, data, marks, raw)


def files_under(path: Path, wanted: Callable[[str], bool]) -> list[Path]:
    """``path`` itself, or the regular files under a directory whose name ``wanted`` accepts, sorted.

    Symlinked sub-directories are followed (a shared pack linked in, a git
    submodule, an ``…-enabled`` directory): their rules must not vanish. A
    directory reached twice (two links to it, or a link back up the tree) is
    read once, by its real path, so a loop ends instead of repeating.
    """
    if not path.is_dir():
        return [path]
    found: list[Path] = []
    seen: set[str] = set()
    for root, dirs, files in os.walk(path, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            dirs.clear()
            continue
        seen.add(real)
        found.extend(Path(root, name) for name in files if wanted(name) and Path(root, name).is_file())
    return sorted(found)


_TEST_SUFFIXES = (".test.yaml", ".test.yml")


def policy_files(path: Path, tests: bool = False) -> list[Path]:
    """``path`` itself, or the policy files in a directory (``*.test.yaml`` only with ``tests``);
    suffixes in any case: a POLICY.YAML copied from Windows must not be passed over."""

    def wanted(name: str) -> bool:
        low = name.lower()
        return low.endswith((".yaml", ".yml")) and (tests or not low.endswith(_TEST_SUFFIXES))

    return files_under(path, wanted)


# --------------------------------------------------------------------------- policies


PACK_PREFIX = "pack:"


def pack_path(given: str, host: PluginHost) -> Path | None:
    """The path ``given`` names: a file or directory, or ``pack:NAME``, a policy pack an installed
    plugin ships (``register_policy_packs``). None for an unknown pack."""
    if not given.startswith(PACK_PREFIX):
        return Path(given)
    pack = host.packs.get(given[len(PACK_PREFIX) :])
    return None if pack is None else Path(pack.path)


def pack_file(root: Path, rest: str) -> tuple[Path | None, str]:
    """The file ``rest`` names inside the pack folder ``root`` (``pack:NAME/REST``): (path, "") or
    (None, why not). A reference never leaves its pack: no ``..``, no absolute part, and the
    resolved path (links followed) must lie under the pack's real path."""
    parts = rest.replace("\\", "/").split("/")
    if rest.startswith(("/", "\\")) or Path(rest).is_absolute() or ".." in parts or any(":" in p for p in parts):
        return None, "a pack:NAME/FILE reference must name a file inside the pack (no '..', no absolute path)"
    real_root = Path(os.path.realpath(root))
    path = Path(os.path.realpath(root / rest))
    if path != real_root and real_root not in path.parents:
        return None, f"a pack:NAME/FILE reference must name a file inside the pack ({rest!r} leads out of it)"
    return root / rest, ""


def _unknown_pack(given: str, host: PluginHost) -> Problem:
    known = ", ".join(f"{PACK_PREFIX}{n}" for n in sorted(host.packs)) or "none; no installed plugin ships one"
    return Problem(given, 1, 1, f"no installed plugin ships this policy pack (known packs: {known})")


def _documents(
    paths: Sequence[str], problems: list[Problem], host: PluginHost, tests: bool = False
) -> Iterator[tuple[str, bool, _Doc | None]]:
    """Every YAML file named, or found under a named directory, read once.

    Yields ``(path given, found_in_a_directory, document)``; the document is
    None when the file could not be read as YAML (the problem is already recorded).
    A ``pack:NAME`` is read from where its plugin installed it.
    """
    for given in paths:
        p = pack_path(given, host)
        if p is None:
            problems.append(_unknown_pack(given, host))
            continue
        if not p.exists():
            problems.append(Problem(given, 1, 1, "no such file or directory"))
            continue
        for f in policy_files(p, tests):
            yield given, p.is_dir(), _read(f, problems)


def _resolver(docs: Sequence[_Doc], host: PluginHost, problems: list[Problem]) -> Resolve:
    """How an overlay's ``extends`` finds its base: a path relative to the overlay's file, or
    ``pack:NAME`` (a pack of one policy) or ``pack:NAME/FILE`` (a file in a pack). Each file
    is read once: a base that is also among ``docs`` is that very document."""
    cache: dict[str, _Doc | None] = {os.path.realpath(d.path): d for d in docs}

    def resolve(overlay: _Doc, given: str) -> tuple[_Doc | None, str | None]:
        if given.startswith(PACK_PREFIX):
            name, _, rest = given[len(PACK_PREFIX) :].partition("/")
            pack = host.packs.get(name)
            if pack is None:
                known = ", ".join(f"{PACK_PREFIX}{n}" for n in sorted(host.packs)) or "none"
                return None, f"extends {given!r}: no installed plugin ships this policy pack (known packs: {known})"
            if rest:
                inside, why = pack_file(Path(pack.path), rest)
                if inside is None:
                    return None, f"extends {given!r}: {why}"
                path = inside
            else:
                path = Path(pack.path)
        else:
            path = Path(os.path.normpath(overlay.path.parent / given))
        if path.is_dir():
            found = [
                f for f in policy_files(path)
                if (d := _cached(f)) is None or (d.ours and d.kind not in ("Inventory", "Waivers"))
            ]
            if len(found) != 1:
                names = ", ".join(str(f.relative_to(path)) for f in found) or "none"
                return None, (f"extends {given!r}: a directory must hold exactly one policy to extend "
                              f"(found: {names}); name the file, e.g. {given.rstrip('/')}/FILE.yaml")
            path = found[0]
        elif not path.is_file():
            return None, f"extends {given!r}: no such policy file ({path})"
        doc = _cached(path)
        if doc is None:
            return None, None
        wrong = doc.kind_problem(("Policy",))
        if wrong is not None:
            return None, f"extends {given!r}: {wrong.message}"
        return doc, None

    def _cached(path: Path) -> _Doc | None:
        key = os.path.realpath(path)
        if key not in cache:
            cache[key] = _read(path, problems)
        return cache[key]

    return resolve


def _exists(given: str, host: PluginHost) -> bool:
    path = pack_path(given, host)
    return path is not None and path.exists()


def _none_found(given: str, what: str) -> Problem:
    """A path given on the command line that holds nothing to check: never a silent pass."""
    return Problem(given, 1, 1, f"no {what} found here (apiVersion {schemas.API_VERSION}, *.yaml or *.yml)")


def load_policies(paths: Sequence[str], host: PluginHost, overrides: Mapping[str, str] | None = None) -> list[Policy]:
    """Load ``--policy`` files and directories; raise :class:`LoadError` with every problem.

    Every path given must hold at least one policy: a directory of other files
    would otherwise add no rules, and the scan would pass without them.
    """
    problems: list[Problem] = []
    docs: list[_Doc] = []
    found = dict.fromkeys(paths, 0)
    for given, in_dir, doc in _documents(paths, problems, host):
        if doc is not None and in_dir and (not doc.ours or doc.kind in ("Inventory", "Waivers", "PolicyTest")):
            continue  # a directory holds other files too; only its policies count
        found[given] += 1
        wrong = doc.kind_problem(("Policy",)) if doc is not None else None
        if wrong is not None:
            problems.append(wrong)
        elif doc is not None:
            docs.append(doc)
    problems.extend(_none_found(g, "policy files") for g, n in found.items() if n == 0 and _exists(g, host))
    policies = load_policy_docs(docs, host, overrides or {}, problems, _resolver(docs, host, problems))
    if problems:
        raise LoadError(problems)
    return sorted(policies, key=lambda p: p.id)


# --------------------------------------------------------------------------- inventories and waivers


def load_inventory_doc(doc: _Doc, host: PluginHost, problems: list[Problem]) -> list[Target]:
    found = validate(doc.data, schemas.inventory_schema(host.check_types), doc.marks)
    problems.extend(found)
    raw_targets = doc.data.get("targets") if isinstance(doc.data, dict) else None
    targets: list[Target] = []
    seen: dict[str, int] = {}
    base = doc.path.resolve().parent
    for i, raw in enumerate(raw_targets if isinstance(raw_targets, list) else []):
        name = raw.get("name") if isinstance(raw, dict) else None
        if not isinstance(name, str):
            continue  # the schema said so
        if name in seen:  # reported with the schema's problems, not after they are fixed
            problems.append(
                doc.marks.problem(
                    ("targets", i, "name"), f"duplicate target name {name!r} (first at targets[{seen[name]}])"
                )
            )
            continue
        seen[name] = i
        sources = {k: v for k, v in raw.items() if k not in ("name", "labels")}
        targets.append(Target(name=name, labels=dict(raw.get("labels") or {}), sources=sources, base_dir=base))
    return [] if found else targets


def load_inventory(path: str, host: PluginHost) -> list[Target]:
    problems: list[Problem] = []
    doc = _read(Path(path), problems)
    wrong = doc.kind_problem(("Inventory",)) if doc is not None else None
    if wrong is not None:
        problems.append(wrong)
    targets = load_inventory_doc(doc, host, problems) if doc is not None and not problems else []
    if problems:
        raise LoadError(problems)
    return targets


def load_waivers_doc(doc: _Doc, problems: list[Problem]) -> WaiverSet | None:
    found = validate(doc.data, schemas.waivers_schema(), doc.marks)
    if found:
        problems.extend(found)
        return None
    waivers = []
    for i, raw in enumerate(doc.data["waivers"]):
        try:
            date.fromisoformat(raw["expires"])
        except ValueError:
            problems.append(doc.marks.problem(("waivers", i, "expires"), f"expires {raw['expires']!r} is not a date"))
            continue
        waivers.append(
            Waiver(
                rule=raw["rule"],
                reason=raw["reason"],
                expires=raw["expires"],
                policy=raw.get("policy"),
                targets=tuple(raw["targets"]) if "targets" in raw else EVERY_TARGET,
                line=doc.marks.at(("waivers", i))[0],
            )
        )
    return WaiverSet(doc.display, doc.sha256, tuple(waivers))


def load_waivers(path: str) -> WaiverSet:
    problems: list[Problem] = []
    doc = _read(Path(path), problems)
    ws = None
    wrong = doc.kind_problem(("Waivers",)) if doc is not None else None
    if wrong is not None:
        problems.append(wrong)
    elif doc is not None:
        ws = load_waivers_doc(doc, problems)
    if problems or ws is None:
        raise LoadError(problems)
    return ws


def validate_paths(paths: Sequence[str], host: PluginHost) -> tuple[int, list[Problem]]:
    """``policyscan validate``: check every file given or found; return (files checked, problems).

    A path that holds no policyscan file at all is a problem too: "0 files
    valid" must not read as a pass.
    """
    problems: list[Problem] = []
    policies: list[_Doc] = []
    tests: list[_Doc] = []
    found = dict.fromkeys(paths, 0)
    for given, in_dir, doc in _documents(paths, problems, host, tests=True):
        if doc is not None and in_dir and not doc.ours:
            continue  # not one of ours: directories hold other YAML too
        found[given] += 1
        if doc is None:
            continue
        wrong = doc.kind_problem(KINDS)
        if wrong is not None:
            problems.append(wrong)
        elif doc.kind == "Policy":
            policies.append(doc)
        elif doc.kind == "Inventory":
            load_inventory_doc(doc, host, problems)
        elif doc.kind == "Waivers":
            load_waivers_doc(doc, problems)
        elif doc.kind == "PolicyTest":
            tests.append(doc)
    problems.extend(_none_found(g, "policyscan files") for g, n in found.items() if n == 0 and _exists(g, host))
    loaded = load_policy_docs(policies, host, {}, problems, _resolver(policies, host, problems))
    if tests:  # a test's policy is checked too (reusing one validated here); its cases are not run
        from scanner.policytest_cmd import check_test_doc

        known = {os.path.realpath(p.path): p for p in loaded}
        for doc in tests:
            check_test_doc(doc.path, doc.data, doc.marks, host, problems, known)
    # a policy named by a test file is checked twice: say each problem once
    return sum(found.values()), sorted(dict.fromkeys(problems), key=lambda p: (p.file, p.line, p.col))
