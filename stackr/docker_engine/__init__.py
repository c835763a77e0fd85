"""The Engine protocol over the Docker SDK: the ONLY package that imports `docker`.

`engine` holds DockerEngine; `errors` turns SDK failures into EngineErrors, once; `images` builds,
pulls and reads build contexts; `logs` reads containers' output.
"""

from stackr.docker_engine.engine import DockerEngine

__all__ = ["DockerEngine"]
