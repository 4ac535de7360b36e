"""The `labeldesk` commands: `parser` declares them all; core, team, prepare and media hold their handlers."""
