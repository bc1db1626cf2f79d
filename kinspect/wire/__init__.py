"""The wire: everything that talks to the API server or reads and writes files.

The only package that imports `kubernetes` (and `urllib3`): `connection` loads the kubeconfig,
`transport` sends one GET and translates client errors into `KinspectError`s at this border,
`lists` and `watch` read LISTs and WATCHes, `cluster` walks the `kinds` registry into one
`Snapshot`; `raw` holds the wire structs and the `convert*` modules turn them into domain
values. `snapshotfile`, `auditfiles` and `files` read and write kinspect's own files.
"""
