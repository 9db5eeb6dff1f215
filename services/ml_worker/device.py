"""Which device an ML worker trains on, chosen once at start and pinned for the process."""

import torch

from services.common.errors import InvalidArgumentError


def pick_device(requested: str = "") -> torch.device:
    """`cuda:N` or `cpu`; empty means the first CUDA device when there is one, else the CPU."""
    if not requested:
        return torch.device("cuda:0") if torch.cuda.is_available() else torch.device("cpu")
    try:
        device = torch.device(requested)
    except RuntimeError as err:
        raise InvalidArgumentError("--device", f"{requested!r} is not a device") from err
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InvalidArgumentError("--device", "CUDA is not available on this machine")
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise InvalidArgumentError(
                "--device", f"no {requested}: {torch.cuda.device_count()} CUDA device(s)"
            )
        return torch.device("cuda", index)
    if device.type != "cpu":
        raise InvalidArgumentError("--device", "use cuda:N or cpu")
    return device


def pin(device: torch.device) -> str:
    """Make `device` the default for this process; returns a description for the log."""
    if device.type == "cuda":
        torch.cuda.set_device(device)
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({torch.get_num_threads()} threads)"
