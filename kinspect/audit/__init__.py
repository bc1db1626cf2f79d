"""The audit: small self-describing checks by domain, their registry, and report assembly. Pure.

`checks` lists every check (`CHECKS`, a literal tuple: report order, stable ids) and runs them;
one module per domain holds the check functions; `check` and `finding` what they share;
`report` merges contexts, applies ignore rules and diffs a baseline. Never imports `wire`,
`commands`, `render` or `ui`.
"""
