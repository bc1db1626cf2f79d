"""kinspect: the IP and port chain of every Service in a live Kubernetes cluster."""

__version__ = "0.1.0"
