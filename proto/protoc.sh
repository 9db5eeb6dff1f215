#!/bin/sh
# protoc as shipped inside grpcio-tools, so buf needs no downloaded compiler or plugin.
exec python -m grpc_tools.protoc "$@"
