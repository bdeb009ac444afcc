"""The HTTP/1.x client leg: one protocol object per client connection (``connection``) and its response framing
(``framing``)."""
