"""rules.yaml -> a validated, compiled, immutable Ruleset.

Every error names the file, the line and the rule id, because the person reading it is
editing that file right now (and a bad reload must keep the previous rules running, so
the message is all they get).
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..checks import COOKIE_KINDS, Check, compile_check
from ..checks.spec import SpecError, compile_regex, expect_mapping, str_list
from ..model import parse_severity
from .conditions import Conditions, FilterCompiler, compile_conditions
from .yamlsource import SourceDict, YamlError, load_yaml

RULE_KEYS = ("id", "target", "header", "severity", "message", "references", "when", "check", "fix")
TOP_KEYS = ("version", "extends", "settings", "rules", "disable", "override")
SETTINGS_KEYS = ("session_cookie_pattern",)
FIX_KEYS = ("header", "set", "remove", "cookie_attributes", "hosts", "opt_in")
ID_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
DEFAULT_SETTINGS: dict[str, Any] = {
    # Observatory calls a cookie a session cookie when its name contains "sess" or
    # "login"; we add the usual id/token names and leave CSRF tokens out (JavaScript
    # must read those, so HttpOnly would break them).
    "session_cookie_pattern": r"(?i)^(?!.*(?:csrf|xsrf)).*(?:sess|sid|auth|token|jwt|login|remember)",
}
# A rules file, and all the files of its `extends` chain together, may be at most this big.
# Loading is pure-Python YAML plus compiling every rule on the event loop (a reload blocks the
# proxy while it runs): ~280 bundled-style rules at this size load in ~0.3 s on a busy 2-core
# machine (~2.5 s per MiB); ~1600 one-line flow-style rules, the costliest per byte, in ~0.9 s.
# The bundled rules.yaml is ~20 KB.
MAX_RULES_BYTES = 128 * 1024
MAX_EXTENDS_DEPTH = 16  # files in one extends chain, the first file and the bundled rules included
_NOT_REGULAR = (
    (stat.S_ISDIR, "Is a directory"),  # the wording of EISDIR, as open() used to report it
    (stat.S_ISFIFO, "Is a FIFO (named pipe)"),
    (stat.S_ISCHR, "Is a character device"),
    (stat.S_ISBLK, "Is a block device"),
    (stat.S_ISSOCK, "Is a socket"),
)


class RulesError(ValueError):
    """A rules file that cannot be used; str() is the whole user-facing message."""

    def __init__(self, file: str, line: int | None, rule: str | None, message: str) -> None:
        self.file, self.line, self.rule = file, line, rule
        where = f"{file}:{line}" if line else file
        who = f" rule {rule!r}:" if rule else ""
        super().__init__(f"{where}:{who} {message}")


@dataclass(frozen=True)
class Fix:
    """What fix mode does for a violated rule; applied by the addon, never by the core."""

    header: str | None = None  # the header to set or remove when it is not the rule's own (frame protection -> X-Frame-Options)
    set: str | None = None
    remove: bool = False
    cookie_attributes: tuple[str, ...] = ()
    hosts: tuple[tuple[str, str], ...] = ()  # (host glob, value to set for that host)
    opt_in: bool = False  # fixes that commonly break sites (CORS, COOP/COEP/CORP) are applied only when asked for

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.header is not None:
            out["header"] = self.header
        if self.set is not None:
            out["set"] = self.set
        if self.remove:
            out["remove"] = True
        if self.cookie_attributes:
            out["cookie_attributes"] = list(self.cookie_attributes)
        if self.hosts:
            out["hosts"] = dict(self.hosts)
        if self.opt_in:
            out["opt_in"] = True
        return out


@dataclass(eq=False)
class Rule:
    id: str
    target: str  # "header" or "cookie"
    headers: tuple[str, ...]  # as written, for display
    keys: tuple[str, ...]  # lower-cased header names, for lookup
    severity: str
    message: str
    references: tuple[str, ...]
    when: Conditions
    check: Check
    fix: Fix | None
    source: str  # "file:line" where the rule was defined
    # lower-cased name -> its header as written; a rule may list ~90 headers (tech-disclosure)
    # while a response has ~15, so the engine looks up the response's names in this.
    by_key: dict[str, str] = field(init=False, repr=False)
    pairs: tuple[tuple[str, str], ...] = field(init=False, repr=False)  # (header as written, lower-cased name)

    def __post_init__(self) -> None:
        self.by_key = dict(zip(self.keys, self.headers))
        self.pairs = tuple(zip(self.headers, self.keys))

    def judged(self, names: Mapping[str, object]) -> Sequence[tuple[str, str]]:
        """The (header as written, lower-cased name) pairs the check runs on: those the response
        has (`names`), or all of them when the check judges absence; in the rule's order."""
        if self.check.judges_absence:
            return self.pairs
        if len(self.pairs) == 1:
            return self.pairs if self.keys[0] in names else ()
        by_key = self.by_key
        found = [name for name in names if name in by_key]
        if len(found) > 1:
            order = {name: i for i, name in enumerate(self.keys)}
            found.sort(key=order.__getitem__)
        return [(by_key[name], name) for name in found]


@dataclass(frozen=True)
class Ruleset:
    rules: tuple[Rule, ...]
    path: str
    sha256: str
    files: tuple[str, ...]  # every file read (the file and what it extends), for the watcher
    session_cookie_pattern: re.Pattern[str]


def default_rules_path() -> str:
    return str(resources.files("headeraudit.rules").joinpath("rules.yaml"))


def load_ruleset(path: str | None = None, compile_filter: FilterCompiler | None = None,
                 seen: dict[str, os.stat_result] | None = None) -> Ruleset:
    """Load, merge (`extends`), validate and compile a rules file; raises RulesError.

    `seen`, if given, receives the os.stat() of every file looked at, taken before it was read,
    also when loading fails (the watcher re-reads only once one of them changes)."""
    path = os.path.abspath(path) if path else default_rules_path()
    raw_rules, settings, files, digest = _load_raw(path, [], _Loading({} if seen is None else seen))
    try:
        session_pattern = compile_regex(settings["session_cookie_pattern"], "settings.session_cookie_pattern", None)
    except SpecError as exc:
        raise RulesError(path, None, None, str(exc)) from exc
    compiled = tuple(_compile_rule(raw, compile_filter) for raw in raw_rules.values())
    return Ruleset(compiled, path, digest.hexdigest(), tuple(files), session_pattern)


@dataclass
class _Loading:
    seen: dict[str, os.stat_result]
    total: int = 0  # bytes read so far along the extends chain


def _read(path: str, loading: _Loading) -> tuple[Any, bytes]:
    """Read a rules file within MAX_RULES_BYTES. Only regular files: a FIFO would block the open
    (and the event loop with it), /dev/zero or /proc files never end."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise RulesError(path, None, None, f"cannot read rules file: {exc.strerror or exc}") from exc
    loading.seen[path] = info
    _check_file(path, info, loading.total)
    limit = MAX_RULES_BYTES - loading.total
    try:
        # O_NONBLOCK: should the path become a FIFO after the stat, the open must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as fh:
            _check_file(path, os.fstat(fh.fileno()), loading.total)
            data = fh.read(limit + 1)
    except OSError as exc:
        raise RulesError(path, None, None, f"cannot read rules file: {exc.strerror or exc}") from exc
    if len(data) > limit:  # it grew since the fstat, or it is a /proc file whose size says 0
        raise _too_large(path, None, loading.total)
    loading.total += len(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RulesError(path, None, None, f"rules file is not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    try:
        doc = load_yaml(text, path)
    except YamlError as exc:
        raise RulesError(path, exc.line, None, str(exc).split(": ", 1)[1]) from exc
    except RecursionError as exc:  # PyYAML composes nested collections recursively: `[[[[...` of a few KB
        raise RulesError(path, None, None, "invalid YAML: nested too deeply") from exc
    return doc, data


def _check_file(path: str, info: os.stat_result, total: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((what for test, what in _NOT_REGULAR if test(info.st_mode)), "Is a special file")
        raise RulesError(path, None, None, f"cannot read rules file: {kind}, not a regular file")
    if total + info.st_size > MAX_RULES_BYTES:
        raise _too_large(path, info.st_size, total)


def _too_large(path: str, size: int | None, total: int) -> RulesError:
    what = f"{size} bytes" if size is not None else f"more than {MAX_RULES_BYTES - total} bytes read (more than its size said)"
    after = f", after {total} bytes in the files extending it" if total else ""
    return RulesError(path, None, None, f"rules file too large: {what}{after}; the limit is {MAX_RULES_BYTES} bytes "
                                        f"({MAX_RULES_BYTES // 1024} KiB) for a rules file and the files it extends together")


def _load_raw(path: str, chain: list[str], loading: _Loading) -> tuple[dict[str, SourceDict], dict[str, Any], list[str], Any]:
    """Return rule mappings by id (in order), settings, files read and a running hash."""
    if path in chain:
        raise RulesError(path, None, None, "extends loops back: " + " -> ".join(chain + [path]))
    doc, data = _read(path, loading)
    if not isinstance(doc, SourceDict):
        raise RulesError(path, getattr(doc, "line", None), None, "a rules file must be a mapping with a 'rules' list (or 'extends')")
    for key in doc:
        if key not in TOP_KEYS:
            raise RulesError(path, doc.line_of(str(key)), None, f"unknown top-level key {key!r}; allowed: {', '.join(TOP_KEYS)}")
    if doc.get("version", 1) != 1:
        raise RulesError(path, doc.line_of("version"), None, f"unsupported rules version {doc.get('version')!r}; this headeraudit reads version 1")

    if "extends" in doc:
        base = doc["extends"]
        if not isinstance(base, str) or not base:
            raise RulesError(path, doc.line_of("extends"), None, "extends must be 'default' or a path to another rules file")
        if len(chain) + 1 >= MAX_EXTENDS_DEPTH:
            raise RulesError(path, doc.line_of("extends"), None, f"extends chain too long: at most {MAX_EXTENDS_DEPTH} files")
        base_path = default_rules_path() if base == "default" else os.path.join(os.path.dirname(path), base)
        rules, settings, files, digest = _load_raw(os.path.abspath(base_path), chain + [path], loading)
    else:
        rules, settings, files, digest = {}, dict(DEFAULT_SETTINGS), [], hashlib.sha256()
    files = files + [path]
    digest.update(data)

    if "settings" in doc:
        spec = doc["settings"]
        if not isinstance(spec, SourceDict):
            raise RulesError(path, doc.line_of("settings"), None, "settings must be a mapping")
        for key, value in spec.items():
            if key not in SETTINGS_KEYS:
                raise RulesError(path, spec.line_of(str(key)), None, f"unknown setting {key!r}; allowed: {', '.join(SETTINGS_KEYS)}")
            settings[key] = value

    for rule_id in _id_list(doc, "disable", path):
        if rule_id not in rules:
            raise RulesError(path, doc.line_of("disable"), rule_id, "cannot disable: no such rule in the extended ruleset")
        del rules[rule_id]

    overrides = doc.get("override", SourceDict())
    if not isinstance(overrides, SourceDict):
        raise RulesError(path, doc.line_of("override"), None, "override must map rule ids to the keys to change")
    for rule_id, changes in overrides.items():
        line = overrides.line_of(str(rule_id))
        if rule_id not in rules:
            raise RulesError(path, line, str(rule_id), "cannot override: no such rule in the extended ruleset (disabled or misspelt?)")
        if not isinstance(changes, SourceDict):
            raise RulesError(path, line, str(rule_id), "an override must be a mapping of rule keys")
        if "id" in changes:
            raise RulesError(path, changes.line_of("id"), str(rule_id), "an override cannot change the id")
        merged = _deep_merge(rules[rule_id], changes)
        merged.overridden_at = f"{path}:{line}"
        rules[rule_id] = merged

    new_rules = doc.get("rules", [])
    if not isinstance(new_rules, list):
        raise RulesError(path, doc.line_of("rules"), None, "rules must be a list of rule mappings")
    for raw in new_rules:
        if not isinstance(raw, SourceDict):
            raise RulesError(path, doc.line_of("rules"), None, "each rule must be a mapping")
        new_id = raw.get("id")
        if not isinstance(new_id, str) or not ID_PATTERN.fullmatch(new_id):
            raise RulesError(path, raw.line, str(new_id) if new_id else None, "every rule needs an id in kebab-case (e.g. hsts-missing)")
        if new_id in rules:
            first = rules[new_id]
            raise RulesError(
                path, raw.line, new_id,
                f"duplicate rule id (first defined at {first.file}:{first.line}); to change an extended rule use 'override'",
            )
        rules[new_id] = raw
    return rules, settings, files, digest


def _id_list(doc: SourceDict, key: str, path: str) -> tuple[str, ...]:
    if key not in doc:
        return ()
    try:
        return str_list(doc[key], key, doc.line_of(key))
    except SpecError as exc:
        raise RulesError(path, exc.line, None, str(exc)) from exc


def _deep_merge(base: SourceDict, changes: Mapping[str, Any]) -> SourceDict:
    """Mappings merge key by key, anything else replaces: lets an override change one threshold."""
    merged = copy.copy(base)
    merged.key_lines = dict(base.key_lines)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), SourceDict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
        if hasattr(changes, "line_of"):
            merged.key_lines[str(key)] = changes.line_of(str(key))
    return merged


def _compile_rule(raw: SourceDict, compile_filter: FilterCompiler | None) -> Rule:
    rule_id = raw["id"]
    where = getattr(raw, "overridden_at", None)

    def fail(message: str, line: int | None) -> RulesError:
        suffix = f" (rule defined at {raw.file}:{raw.line}, overridden at {where})" if where else ""
        return RulesError(raw.file, line, rule_id, message + suffix)

    try:
        for key in raw:
            if key not in RULE_KEYS:
                raise SpecError(f"unknown key {key!r}; allowed: {', '.join(RULE_KEYS)}", raw.line_of(str(key)))
        for key in ("severity", "message", "check"):
            if key not in raw:
                raise SpecError(f"missing required key {key!r}", raw.line)
        target = raw.get("target", "header")
        if target not in ("header", "cookie"):
            raise SpecError("target must be header or cookie", raw.line_of("target"))
        if target == "cookie":
            headers = str_list(raw.get("header", "Set-Cookie"), "header", raw.line_of("header"))
            if [h.lower() for h in headers] != ["set-cookie"]:
                raise SpecError("a cookie rule judges Set-Cookie; leave header out or set it to Set-Cookie", raw.line_of("header"))
        else:
            if "header" not in raw:
                raise SpecError("missing required key 'header' (the header name, or a list of names)", raw.line)
            headers = str_list(raw["header"], "header", raw.line_of("header"))
        try:
            severity = parse_severity(raw["severity"])
        except ValueError as exc:
            raise SpecError(str(exc), raw.line_of("severity")) from exc
        message = raw["message"]
        if not isinstance(message, str) or not message.strip():
            raise SpecError("message must be a non-empty string", raw.line_of("message"))
        references = str_list(raw["references"], "references", raw.line_of("references")) if "references" in raw else ()
        for ref in references:
            if not re.match(r"https?://", ref):
                raise SpecError(f"references must be URLs, got {ref!r}", raw.line_of("references"))
        check = compile_check(raw["check"], raw.line_of("check"))
        if (check.kind in COOKIE_KINDS) != (target == "cookie"):
            raise SpecError("cookie checks need target: cookie, and a cookie rule needs a cookie check", raw.line_of("check"))
        if check.kind == "cors_reflection" and [h.lower() for h in headers] != ["access-control-allow-origin"]:
            raise SpecError("cors_reflection judges Access-Control-Allow-Origin; set header to it", raw.line_of("header"))
        when = compile_conditions(raw.get("when"), raw.line_of("when"), compile_filter)
        fix = _compile_fix(raw.get("fix"), raw.line_of("fix"), target) if "fix" in raw else None
    except SpecError as exc:
        raise fail(str(exc), exc.line) from exc
    return Rule(
        id=rule_id, target=target, headers=headers, keys=tuple(h.lower() for h in headers), severity=severity,
        message=message.strip(), references=references, when=when, check=check, fix=fix, source=f"{raw.file}:{raw.line}",
    )


def _compile_fix(spec: Any, line: int | None, target: str) -> Fix:
    spec = expect_mapping(spec, "fix", line)
    for key in spec:
        if key not in FIX_KEYS:
            raise SpecError(f"unknown key {key!r} in fix; allowed: {', '.join(FIX_KEYS)}", spec.line_of(str(key)) if hasattr(spec, "line_of") else line)
    actions = [k for k in ("set", "remove", "cookie_attributes") if k in spec]
    if len(actions) != 1:
        raise SpecError("fix needs exactly one of set, remove, cookie_attributes", line)
    if target == "cookie" and actions[0] != "cookie_attributes":
        raise SpecError("a cookie rule's fix is cookie_attributes (e.g. [HttpOnly])", line)
    if target == "header" and actions[0] == "cookie_attributes":
        raise SpecError("cookie_attributes only applies to target: cookie", line)
    value = spec.get("set")
    if value is not None and (not isinstance(value, (str, int)) or "\n" in str(value) or "\r" in str(value)):
        raise SpecError("fix.set must be a one-line header value", line)
    if "remove" in spec and spec["remove"] is not True:
        raise SpecError("fix.remove takes the value true", line)
    attributes = str_list(spec["cookie_attributes"], "fix.cookie_attributes", line) if "cookie_attributes" in spec else ()
    for attr in attributes:
        if not re.fullmatch(r"(?i)secure|httponly|samesite=(lax|strict|none)|partitioned", attr):
            raise SpecError(f"fix.cookie_attributes: {attr!r} is not one of Secure, HttpOnly, SameSite=Lax|Strict|None, Partitioned", line)
    hosts: tuple[tuple[str, str], ...] = ()
    if "hosts" in spec:
        host_map = expect_mapping(spec["hosts"], "fix.hosts", line)
        if actions[0] != "set":
            raise SpecError("fix.hosts (per-host values) only applies with set", line)
        hosts = tuple((str(glob).lower(), str(val)) for glob, val in host_map.items())
    header = spec.get("header")
    if header is not None and (target == "cookie" or not isinstance(header, str) or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", header)):
        raise SpecError("fix.header must be a header name (and cookie rules fix Set-Cookie itself)", line)
    opt_in = spec.get("opt_in", False)
    if not isinstance(opt_in, bool):
        raise SpecError("fix.opt_in must be true or false", line)
    return Fix(
        header=header, set=None if value is None else str(value), remove=bool(spec.get("remove")), cookie_attributes=attributes,
        hosts=hosts, opt_in=opt_in,
    )
