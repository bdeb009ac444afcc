"""HTTP/2 legs: the client connection (``client``) and its streams (``stream``), the target connections of
HTTP2/GRPC target groups (``upstream``), and the flow control both share (``flow``)."""
