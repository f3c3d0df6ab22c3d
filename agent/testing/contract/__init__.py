"""The contract checks: what every backend must do, as the agent's own four are held to it.

Each module is a set of pytest tests that ask for the fixtures of :mod:`agent.testing.plugin`
(``ws``, ``target``, ``namespace``, ``busybox_image``) and check, with the engine's own CLI,
what the agent did on a real engine:

======================  ==========================================================
module                  what it checks
======================  ==========================================================
``basics``              apply, replace, restart, remove, plan, the engine's failures
``conflicts``           a file that claims another file's container name
``declaration``         konlet's container declaration: entrypoint, env, host paths
``logs``                ``agent logs`` and the run times a listing gives
``network``             the namespace's network: names, joins, removal
``probes``              liveness probes restart what hangs, and only that
``resources``           limits, volume sources, grace periods, in-place updates
``rollout``             start-first and stop-first rollouts, rollback, held back
======================  ==========================================================

A backend of another package runs them by importing them into a test file of its own::

    # test_contract_mine.py
    from agent.testing.contract.basics import *  # noqa: F403
    from agent.testing.contract.rollout import *  # noqa: F403

    $ pytest -p agent.testing.plugin --contract-backend=mine \\
        --contract-host=unix:///run/docker.sock --contract-engine=docker test_contract_mine.py

The engine needs ``/bin/busybox`` on the host (Debian's ``busybox-static``): the checks'
image is imported from it (:mod:`agent.testing.image`), and nothing is pulled. Some checks
bind host ports on 127.0.0.1 and reach them from the host; containers talk to each other only
on the network the agent made.
"""
