"""What the app opens (the connection spec) and how its own driver opens it."""
