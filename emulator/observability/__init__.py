"""What the load balancers did, made visible: the observation hub and its consumers (access, connection and
health-check logs in S3, CloudWatch metrics and the Prometheus endpoint, the dashboard's feed, the console's
``--log-requests`` lines). The data plane reports to the hub through ``api_models.observations.Observer``."""
