"""NetworkPolicy and AdminNetworkPolicy verdicts. Pure; imports `path`, never `edge`.

`netpol` decides a connection (with `admin` for the tiers before and after it, `peer` for its
two ends); `reach` gives the verdict at every hop of a trace (`trace --from`); `access` says
who may reach a pod or a service port (`kinspect policy`) and a namespace's matrix.
"""
