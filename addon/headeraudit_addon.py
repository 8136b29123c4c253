"""mitmproxy script: `mitmdump -s addon/headeraudit_addon.py` (also mitmweb, mitmproxy).

mitmproxy puts this file's folder on sys.path, so the `headeraudit` package beside it is
importable from a plain clone; an installed copy works the same.
"""

from headeraudit.mitm import HeaderAudit, settle_hook_lookups

addons = [HeaderAudit()]
settle_hook_lookups(globals())  # see its docstring: keeps mitmproxy's per-event lookups cheap
