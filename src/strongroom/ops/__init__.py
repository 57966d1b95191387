"""Operating the index: health probes for load balancers and Prometheus metrics."""
