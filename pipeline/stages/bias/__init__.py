"""Identity-mention measurement (no Beam): lexicons, a whole-word Aho-Corasick matcher and the
counterfactual filter probe."""
from pipeline.stages.bias.lexicon import Group, Lexicon, load_lexicon
from pipeline.stages.bias.match import Matcher

__all__ = ["Group", "Lexicon", "Matcher", "load_lexicon"]
