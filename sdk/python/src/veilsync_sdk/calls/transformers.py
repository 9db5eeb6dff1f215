"""Calls of TransformerService: the catalog, previews, saved transformers."""

from collections.abc import Sequence

from veilsync.v1 import transformer_pb2
from veilsync_sdk.calls.base import (
    PAGE_SIZE,
    Call,
    ConnectionLike,
    Paged,
    TransformerSpec,
    connection_ref,
    page_of,
    transformer_config,
)


def system_transformers() -> Call[list[transformer_pb2.SystemTransformer]]:
    return Call(
        lambda s: s.transformers.GetSystemTransformers,
        transformer_pb2.GetSystemTransformersRequest(),
        lambda r: list(r.transformers),
    )


def preview_transform(
    config: TransformerSpec, values: Sequence[str], key: str = ""
) -> Call[list[str | None]]:
    """Each value transformed, None where the output is NULL."""
    return Call(
        lambda s: s.transformers.PreviewTransform,
        transformer_pb2.PreviewTransformRequest(
            config=transformer_config(config), values=list(values), key=key
        ),
        lambda r: [None if o.null else o.value for o in r.outputs],
    )


def suggest_transformers(
    connection: ConnectionLike, sample_rows: int = 0
) -> Call[transformer_pb2.SuggestTransformersResponse]:
    return Call(
        lambda s: s.transformers.SuggestTransformers,
        transformer_pb2.SuggestTransformersRequest(
            connection=connection_ref(connection), sample_rows=sample_rows
        ),
        lambda r: r,
        long=True,
    )


def create_transformer(
    name: str, config: TransformerSpec, description: str = ""
) -> Call[transformer_pb2.UserDefinedTransformer]:
    return Call(
        lambda s: s.transformers.CreateUserDefinedTransformer,
        transformer_pb2.CreateUserDefinedTransformerRequest(
            name=name, description=description, config=transformer_config(config)
        ),
        lambda r: r.transformer,
    )


def get_transformer(name: str) -> Call[transformer_pb2.UserDefinedTransformer]:
    return Call(
        lambda s: s.transformers.GetUserDefinedTransformer,
        transformer_pb2.GetUserDefinedTransformerRequest(name=name),
        lambda r: r.transformer,
    )


def list_transformers() -> Paged[transformer_pb2.UserDefinedTransformer]:
    return page_of(
        lambda s: s.transformers.ListUserDefinedTransformers,
        lambda token: transformer_pb2.ListUserDefinedTransformersRequest(
            page_size=PAGE_SIZE, page_token=token
        ),
        lambda r: r.transformers,
    )


def update_transformer(
    name: str, config: TransformerSpec, description: str = ""
) -> Call[transformer_pb2.UserDefinedTransformer]:
    return Call(
        lambda s: s.transformers.UpdateUserDefinedTransformer,
        transformer_pb2.UpdateUserDefinedTransformerRequest(
            name=name, description=description, config=transformer_config(config)
        ),
        lambda r: r.transformer,
    )


def delete_transformer(name: str) -> Call[None]:
    return Call(
        lambda s: s.transformers.DeleteUserDefinedTransformer,
        transformer_pb2.DeleteUserDefinedTransformerRequest(name=name),
        lambda r: None,
    )
