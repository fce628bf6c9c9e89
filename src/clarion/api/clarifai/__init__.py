"""The Clarifai API surface shared by the gRPC server and the REST gateway."""
