"""Clarifai's REST mapping, served by Starlette."""
