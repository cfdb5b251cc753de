"""The five 思考题: answered in markdown, graded by hand (7 points each) against the rubric in the master."""
from grading.parts import Question

QUESTIONS = tuple(Question(f"q{i}", f"思考题{i}", 7) for i in range(1, 6))
