"""What a person or a script reads: plans, results and status as text or JSON
(``render``, ``status``) and live progress on a terminal (``progress``).
"""
