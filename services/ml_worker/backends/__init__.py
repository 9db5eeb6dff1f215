"""Model families by kind: SDV's three behind the same port as the first-party VAE."""

from services.common.errors import InvalidArgumentError
from services.ml_worker.backends.base import ModelBackend
from veilsync.v1 import model_pb2

_SDV = {
    model_pb2.MODEL_KIND_GAUSSIAN_COPULA: "gaussian_copula",
    model_pb2.MODEL_KIND_CTGAN: "ctgan",
    model_pb2.MODEL_KIND_TVAE: "tvae",
}


def backend_for(kind: "model_pb2.ModelKind.ValueType") -> ModelBackend:
    if kind == model_pb2.MODEL_KIND_VEILSYNC_VAE:
        from services.ml_worker.backends.vae import VaeBackend

        return VaeBackend()
    if kind in _SDV:
        # Imported on use: a worker that never trains an SDV model never loads SDV.
        from services.ml_worker.backends.sdv_models import SdvBackend

        return SdvBackend(_SDV[kind])
    raise InvalidArgumentError("kind", f"model kind {kind} cannot be trained")
