"""The web layer: thin FastAPI routers over the services wired in ``gateway.bootstrap``."""
