"""`genai-tui serve`: an OpenAI-compatible HTTP server over the generation service.

A thin shell: request fields become the service's `Knobs`, tokens stream from
the service's own generator (`genai_tui.service.generate.generate`), and this
package adds only HTTP: authentication, limits, a cap on concurrent
generations, OpenAI-shaped JSON and errors, server-sent events. FastAPI and
uvicorn are imported here; torch only inside the generation threads.
"""
