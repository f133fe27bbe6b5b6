"""``depth-completion benchmark --latency``: per-stage latency, throughput and memory of the
node's frame path at several image sizes, with the authors' IP-Basic timed beside it."""
