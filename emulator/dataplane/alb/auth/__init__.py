"""Rule actions that authenticate before the terminal action: authenticate-oidc/-cognito (``authenticate``,
with its IdP client ``idp_client``) and jwt-validation (``jwt_validation``, with its key sets ``jwks``)."""
