"""Upload your own model (TorchScript or ONNX) and sample rows from it, with asyncio.

    python upload_and_sample.py generator.onnx --name my-generator \
        --column id:integer --column amount:float --rows 5

The model's contract: it takes a row count and a seed (int64 scalars) and returns one tensor
per column, in the order of --column, each of shape [row count]. Column types: integer,
float, boolean, datetime. Without --into the rows come back as a preview; with
--into CONNECTION:TABLE they are written into that (existing) table.
"""

import argparse
import asyncio
from pathlib import Path

from veilsync.v1 import model_pb2
from veilsync_sdk import AsyncClient, NotFoundError

FORMATS = {".onnx": model_pb2.MODEL_FORMAT_ONNX, ".pt": model_pb2.MODEL_FORMAT_TORCHSCRIPT}


async def upload_and_sample(args: argparse.Namespace) -> None:
    columns = dict(spec.split(":", 1) for spec in args.column)
    async with AsyncClient(args.address, api_key=args.api_key) as client:
        for model in [m async for m in client.models.list() if m.name == args.name]:
            await client.models.delete(model)  # uploading again replaces the model
        model = await client.models.upload(
            args.name, args.model_file, format=FORMATS[args.model_file.suffix], columns=columns
        )
        print(f"model {model.name} ({model.id}): {model_pb2.ModelStatus.Name(model.status)}")
        into = tuple(args.into.split(":", 1)) if args.into else None
        result = await client.models.sample(model, args.rows, seed=args.seed, into=into)
        if into:
            print(f"{result.rows_written} rows written into {args.into}")
        for row in result.rows:
            print(row)
        try:
            await client.models.get("no-such-model")
        except NotFoundError as err:  # errors are typed: catch the ones you can act on
            print(f"as expected: {err.code.name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_file", type=Path, help="a .onnx or TorchScript .pt file")
    parser.add_argument("--name", required=True, help="the model's name")
    parser.add_argument("--column", action="append", required=True, metavar="NAME:TYPE")
    parser.add_argument("--rows", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--into", metavar="CONNECTION:TABLE")
    parser.add_argument("--address", help="host:port of the API (default: $VEILSYNC_API)")
    parser.add_argument("--api-key", help="API key (default: $VEILSYNC_API_KEY)")
    asyncio.run(upload_and_sample(parser.parse_args()))


if __name__ == "__main__":
    main()
