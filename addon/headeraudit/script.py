"""The mitmproxy script the `headeraudit` command loads (`-s` needs a file path; an installed
package has no addon/ folder). Same content as addon/headeraudit_addon.py."""

from headeraudit.mitm import HeaderAudit, settle_hook_lookups

addons = [HeaderAudit()]
settle_hook_lookups(globals())  # see its docstring: keeps mitmproxy's per-event lookups cheap
