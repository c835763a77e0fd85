"""The Engine protocol over the Docker SDK: the ONLY package that imports `docker`.

`engine` holds DockerEngine; `errors` turns SDK failures into EngineErrors, once; `images` builds,
pulls and reads build contexts; `logs` reads containers' output; `specs` turns a container's
healthcheck and mounts into the SDK's arguments.
"""

from stackr.docker_engine.engine import DockerEngine

__all__ = ["DockerEngine"]
