"""AWS WAF (WAFv2) web ACLs in an ALB's traffic: the web ACL associated with the load balancer, compiled once per
configuration (``acl.compile_web_acl``) and evaluated for every request after request validation and before the
listener's rules (``chain.order``). One concept per module: ``transforms`` (TextTransformations), ``fields``
(FieldToMatch), ``statements``, ``rate`` (rate-based counters), ``actions`` (Allow/Block/Count/Captcha/Challenge),
``records`` (WAF log records), ``acl`` (rules in priority order, rule groups, the chain stage).
"""
