"""Team and gateway-key limits: requests and tokens per minute, token budgets per period.

``windows`` and ``rules`` are pure (the maths and which limits a call meets); ``stores``
keeps counters in process memory, ``redis_store`` in Redis (one Lua script per check,
so limits hold across gateway processes); ``service`` ties them to a proxied call.
"""
