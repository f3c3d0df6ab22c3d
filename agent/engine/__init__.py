"""The code that talks to a backend to change or read containers: the
``executor`` carries out a plan, ``images`` pulls, ``events`` follows the engine's
event stream, ``logs`` reads a container's logs.
"""
