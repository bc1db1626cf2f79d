"""`kinspect diff`: two snapshots' chains and entry points, or two audit reports, compared. Pure.

`chaindiff` matches both sides through dicts into a closed set of change kinds. The package sits
above `audit` (it compares findings) and `edge` (it compares entry points).
"""
