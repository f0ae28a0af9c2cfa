"""The browser playground (SPEC §6): `autodiff-playground --serve` trains on the server and the page shows it live.

`session` is one page's training, `settings` its checked set-up, `app` the web application (Starlette,
one WebSocket per page) and `server` runs it with uvicorn. Starlette and uvicorn are imported only
when the server starts, never by `import nn`.
"""
