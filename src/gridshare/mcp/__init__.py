"""The MCP server for homeowners' AI assistants: Streamable HTTP at `/mcp`, stateless, on the
same owner-scoped services and OAuth tokens as the customer API (see docs/mcp.md)."""
