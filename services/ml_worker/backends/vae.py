"""Veilsync's first-party tabular VAE, in plain torch (no SDV, no BSL-licensed code).

An MLP encoder and decoder over the encoded table: numbers standardised (Gaussian likelihood),
categories one-hot (softmax likelihood). It checkpoints after every epoch, so a retried
training resumes from the last finished epoch."""

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from services.ml_worker.backends.base import FittedModel, TrainingHooks, TrainOptions
from services.ml_worker.backends.encoding import Encoding, fit_encoding
from services.ml_worker.spec import TableSpec

HIDDEN = 128
LATENT = 16
LEARNING_RATE = 1e-3
STEPS_BETWEEN_CHECKS = 50


class TabularVae(nn.Module):
    def __init__(self, width: int, numeric_width: int, category_sizes: list[int]) -> None:
        super().__init__()
        self.numeric_width = numeric_width
        self.category_sizes = category_sizes
        self.encoder = nn.Sequential(
            nn.Linear(width, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU()
        )
        self.mu = nn.Linear(HIDDEN, LATENT)
        self.log_var = nn.Linear(HIDDEN, LATENT)
        self.decoder = nn.Sequential(
            nn.Linear(LATENT, HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, width),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        hidden = self.encoder(x)
        mu, log_var = self.mu(hidden), self.log_var(hidden)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * log_var)
        return self.decoder(z), mu, log_var

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        out, mu, log_var = self(x)
        n = self.numeric_width
        loss = ((out[:, :n] - x[:, :n]) ** 2).sum(dim=1).mean()
        start = n
        for size in self.category_sizes:
            target = x[:, start : start + size].argmax(dim=1)
            loss = loss + nn.functional.cross_entropy(out[:, start : start + size], target)
            start += size
        kl = -0.5 * torch.mean(torch.sum(1 + log_var - mu**2 - log_var.exp(), dim=1))
        total: torch.Tensor = loss + kl
        return total


class VaeModel:
    def __init__(self, net: TabularVae, encoding: Encoding, device: torch.device) -> None:
        self._net = net.to(device).eval()
        self._encoding = encoding
        self._device = device

    @torch.no_grad()
    def sample(self, rows: int, seed: int) -> pd.DataFrame:
        generator = torch.Generator(device=self._device).manual_seed(seed)
        z = torch.randn(rows, LATENT, generator=generator, device=self._device)
        out = self._net.decoder(z)
        n = self._net.numeric_width
        codes = []
        start = n
        for size in self._net.category_sizes:
            probs = torch.softmax(out[:, start : start + size], dim=1)
            codes.append(torch.multinomial(probs, 1, generator=generator).squeeze(1).cpu().numpy())
            start += size
        numbers = out[:, :n].cpu().numpy().astype(np.float32)
        return self._encoding.decode(numbers, codes, seed)

    def state(self) -> dict[str, Any]:
        return {
            "weights": {k: v.detach().cpu() for k, v in self._net.state_dict().items()},
            "encoding": self._encoding.state(),
        }


class VaeBackend:
    name = "veilsync_vae"
    resumable = True

    def fit(
        self,
        frame: pd.DataFrame,
        spec: TableSpec,
        options: TrainOptions,
        hooks: TrainingHooks,
        device: torch.device,
    ) -> FittedModel:
        torch.manual_seed(options.seed)
        checkpoint = hooks.load_checkpoint()
        encoding = (
            Encoding.from_state(checkpoint["encoding"])
            if checkpoint is not None
            else fit_encoding(frame, spec.learned)
        )
        net = _network(encoding).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
        first_epoch = 0
        if checkpoint is not None:
            net.load_state_dict(checkpoint["weights"])
            optimizer.load_state_dict(checkpoint["optimizer"])
            first_epoch = int(checkpoint["epoch"])
        data = torch.from_numpy(encoding.encode(frame)).to(device)
        batch = max(1, min(options.batch_size, len(data)))
        for epoch in range(first_epoch, options.epochs):
            net.train()
            order = torch.randperm(len(data), device=device)
            total, steps = 0.0, 0
            for start in range(0, len(data), batch):
                loss = net.loss(data[order[start : start + batch]])
                optimizer.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                total += float(loss.detach())
                steps += 1
                if steps % STEPS_BETWEEN_CHECKS == 0:
                    hooks.still_running()
            hooks.save_checkpoint(
                {
                    "epoch": epoch + 1,
                    "weights": {k: v.detach().cpu() for k, v in net.state_dict().items()},
                    "optimizer": optimizer.state_dict(),
                    "encoding": encoding.state(),
                }
            )
            hooks.epoch_done(epoch + 1, total / max(steps, 1))
        return VaeModel(net, encoding, device)

    def load(self, state: dict[str, Any], spec: TableSpec, device: torch.device) -> FittedModel:
        encoding = Encoding.from_state(state["encoding"])
        net = _network(encoding)
        net.load_state_dict(state["weights"])
        return VaeModel(net, encoding, device)


def _network(encoding: Encoding) -> TabularVae:
    return TabularVae(encoding.width, encoding.numeric_width, encoding.category_sizes)
