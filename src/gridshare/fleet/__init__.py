"""The homes as the running system manages them: owner-scoped access, control, provisioning.

Sits between the pure domain (`gridshare.homes`) and storage; the REST API, the portal, the
admin CLI (and later the MCP server) all go through it, so the rules hold the same everywhere.
"""
