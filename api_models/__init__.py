"""Pydantic models of the stored resources and the AWS data they are checked against.

Resource kinds defined outside ``resources.py`` register themselves on import; importing them here makes
sure they are known before the store or persistence creates anything.
"""

from api_models import capacity, trust_stores  # noqa: F401  (registers their resource kinds)
