"""`generate --executor ray`: a run's trees searched by Ray workers, its run folder, request
cache, budgets and limits kept by the driver (see `driver`); needs `journeygen[ray]`."""

from journeygen.executors.ray.driver import Dispatch, RayCluster, connect
from journeygen.executors.ray.worker import TreeWorker, WorkerSpec

__all__ = ["Dispatch", "RayCluster", "TreeWorker", "WorkerSpec", "connect"]
