"""`kinspect ui`: the interactive terminal explorer (Textual).

`command` is the command's body (refuse a non-terminal, read the snapshot, run the app),
`view` the app's data as plain values (namespaces, service states, search, trace and audit
of a selection; no Textual), `app` the Textual widgets. Textual is imported only by `app`, and
`app` only when `kinspect ui` runs, so no other command pays for it at start-up.
"""
