"""HTTP/1.x legs: the client connection (``connection``) and the pooled target connections (``upstream``)."""
