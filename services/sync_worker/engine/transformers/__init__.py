"""The transformer catalog (lead is writing it). Public surface:

    describe_transformers() -> list[TransformerInfo]   # name, description, data_types, deterministic
    preview(config: TransformerConfig, values: list[str | None], key: bytes) -> list[str | None]
"""
