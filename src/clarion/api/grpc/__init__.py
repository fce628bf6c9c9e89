"""Clarifai's gRPC API on grpc.aio."""
