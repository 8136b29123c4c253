"""The rule language: rules.yaml -> a validated, compiled, immutable Ruleset."""

from .conditions import Conditions
from .loader import DEFAULT_SETTINGS, Fix, Rule, RulesError, Ruleset, default_rules_path, load_ruleset

__all__ = ["DEFAULT_SETTINGS", "Conditions", "Fix", "Rule", "RulesError", "Ruleset", "default_rules_path", "load_ruleset"]
