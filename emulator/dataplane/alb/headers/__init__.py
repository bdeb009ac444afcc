"""Headers the load balancer adds or changes: on requests to targets (``forwarded``: X-Forwarded-*, Host,
X-Amzn-Trace-Id; ``client_tls``: mTLS and TLS-info), on responses (``response``: routing.http.response.*)."""
