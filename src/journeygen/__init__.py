"""journeygen: journey-learning reasoning data from searched trees of solution steps."""

from journeygen.models import Journey, Node, Problem, Sample, Segment, Tree, Verdict

__all__ = ["Journey", "Node", "Problem", "Sample", "Segment", "Tree", "Verdict"]
