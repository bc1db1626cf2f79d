"""Entry points in front of the services: Ingress and the Gateway API. Pure; imports `path`.

`entry` answers which Ingress rule or Gateway route takes a URL and lists every host and path;
`gateway` computes route attachment and backendRefs, `gateway_match` which listener and rule
answer; `plan` which pods a URL trace must read. Never imports `policy`: commands compose them.
"""
