"""Bare FastAPI for the load benchmark: `GET /verify` with no
authentication, the ceiling of the Python systems."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/verify")
async def verify():
    """No session: the same answer shape as the other systems."""
    return {"user": "anonymous"}
