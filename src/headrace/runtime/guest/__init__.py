"""Code that runs inside a sandboxed worker process, around the user's function."""
