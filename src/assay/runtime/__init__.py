"""Runtime: executors that run jobs off the request path."""
