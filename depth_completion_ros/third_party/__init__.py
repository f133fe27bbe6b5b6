"""Third-party reference code, each folder with its license kept; used for comparison only,
never by the node or the model registry."""
