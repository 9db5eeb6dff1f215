"""The gRPC API (package veilsync.v1): thin servicers over the metadata store and Temporal."""
