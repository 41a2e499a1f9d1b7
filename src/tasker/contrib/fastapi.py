"""Tasker in a FastAPI application: the same lifespan as for Starlette (FastAPI is Starlette).

>>> from tasker.contrib.fastapi import lifespan
>>> api = FastAPI(lifespan=lifespan(tasks, worker=True))
"""
from .starlette import lifespan

__all__ = ["lifespan"]
