"""What every command receives: the settings, with the global --api option applied."""

from dataclasses import dataclass

import click

from services.common.settings import Settings


@dataclass(frozen=True)
class CliContext:
    settings: Settings

    @property
    def api(self) -> str:
        return self.settings.api


pass_cli = click.make_pass_decorator(CliContext)
