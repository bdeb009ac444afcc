"""The target legs: pooled HTTP/1.1 keep-alive connections (``http1``) and HTTP/2 connections for HTTP2 and GRPC
target groups (``http2``)."""
