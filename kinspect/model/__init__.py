"""The domain values: what a cluster holds, as frozen snake_case structs; label selectors; errors.

Imports no other kinspect package. `values` holds nodes, pods, services and endpoints; `edge`
and `policy` the entry-point and policy objects; `snapshot` one read of a cluster; `change` one
watch event; `labels` selectors as the API server evaluates them; `errors` the exit codes.
"""
