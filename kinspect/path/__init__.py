"""The service chain: frontends → backends → containers, and what an address is. Pure.

`chain` builds each service port's chain as kube-proxy programs it; `trace` follows an address
and port hop by hop; `inventory` lists every address and who allocates it; `plan` says which
pods a trace must read.
"""
