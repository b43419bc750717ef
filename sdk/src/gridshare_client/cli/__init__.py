"""The `gridshare` command (partner commands here; the server plugs in its own)."""
