"""The request chain: the request stages (``stages``) and which requests may get stickiness cookies
(``selection``), the response stages (``response``), and their order (``order.Chain``). What a stage answers
is ``alb.outcomes``."""
