"""Regenerate addon/headeraudit/data/csp_bypasses.json from CSP Evaluator's allowlist data.

    npm install --ignore-scripts csp_evaluator@1.1.8
    python3 scripts/csp_bypasses.py node_modules/csp_evaluator > addon/headeraudit/data/csp_bypasses.json

CSP Evaluator (Google, Apache-2.0) lists URLs on popular hosts that serve JSONP endpoints,
old AngularJS or Flash files, any of which runs an attacker's script past a host allowlist.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

SOURCE = "CSP Evaluator {version}, allowlist_bypasses/{file} (Apache-2.0), https://github.com/google/csp-evaluator"
KINDS = {"jsonp.ts": "jsonp", "angular.ts": "angular", "flash.ts": "flash"}


def strings(text: str, name: str) -> list[str]:
    match = re.search(rf"export const {name}: string\[\] = \[(.*?)\];", text, re.S)
    return re.findall(r"'([^']*)'", match.group(1)) if match else []


def main(package: Path) -> dict:
    version = json.loads((package / "package.json").read_text())["version"]
    entries = []
    needs_eval: set[str] = set()
    for file, kind in KINDS.items():
        text = (package / "allowlist_bypasses" / file).read_text()
        needs_eval |= set(strings(text, "NEEDS_EVAL"))
        for url in strings(text, "URLS"):
            entries.append({"url": url, "kind": kind, "source": SOURCE.format(version=version, file=file)})
    for entry in entries:
        host = entry["url"].removeprefix("//").split("/", 1)[0]
        entry["needs_eval"] = entry["kind"] == "jsonp" and host in needs_eval
    return {"about": __doc__.strip().splitlines()[-2] + " " + __doc__.strip().splitlines()[-1], "entries": entries}


if __name__ == "__main__":
    json.dump(main(Path(sys.argv[1])), sys.stdout, indent=1)
    sys.stdout.write("\n")
