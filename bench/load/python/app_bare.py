"""Bare FastAPI for the load benchmark: `GET /verify` with no
authentication, the ceiling of the Python systems.

`app_depends` is the same route with one no-op `Depends` (an `async def`
taking the request, as `verify_session()` does): what FastAPI's dependency
machinery alone costs, apart from any session work."""

from fastapi import Depends, FastAPI, Request

app = FastAPI()


@app.get("/verify")
async def verify():
    """No session: the same answer shape as the other systems."""
    return {"user": "anonymous"}


async def _no_op(request: Request) -> str:
    """A dependency that does nothing, shaped like verify_session()'s."""
    return "anonymous"


app_depends = FastAPI()


@app_depends.get("/verify")
async def verify_depends(user: str = Depends(_no_op)):
    """No session, one no-op dependency."""
    return {"user": user}
