"""Lambda functions run locally, without Docker (README "Lambda targets"): moto stores the functions; this
package runs them in warm worker processes for ALB ``lambda`` target groups and for the Lambda ``Invoke`` API.

``runtime.LocalLambdaRuntime`` is the ``api_models.lambda_invocation.LambdaInvoker`` the server injects;
``functions`` reads moto's stored functions, ``code`` unpacks their zips, ``pool`` and ``worker`` run them
(``python_bootstrap.py`` and ``node_bootstrap.js`` are the worker processes' own programs)."""
