"""The HTTP/2 client leg: the client connection (``client``) and its streams (``stream``)."""
