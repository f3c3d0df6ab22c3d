"""The checks' manifests: a v1beta1 header, ``IMAGE`` standing for the checks' busybox image,
and the two containers most checks run (a web server, sleepers)."""

from __future__ import annotations

import textwrap

from agent.testing.image import BUSYBOX_TAG


def manifest(body: str) -> str:
    return "version: v1beta1\n" + textwrap.dedent(body).replace("IMAGE", BUSYBOX_TAG)


def web(port: int, greeting: str = "hello") -> str:
    """A web container serving its environment and a read-write volume on 127.0.0.1:port."""
    return manifest(
        f"""
        containers:
          - name: web
            image: IMAGE
            command:
              - sh
              - -c
              - >-
                echo boot; env > /srv/env.txt; pwd > /srv/pwd.txt; hostname > /srv/host.txt;
                exec httpd -f -p 8080 -h /srv
            workingDir: /srv
            ports:
              - {{containerPort: 8080, hostPort: {port}, hostIp: 127.0.0.1}}
            volumeMounts:
              - {{name: site, path: /srv}}
              - {{name: conf, mountPath: /conf, readOnly: true}}
            env:
              - {{key: GREETING, value: "{greeting}"}}
        volumes:
          - name: site
          - name: conf
        """
    )


def sleeper(*names: str) -> str:
    items = "".join(
        f"""
          - name: {name}
            image: IMAGE
            command: [sh, -c, 'echo boot; exec sleep 600']"""
        for name in names
    )
    return manifest(f"\ncontainers:{items}\n")
