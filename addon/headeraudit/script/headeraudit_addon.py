"""mitmproxy script of an installed headeraudit: `mitmweb -s "$(headeraudit --script-path)"`.

Alone in its folder, which mitmproxy puts on sys.path: no module of the package can shadow
another script's imports. (From a clone, use addon/headeraudit_addon.py.)
"""

from headeraudit.mitm import HeaderAudit, settle_hook_lookups

addons = [HeaderAudit()]
settle_hook_lookups(globals())  # see its docstring: keeps mitmproxy's per-event lookups cheap
