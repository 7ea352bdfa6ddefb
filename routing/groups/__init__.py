"""Model groups: one alias name, several deployments, chosen per request.

The group's shape and its checks live in ``providers.groups`` (pure, shared with the
loaders). Here: ``strategies`` orders a group's deployments (pure); ``breaker`` keeps
each deployment's circuit breaker; ``affinity`` keeps a conversation on one deployment;
``state`` holds this process's counters and makes the choice.
"""
