"""Learning a Content-Security-Policy from what a site was seen to need, and proposing it.

documents.py reads a document's HTML, observations.py keeps per host what was seen and why,
proposal.py turns that into the strictest policy allowing it. Free of any proxy type: the
adapter (mitm/learning.py) hands in exchanges, bodies and violation reports.
"""

from .documents import DocumentScan, scan_document, sha256_source
from .observations import CspLearner, Exchange, HostLearning
from .proposal import Proposal, csp_fix_rules, judge_policy, propose, proposals_section, reports_to, rules_snippet

__all__ = ["CspLearner", "DocumentScan", "Exchange", "HostLearning", "Proposal", "csp_fix_rules", "judge_policy",
           "propose", "proposals_section", "reports_to", "rules_snippet", "scan_document", "sha256_source"]
