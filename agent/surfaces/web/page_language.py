"""Gradio's own words (login form, upload area, copy and like buttons, toasts) in the interface language
rather than the browser's. Gradio's page picks its translation from `navigator.language` while it starts,
before any script the app may add through `head` runs, so this ASGI middleware puts a script that reports
KB_UI_LANG's locale at the top of every HTML page the app serves. The words Gradio's Chinese translation
lacks come from labels.GRADIO_STRINGS (gr.I18n)."""
from __future__ import annotations

LOCALES = {"zh": "zh-CN", "en": "en"}


def locale_script(lang: str) -> bytes:
    locale = LOCALES.get(lang, "en")
    return (f'<script>(() => {{ const locale = "{locale}"; for (const [name, value] of [["language", locale], '
            f'["languages", [locale]]]) Object.defineProperty(Navigator.prototype, name, '
            f'{{ get: () => value, configurable: true }}); }})();</script>').encode()


class PageLanguage:
    """Inserts the locale script after `<head>` in uncompressed HTML responses; passes everything else."""

    def __init__(self, app, lang: str):
        self.app = app
        self.script = locale_script(lang)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        start: dict | None = None
        body: list[bytes] = []

        async def rewrite(message):
            nonlocal start
            if message["type"] == "http.response.start":
                headers = {key.lower(): value for key, value in message["headers"]}
                if headers.get(b"content-type", b"").startswith(b"text/html") and b"content-encoding" not in headers:
                    start = message  # held back until the whole page is read
                    return
            elif message["type"] == "http.response.body" and start is not None:
                body.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                page = b"".join(body).replace(b"<head>", b"<head>" + self.script, 1)
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                await send({**start, "headers": [*headers, (b"content-length", str(len(page)).encode())]})
                await send({"type": "http.response.body", "body": page})
                return
            await send(message)

        await self.app(scope, receive, rewrite)
