"""Observatory-compatible score and letter grade, from the responses a proxy observes.

tables.py holds the MDN HTTP Observatory's results, modifiers and letters; responses.py its
tests on one response, read from the shared facts; hosts.py the aggregation per host.
"""

from .hosts import UNIVERSAL_CORS_ORIGINS, HostGrade
from .responses import grade_response
from .tables import GRADE_HEADERS, GRADE_ORDER, NOT_OBSERVED, RESULTS, TESTS, ResponseGrade, TestResult, letter, score, scored

__all__ = [
    "GRADE_HEADERS", "GRADE_ORDER", "NOT_OBSERVED", "RESULTS", "TESTS", "UNIVERSAL_CORS_ORIGINS",
    "HostGrade", "ResponseGrade", "TestResult", "grade_response", "letter", "score", "scored",
]
