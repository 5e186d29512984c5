"""MCP: tools from other servers, and nbagents' toolbox served over MCP."""
