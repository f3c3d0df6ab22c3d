"""The agent at work: one converge pass (``reconcile``) and the loop that repeats
it (``runloop``), liveness probing (``prober``, ``checks``), metrics, ``/healthz``,
systemd notification, and the agent's settings.
"""
